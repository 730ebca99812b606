"""`quizzer check`: run every card and report what is wrong with the deck, not with the learner.

Flags (a card that is broken, wrong or flaky) fail the check. Warnings (answers that lean one way,
a raises question worded as yes/no, text that speaks of the notes instead of the rule) are advice:
they are printed, and fail the check only with `--strict`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .deck import Card, Deck
from .grading import NotAskable, grade, right_choice
from .kinds import Kind, spec
from .protocol import Outcome
from .runner import Runner

BROKEN_ERRORS = {"NameError", "SyntaxError", "ImportError", "ModuleNotFoundError", "IndentationError",
                 "UnboundLocalError"}


@dataclass
class CardReport:
    card: Card
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.flags

    def to_json(self) -> dict:
        return {
            "deck": self.card.deck_id, "card": self.card.id, "kind": self.card.kind, "line": self.card.line,
            "ok": self.ok, "flags": self.flags, "warnings": self.warnings,
            "outcomes": {d: {"status": o.status, "summary": o.describe(), "seconds": round(o.seconds, 6)}
                         for d, o in self.outcomes.items()},
        }


def askable_problem(card: Card, outcome: Outcome) -> str | None:
    """Why this outcome cannot be asked about by this card's kind (a broken card), or None."""
    if outcome.raised:
        error = outcome.error or {}
        if error.get("type") in BROKEN_ERRORS:
            return f"broken: the snippet fails with {error.get('type')}: {error.get('message')}"
        return None
    if not outcome.ran:
        return None
    try:
        if card.kind == Kind.CHOICE:
            right_choice(card, outcome)
        elif spec(card.kind).needs_ask:
            spec(card.kind).truth(outcome)  # the kind's own reading of a run: it must find what it asks
    except NotAskable as exc:
        return f"broken: {exc}"
    return None


def check_card(card: Card, runners: dict[str, Runner]) -> CardReport:
    report = CardReport(card, warnings=list(card_warnings(card)))
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
        return "raised " + str((outcome.error or {}).get("type"))
    v = outcome.value or {}
    return repr({k: v.get(k) for k in ("type", "shape", "dtype", "data")})


def check_cards(cards: list[Card], runners: dict[str, Runner], progress=None) -> list[CardReport]:
    reports = []
    for card in cards:
        reports.append(check_card(card, runners))
        if progress:
            progress(reports[-1])
    return reports


# -------------------------------------------------------------------------------------------
# Answer balance: a deck where most raises cards raise teaches "always say it raises".
# -------------------------------------------------------------------------------------------
RAISES_MAX_SHARE = 0.60
BOOL_TRUE_RANGE = (0.40, 0.60)
BOOL_MIN_CARDS = 4
CHOICE_MAX_SHARE = 0.40
CHOICE_MIN_CARDS = 5
POSITIONS = "abcdef"  # a choice card has 2 to 6 options


@dataclass(frozen=True)
class Balance:
    """How the right answers of some cards are spread, on one device. Cards that did not run are left out."""

    raises_cards: int = 0
    raises_raised: int = 0
    bool_cards: int = 0  # bool cards whose ask gave True or False (one that raises is neither)
    bool_true: int = 0
    choice_right: tuple[int, ...] = ()  # choice_right[i]: choice cards whose right answer is option i (a, b, ...)

    @property
    def choice_cards(self) -> int:
        return sum(self.choice_right)

    @property
    def raises_share(self) -> float | None:
        return self.raises_raised / self.raises_cards if self.raises_cards else None

    @property
    def bool_true_share(self) -> float | None:
        return self.bool_true / self.bool_cards if self.bool_cards else None

    @property
    def choice_shares(self) -> tuple[float, ...]:
        total = self.choice_cards
        return tuple(n / total for n in self.choice_right) if total else ()

    def __add__(self, other: Balance) -> Balance:
        """Balances add up: the total line over all decks is their sum."""
        right = [0] * max(len(self.choice_right), len(other.choice_right))
        for counts in (self.choice_right, other.choice_right):
            for i, n in enumerate(counts):
                right[i] += n
        return Balance(self.raises_cards + other.raises_cards, self.raises_raised + other.raises_raised,
                       self.bool_cards + other.bool_cards, self.bool_true + other.bool_true, tuple(right))

    def skews(self) -> tuple[str, ...]:
        """What leans one way, each with its fix; empty when a learner cannot profit from always guessing."""
        out = []
        share = self.raises_share
        if share is not None and share > RAISES_MAX_SHARE:
            out.append(f"{self.raises_raised}/{self.raises_cards} raises cards raise ({share:.0%}, keep it at most "
                       f"{RAISES_MAX_SHARE:.0%}: add cards whose snippet runs cleanly)")
        share = self.bool_true_share
        low, high = BOOL_TRUE_RANGE
        if share is not None and self.bool_cards >= BOOL_MIN_CARDS and not low <= share <= high:
            flip = "False" if share > high else "True"
            out.append(f"{self.bool_true}/{self.bool_cards} bool cards are True ({share:.0%}, keep it within "
                       f"{low:.0%}-{high:.0%}: reword some so the answer is {flip})")
        if self.choice_cards >= CHOICE_MIN_CARDS:
            for i, share in enumerate(self.choice_shares):
                if share > CHOICE_MAX_SHARE:
                    out.append(f"option {POSITIONS[i]} is right in {self.choice_right[i]}/{self.choice_cards} choice "
                               f"cards ({share:.0%}, keep each position at most {CHOICE_MAX_SHARE:.0%}: "
                               "reorder options)")
        return tuple(out)

    def summary(self) -> str:
        """One line for people: 'raises 3/5 raise (60%) · bool 2/4 True (50%) · choice a 2, b 1, c 2 (5 cards)'."""
        parts = []
        if self.raises_cards:
            parts.append(f"raises {self.raises_raised}/{self.raises_cards} raise ({self.raises_share:.0%})")
        if self.bool_cards:
            parts.append(f"bool {self.bool_true}/{self.bool_cards} True ({self.bool_true_share:.0%})")
        if self.choice_cards:
            spread = ", ".join(f"{POSITIONS[i]} {n}" for i, n in enumerate(self.choice_right))
            parts.append(f"choice {spread} ({self.choice_cards} card{'s' * (self.choice_cards != 1)})")
        return " · ".join(parts) or "no raises, bool or choice cards ran"

    def to_json(self) -> dict[str, Any]:
        def share(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "raises": {"cards": self.raises_cards, "raised": self.raises_raised, "share": share(self.raises_share)},
            "bool": {"cards": self.bool_cards, "true": self.bool_true, "share": share(self.bool_true_share)},
            "choice": {"cards": self.choice_cards,
                       "positions": {POSITIONS[i]: n for i, n in enumerate(self.choice_right)},
                       "shares": {POSITIONS[i]: share(x) for i, x in enumerate(self.choice_shares)}},
            "skewed": list(self.skews()),
        }


def answer_balance(pairs: Iterable[tuple[Card, Outcome]]) -> Balance:
    """The balance of right answers over (card, outcome) pairs from one device; pure, so it is unit-tested."""
    raises = raised = bools = trues = 0
    right = [0] * len(POSITIONS)
    used = 0
    for card, outcome in pairs:
        if not outcome.ran:
            continue
        if card.kind == Kind.RAISES:
            raises += 1
            raised += outcome.raised
        elif card.kind == Kind.BOOL and not outcome.raised:
            try:
                trues += spec(Kind.BOOL).truth(outcome)
                bools += 1
            except NotAskable:
                pass
        elif card.kind == Kind.CHOICE:
            try:
                i = right_choice(card, outcome)
            except NotAskable:
                continue
            right[i] += 1
            used = max(used, len(card.choices))
    return Balance(raises, raised, bools, trues, tuple(right[:used]))


def report_balance(reports: Iterable[CardReport], device: str) -> Balance:
    """Balance of the cards checked on `device`."""
    return answer_balance((r.card, r.outcomes[device]) for r in reports if device in r.outcomes)


# -------------------------------------------------------------------------------------------
# Wording: warnings about the text a learner reads, found without running anything.
# -------------------------------------------------------------------------------------------
YES_NO_OPENERS = frozenset({
    "does", "do", "did", "is", "are", "was", "were", "can", "could", "will", "would", "should", "shall",
    "has", "have", "had", "may", "might", "must", "isn't", "doesn't", "won't", "can't",
})
_OFFERS_ALTERNATIVE = re.compile(r"\b(what|which)\b", re.IGNORECASE)  # "Does it run, or what does it raise?"
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+|\s+[—–]\s+")
RAISES_WORDING_FIX = "word it as 'What happens when ...?' or 'Does it run, or what does it raise?'"


def reads_as_yes_no(question: str) -> bool:
    """True when the question (or its last sentence, after any setup) opens like 'Does ...?' / 'Is ...?'.

    For a raises card the answer is `runs`, `raises` or an exception name; after "Does it raise?"
    a learner types "yes", which would mean the opposite after "Does it run?".
    """
    sentences = [s for s in _SENTENCE_END.split(question.strip()) if s]
    asked = [s for s in sentences if s.rstrip().endswith("?")] or sentences[:1]
    for sentence in (sentences[:1] + asked[-1:]) if sentences else []:
        first = re.match(r"[\W_]*([A-Za-z']+)", sentence)
        if first and first.group(1).lower() in YES_NO_OPENERS and not _OFFERS_ALTERNATIVE.search(sentence):
            return True
    return False


def raises_wording_warning(card: Card) -> str | None:
    """The warning for a raises card whose question invites 'yes'/'no', or None."""
    if card.kind != Kind.RAISES or not reads_as_yes_no(card.question):
        return None
    return ("the question reads as yes/no, but a raises card is answered with runs, raises or an exception name; "
            f"{RAISES_WORDING_FIX}")


LEARNER_FIELDS = ("question", "explain", "answer", "choices")
_BACKSTAGE = (  # (pattern, what it is, the fix): things about how the deck was made, not about torch
    (re.compile(r"\d{3}_[0-9a-f]{16}\.txt"), "a note file name", "keep provenance in 'source'"),
    (re.compile(r"\bthe note says\b", re.IGNORECASE), "'the note says'", "state the rule itself"),
    (re.compile(r"\bthe notes\b", re.IGNORECASE), "'the notes'", "state the rule itself"),
    (re.compile(r"\bthe study notes?\b|\bnotes? \d{3}\b", re.IGNORECASE), "a study note", "state the rule itself"),
    (re.compile(r"\bquizzer\b", re.IGNORECASE), "the word 'quizzer'", "speak about torch, not the app"),
)


def learner_text_problems(card: Card) -> tuple[str, ...]:
    """What in the text a learner reads talks about the deck's making (notes, file names, the app)."""
    out = []
    for name in LEARNER_FIELDS:
        value = getattr(card, name)
        texts = [value] if isinstance(value, str) else list(value or ())
        for pattern, what, fix in _BACKSTAGE:
            hit = next((m for t in texts if (m := pattern.search(t))), None)
            if hit:
                out.append(f"'{name}' mentions {what} ({hit.group(0)!r}); {fix}")
    return tuple(out)


def card_warnings(card: Card) -> tuple[str, ...]:
    """Every wording warning for one card: the ones `quizzer check` prints without running anything."""
    wording = raises_wording_warning(card)
    return ((wording,) if wording else ()) + learner_text_problems(card)


# -------------------------------------------------------------------------------------------
# Per-deck summary and the JSON of `quizzer check --json`
# -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeckSummary:
    """One checked deck: its balance per device and its deck-level warnings (requires, skew)."""

    deck_id: str
    path: str
    cards: int
    balance: dict[str, Balance]
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"deck": self.deck_id, "file": self.path, "cards": self.cards,
                "balance": {d: b.to_json() for d, b in self.balance.items()}, "warnings": list(self.warnings)}


def skew_warning(deck_id: str, device: str, balance: Balance) -> str | None:
    """One line saying how a deck's answers lean on a device, with the fixes; None when balanced."""
    skews = balance.skews()
    if not skews:
        return None
    return f"deck '{deck_id}' answers lean one way on {device}, so guessing pays: " + "; ".join(skews)


def summarise_decks(decks: Iterable[Deck], reports: list[CardReport], devices: list[str],
                    notes: dict[str, list[str]] | None = None) -> list[DeckSummary]:
    """Balance per deck and device, with `notes` (deck id -> earlier warnings) and skew warnings added."""
    out = []
    for deck in decks:
        mine = [r for r in reports if r.card.deck_id == deck.id]
        balance = {device: report_balance(mine, device) for device in devices}
        skews = [w for device, b in balance.items() if (w := skew_warning(deck.id, device, b))]
        out.append(DeckSummary(deck.id, deck.path, len(deck.cards), balance,
                               tuple((notes or {}).get(deck.id, ())) + tuple(skews)))
    return out


def total_balance(summaries: Iterable[DeckSummary], device: str) -> Balance:
    return sum((s.balance.get(device, Balance()) for s in summaries), Balance())


def check_json(labels: dict[str, str], reports: list[CardReport], summaries: list[DeckSummary],
               errors: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything `quizzer check --json` prints; `errors` are {"file", "line", "message"} objects."""
    return {
        "devices": labels,
        "errors": errors,
        "failed": sum(1 for r in reports if not r.ok),
        "warnings": sum(len(r.warnings) for r in reports) + sum(len(s.warnings) for s in summaries),
        "balance": {d: total_balance(summaries, d).to_json() for d in labels},
        "decks": [s.to_json() for s in summaries],
        "cards": [r.to_json() for r in reports],
    }
