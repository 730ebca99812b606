"""`quizzer check`: run every card and report what is wrong with the deck, not with the learner."""

from __future__ import annotations

from dataclasses import dataclass, field

from .deck import Card
from .grading import NotAskable, grade, right_choice, truth_bool, truth_dtype, truth_shape, truth_value
from .protocol import Outcome
from .runner import Runner

BROKEN_ERRORS = {"NameError", "SyntaxError", "ImportError", "ModuleNotFoundError", "IndentationError", "UnboundLocalError"}


@dataclass
class CardReport:
    card: Card
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.flags

    def to_json(self) -> dict:
        return {
            "deck": self.card.deck_id, "card": self.card.id, "kind": self.card.kind, "line": self.card.line,
            "ok": self.ok, "flags": self.flags,
            "outcomes": {d: {"status": o.status, "summary": o.describe(), "seconds": round(o.seconds, 6)}
                         for d, o in self.outcomes.items()},
        }


def askable_problem(card: Card, outcome: Outcome) -> str | None:
    """Why this outcome cannot be asked about by this card's kind (a broken card), or None."""
    if outcome.raised:
        if outcome.error["type"] in BROKEN_ERRORS:
            return f"broken: the snippet fails with {outcome.error['type']}: {outcome.error['message']}"
        return None
    if not outcome.ran:
        return None
    try:
        if card.kind == "shape":
            truth_shape(outcome)
        elif card.kind == "dtype":
            truth_dtype(outcome)
        elif card.kind == "bool":
            truth_bool(outcome)
        elif card.kind == "value":
            truth_value(outcome)
        elif card.kind == "choice":
            right_choice(card, outcome)
    except NotAskable as exc:
        return f"broken: {exc}"
    return None


def check_card(card: Card, runners: dict[str, Runner]) -> CardReport:
    report = CardReport(card)
    if not card.executable:
        return report
    for device, runner in runners.items():
        first = runner.run(card, fresh=True)
        report.outcomes[device] = first
        if not first.ran:
            report.flags.append(f"{device}: {first.status}: {first.describe()}")
            continue
        problem = askable_problem(card, first)
        if problem:
            report.flags.append(f"{device}: {problem}")
            continue
        second = runner.run(card, fresh=True)
        if second.fingerprint() != first.fingerprint():
            report.flags.append(f"{device}: nondeterministic: first {first.describe()}, then {second.describe()}")
        expect = card.expect_for(device)
        if expect is not None:
            verdict = grade(card, expect, first)
            if verdict.status == "unparsed":
                report.flags.append(f"{device}: expect {expect!r} cannot be read ({verdict.hint})")
            elif not verdict.correct:
                report.flags.append(f"{device}: expect {expect!r} disagrees: {verdict.truth}")
    devices = [d for d, o in report.outcomes.items() if o.ran]
    if len(devices) > 1 and not isinstance(card.expect, dict):
        kinds = {d: _portable(report.outcomes[d]) for d in devices}
        if len(set(kinds.values())) > 1:
            report.flags.append("devices differ: " + "; ".join(f"{d}: {report.outcomes[d].describe()}" for d in devices)
                                + " (give expect per device if this is intended)")
    return report


def _portable(outcome: Outcome) -> str:
    """An outcome with what legitimately varies between devices (repr, message text) left out."""
    if outcome.raised:
        return "raised " + outcome.error["type"]
    v = outcome.value or {}
    return repr({k: v.get(k) for k in ("type", "shape", "dtype", "data")})


def check_cards(cards: list[Card], runners: dict[str, Runner], progress=None) -> list[CardReport]:
    reports = []
    for card in cards:
        reports.append(check_card(card, runners))
        if progress:
            progress(reports[-1])
    return reports
