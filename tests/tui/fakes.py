"""A canned runner for snapshot tests: the look must not depend on timings or on the machine."""

from __future__ import annotations

import threading
from concurrent.futures import Future

from quizzer.protocol import Outcome
from quizzer.runner import WorkerInfo


class CannedRunner:
    device_choice = "cpu"

    def __init__(self, outcomes: dict[str, Outcome]):
        self.outcomes = outcomes
        self.info = WorkerInfo(device="cpu", device_label="cpu", device_name="cpu", torch_version="2.13.0")
        self.ready = threading.Event()
        self.ready.set()

    def wait_ready(self, timeout: float = 0) -> WorkerInfo:
        return self.info

    def submit(self, card, *, fresh: bool = False, trace: bool = False) -> Future:
        future: Future = Future()
        future.set_result(self.run(card))
        return future

    def run(self, card, *, fresh: bool = False, trace: bool = False) -> Outcome:
        return self.outcomes.get(card.id, Outcome("value", value=None, device="cpu"))

    def close(self) -> None:
        pass

    def cancel(self, card) -> bool:
        return False
