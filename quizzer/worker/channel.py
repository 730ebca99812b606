"""JSON lines over pipes between the zygote, its executor and the app, with a size cap and a deadline
that holds while data is still flowing (a 400 MB line must not outlast its card's timeout)."""

from __future__ import annotations

import json
import os
import select
import time
from collections.abc import Callable
from typing import Any

from ..protocol import RESULT_CAP


class LineTooLong(Exception):
    """The other side sent more than RESULT_CAP bytes without a newline."""


def send(fd: int, message: dict[str, Any]) -> None:
    write_line(fd, json.dumps(message, default=str))


def write_line(fd: int, text: str) -> None:
    view = memoryview((text + "\n").encode())
    while view:
        n = os.write(fd, view)
        view = view[n:]


def encode_capped(message: dict[str, Any]) -> str | None:
    """The message as one JSON line, or None when it is over RESULT_CAP bytes."""
    try:
        text = json.dumps(message, default=str)
    except (TypeError, ValueError, RecursionError):
        return None
    return text if len(text.encode()) < RESULT_CAP else None


class Lines:
    def __init__(self, fd: int, cap: int = RESULT_CAP):
        self.fd = fd
        self.cap = cap
        self.buffer = b""

    def next_line(self, deadline: float | None, watch: Callable[[], None] | None = None) -> str | None:
        """The next line, None at EOF; TimeoutError past `deadline` (monotonic), LineTooLong past the cap."""
        while b"\n" not in self.buffer:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError
            if len(self.buffer) > self.cap:
                raise LineTooLong
            wait = None if deadline is None else max(0.0, min(0.05, deadline - time.monotonic()))
            if watch is not None and wait is None:
                wait = 0.05
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                if watch is not None:
                    watch()
                continue
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        if len(line) > self.cap:
            raise LineTooLong
        return line.decode(errors="replace")

    def drain(self) -> None:
        """Drop whatever was sent ahead of time: lines a snippet forged for cards not yet run."""
        self.buffer = b""
        while select.select([self.fd], [], [], 0)[0]:
            if not os.read(self.fd, 1 << 16):
                return

    def pending(self) -> bool:
        """Whether a whole line can be read without blocking."""
        if b"\n" in self.buffer:
            return True
        ready, _, _ = select.select([self.fd], [], [], 0)
        if ready:
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return True  # EOF: next_line returns None at once
            self.buffer += chunk
        return b"\n" in self.buffer
