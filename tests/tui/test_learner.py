"""A learner at the keyboard: every card kind answered the way people type, through the real app
and a real worker, with the database checked after. What the verdict says must be true."""

from __future__ import annotations

import textwrap

import pytest

from quizzer.deck import parse_deck
from quizzer.session import StudySession
from quizzer.store import Store
from quizzer.tui.app import QuizzerApp
from quizzer.tui.screens.study import Phase, StudyScreen

from .test_study import settled, text

CARDS = {
    "shape": """
        kind: shape
        question: What is the shape of `x + y`?
        code: |
          x = torch.ones(2, 1)
          y = torch.ones(3)
        ask: x + y""",
    "value": """
        kind: value
        question: What is `x.sum().item()`?
        code: x = torch.tensor([1.5, 2.5, 2.0])
        ask: x.sum().item()""",
    "dtype": """
        kind: dtype
        question: What is the dtype of `torch.tensor([1, 2])`?
        code: t = torch.tensor([1, 2])
        ask: t.dtype""",
    "raises-it-raises": """
        kind: raises
        question: What happens when a transposed tensor is viewed flat?
        code: |
          b = torch.arange(6).view(2, 3).t()
          b.view(-1)""",
    "raises-it-runs": """
        kind: raises
        question: What happens when `torch.exp` gets an integer tensor?
        code: torch.exp(torch.tensor([1, 2, 3]))""",
    "choice": """
        kind: choice
        question: What is the dtype of `torch.tensor([1, 2])`?
        code: x = torch.tensor([1, 2])
        ask: x.dtype
        choices: [torch.int32, torch.int64, torch.float32]""",
}

# kind: (right answers in several spellings, wrong answers, answers that must get a hint and no grade)
TYPED = {
    "shape": (["2x3", "(2, 3)", "torch.Size([2, 3])"], ["(3, 2)", "error"], ["two by three", "2 by 3"]),
    "value": (["6", "6.0", "6.00"], ["5.9", "RuntimeError"], ["six", "[6"]),
    "dtype": (["int64", "torch.long", "long"], ["float32", "int32"], ["integer-ish"]),
    "raises-it-raises": (["raises", "RuntimeError", "error"], ["runs", "TypeError"], ["yes", "no", "y", "maybe"]),
    "raises-it-runs": (["runs", "ok", "no error"], ["raises", "RuntimeError"], ["no", "yes", "n", "perhaps"]),
    "choice": (["b", "2", "int64", "torch.int64"], ["a", "1", "float32"], ["d", "7", "int8"]),
}


def one_card_db(tmp_path, name: str, body: str):
    deck = f"id: one\ntitle: One card\ndescription: One card for a test.\ncards:\n  - id: {name}\n" + textwrap.indent(textwrap.dedent(body).strip(), "    ")
    path = tmp_path / f"{name}.db"
    with Store(path) as s:
        s.import_decks([parse_deck(deck.encode(), "one.yaml")])
    return path


async def answer_once(tmp_path, runner, name: str, typed: str) -> tuple[str, str, list]:
    """Type `typed` on a fresh copy of card `name`; return the verdict, the hint and the stored reviews."""
    db = one_card_db(tmp_path, f"{name}-{abs(hash(typed))}", CARDS[name])
    store = Store(db)
    app = QuizzerApp(store, StudySession(store), runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*typed, "enter")
        await settled(pilot)
        verdict = text(app, "#verdict") if app.screen.phase is Phase.VERDICT else ""
        hint = text(app, "#hint") if app.screen.phase is Phase.QUESTION else ""
        if hint:
            assert app.screen.query_one("#answer").value == typed  # the learner's text stays in the box
        if verdict:
            await pilot.press("enter")
            await settled(pilot)
    rows = [(r["verdict"], r["answer"]) for r in store.reviews()]
    store.close()
    return verdict, hint, rows


@pytest.mark.parametrize("name,typed", [(n, t) for n, (right, _, _) in TYPED.items() for t in right])
async def test_a_right_answer_in_any_spelling_is_right(tmp_path, runner, name, typed):
    verdict, hint, rows = await answer_once(tmp_path, runner, name, typed)
    assert verdict.startswith("✓ Right"), (verdict, hint)
    assert rows == [("right", typed)]


@pytest.mark.parametrize("name,typed", [(n, t) for n, (_, wrong, _) in TYPED.items() for t in wrong])
async def test_a_wrong_answer_is_wrong(tmp_path, runner, name, typed):
    verdict, hint, rows = await answer_once(tmp_path, runner, name, typed)
    assert verdict.startswith("✗ Wrong"), (verdict, hint)
    assert rows == [("wrong", typed)]


@pytest.mark.parametrize("name,typed", [(n, t) for n, (_, _, bad) in TYPED.items() for t in bad])
async def test_an_ambiguous_or_garbled_answer_gets_a_hint_and_no_grade(tmp_path, runner, name, typed):
    verdict, hint, rows = await answer_once(tmp_path, runner, name, typed)
    assert verdict == "" and hint and rows == []


async def test_a_raises_verdict_says_what_the_learner_believed(tmp_path, runner):
    verdict, _, _ = await answer_once(tmp_path, runner, "raises-it-runs", "runs")
    assert "you said  it runs without raising" in verdict and "ran without raising" in verdict
    verdict, _, _ = await answer_once(tmp_path, runner, "raises-it-raises", "runs")
    assert "✗ Wrong" in verdict and "raised RuntimeError" in verdict


@pytest.mark.parametrize("keys,verdict,stored", [("y", "✗ Wrong", "yes"), ("n", "✓ Right", "no"), ("e", "✗ Wrong", "error")])
async def test_bool_cards_take_single_keys(tmp_path, runner, keys, verdict, stored):
    db = one_card_db(tmp_path, "flag", """
        kind: bool
        question: Does `x` require grad?
        code: x = torch.ones(2)
        ask: x.requires_grad""")
    store = Store(db)
    app = QuizzerApp(store, StudySession(store), runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(keys)
        await settled(pilot)
        assert text(app, "#verdict").startswith(verdict)
        await pilot.press("enter")
        await settled(pilot)
    assert [(r["verdict"], r["answer"]) for r in store.reviews()] == [(verdict == "✓ Right" and "right" or "wrong", stored)]
    store.close()


@pytest.mark.parametrize("keys,grade,verdict", [(("space", "enter"), 4, "right"), (("space", "1"), 1, "wrong"),
                                                (("space", "5"), 5, "right")])
async def test_recall_enter_after_revealing_means_good_not_easy(tmp_path, runner, keys, grade, verdict):
    db = one_card_db(tmp_path, "idea", """
        kind: recall
        question: What is a leaf tensor?
        answer: One with no grad_fn.""")
    store = Store(db)
    app = QuizzerApp(store, StudySession(store), runner=runner)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*keys)
        await settled(pilot)
    assert [(r["grade"], r["verdict"]) for r in store.reviews()] == [(grade, verdict)]
    store.close()


def typed_for(card) -> list[str]:
    """The keys a learner who believes the card's `expect` (on the CPU) presses."""
    expect = card.expect_for("cpu")
    if card.kind == "bool":
        return {"true": ["y"], "false": ["n"]}.get(expect.lower(), ["e"])
    return [*expect, "enter"]


async def test_every_bundled_card_typed_as_its_expect_is_right(tmp_path, runner):
    """Each executable bundled card, answered key by key with the author's expect: always ✓."""
    from quizzer.library import open_library

    store = open_library(tmp_path / "all.db")
    session = StudySession(store, new_limit=100_000)
    expected = {c.state.card.key for c in session.queue if c.state.card.executable and c.state.card.expect_for("cpu")}
    assert len(expected) > 200
    app = QuizzerApp(store, session, runner=runner)
    seen, wrong = set(), []
    async with app.run_test(size=(120, 40)) as pilot:
        while isinstance(app.screen, StudyScreen) and app.screen.card is not None:
            card = app.screen.card
            if card.key not in expected or card.key in seen:
                await pilot.press("ctrl+k")
                await pilot.pause()
                continue
            seen.add(card.key)
            await pilot.press(*typed_for(card))
            await settled(pilot)
            if app.screen.phase is not Phase.VERDICT or not text(app, "#verdict").startswith("✓"):
                shown = text(app, "#verdict") if app.screen.phase is not Phase.QUESTION else text(app, "#hint")
                wrong.append(f"{card.deck_id}/{card.id} typed {card.expect_for('cpu')!r}: {shown.splitlines()[:3]}")
                await pilot.press("ctrl+k")
                await pilot.pause()
                continue
            await pilot.press("enter")
            await settled(pilot)
    store.close()
    assert seen == expected
    assert wrong == [], "\n".join(wrong)
