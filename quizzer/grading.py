"""The verdict: what the learner said, beside what the run really did, and whether they agree.

The run decides right or wrong; nothing here is typed by hand. An answer that cannot be read (or
can be read two ways) is never graded: the learner gets a hint and tries again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from .answers import Unparsed
from .deck import Card
from .kinds import (
    Kind,
    NotAskable,
    choice_label,
    matches,
    option_matches,
    parse_answer,
    show_answer,
    spec,
)

if TYPE_CHECKING:
    from .protocol import Outcome

__all__ = ["NotAskable", "Status", "Verdict", "describe_truth", "grade", "right_choice"]


class Status(StrEnum):
    RIGHT = "right"
    WRONG = "wrong"
    UNPARSED = "unparsed"  # the answer could not be read: a hint, no grade
    UNRUN = "unrun"  # the run failed (timeout, crash): nothing to grade against
    BROKEN = "broken"  # the card asks something its run cannot answer


@dataclass(frozen=True)
class Verdict:
    status: Status
    said: str = ""
    truth: str = ""
    hint: str = ""

    @property
    def correct(self) -> bool:
        return self.status is Status.RIGHT

    @property
    def graded(self) -> bool:
        return self.status in (Status.RIGHT, Status.WRONG)

    def sentence(self) -> str:
        if self.status is Status.UNPARSED:
            return self.hint
        if self.status in (Status.UNRUN, Status.BROKEN):
            return self.truth
        return f"you said {self.said}; {self.truth}"


def right_choice(card: Card, outcome: Outcome) -> int:
    hits = [i for i, option in enumerate(card.choices) if option_matches(option, outcome)]
    if len(hits) != 1:
        which = "no option" if not hits else "options " + ", ".join(chr(97 + i) for i in hits)
        raise NotAskable(f"{which} of the choice card matches the outcome ({outcome.describe()}); exactly one must")
    return hits[0]


def describe_truth(kind: str, outcome: Outcome) -> str:
    """What really happened, in the terms the card asks about: 'it gave shape (5, 3)', 'it raised ...'."""
    if outcome.raised:
        return outcome.describe()
    v = outcome.value
    if v is None:
        return "it ran without raising"
    if kind in (Kind.SHAPE, Kind.DTYPE, Kind.BOOL):
        try:
            truth = spec(kind).truth(outcome)
        except NotAskable:
            pass
        else:
            return f"it gave {'' if kind == Kind.BOOL else kind + ' '}{spec(kind).show(truth)}"
    if kind == Kind.RAISES:
        return "it ran without raising"
    text = " ".join(str(v.get("repr", "")).split())
    return "it gave " + (text if len(text) <= 240 else text[:240] + "…")


def grade(card: Card, text: str, outcome: Outcome) -> Verdict:
    """Right or wrong, decided by the run; or why it cannot be graded."""
    if not outcome.ran:
        return Verdict(Status.UNRUN, truth=f"the run failed: {outcome.describe()} — this card is not held against you")
    truth = describe_truth(card.kind, outcome)
    try:
        answer = parse_answer(card.kind, text, card.choices)
    except Unparsed as hint:
        if card.kind == Kind.VALUE and text.strip() and isinstance((outcome.value or {}).get("data"), str):
            answer = text.strip().strip("'\"")  # text truth: an unquoted word is read as text
        else:
            return Verdict(Status.UNPARSED, hint=str(hint))
    said = show_answer(card.kind, answer, card.choices)
    try:
        if card.kind == Kind.CHOICE:
            right = right_choice(card, outcome)
            ok = answer == right
            truth = f"{truth} — the answer is {choice_label(right, card.choices[right])}"
        else:
            ok = matches(card.kind, answer, outcome)
    except NotAskable as exc:
        return Verdict(Status.BROKEN, said=said, truth=f"this card is broken ({exc}); it is not held against you")
    return Verdict(Status.RIGHT if ok else Status.WRONG, said=said, truth=truth)
