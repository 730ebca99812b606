"""The why-panel: which pattern a run's trace shows, and how it is drawn at 80 columns.

Traces come from real runs (the session's CPU worker), so a change in what the tracer records or
in what torch does shows up here.
"""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from quizzer.why import PanelKind, Why, build, render

from .conftest import make_card


def why_of(runner, code: str, ask: str | None = None) -> Why:
    outcome = runner.run(make_card(code, ask), fresh=True, trace=True)
    why = build(outcome.trace)
    assert why is not None
    return why


def text_of(why: Why) -> str:
    console = Console(width=80, record=True, color_system=None)
    console.print(render(why))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80, text
    return text


def lines_with(text: str, *words: str) -> list[str]:
    return [line for line in text.splitlines() if all(w in line for w in words)]


def test_broadcasting_lines_shapes_up_from_the_right_and_marks_the_bad_column(runner):
    why = why_of(runner, "x = torch.empty(5, 2, 4, 1)\ny = torch.empty(3, 1, 1)", "x + y")
    assert why.kind is PanelKind.BROADCAST
    text = text_of(why)
    [header] = lines_with(text, "dim -4", "dim -1")
    [x_row] = lines_with(text, "x ", "5", "2", "4")
    [y_row] = lines_with(text, "y ", "3")
    # right-aligned: y's 3 sits in the column of x's 2 (dim -3), under its header
    assert y_row.rindex("3") == x_row.rindex("2") == header.index("dim -3") + len("dim -3") - 1
    [marks] = [line for line in text.splitlines() if "✗" in line and "=" not in line and "Error" not in line]
    assert marks.index("✗") == x_row.rindex("2")
    assert "dim -3 does not match" in why.headline
    assert "✗ Tensor.add raised RuntimeError" in text


def test_broadcasting_in_place_marks_the_column_that_would_grow_self(runner):
    why = why_of(runner, "x = torch.zeros(1, 3, 1)\ny = torch.zeros(3, 1, 7)\nx.add_(y)")
    assert why.kind is PanelKind.BROADCAST
    text = text_of(why)
    assert lines_with(text, "x (in place)") and "✗ self" in text and "in place" in why.headline


def test_broadcasting_that_works_shows_the_result_row(runner):
    text = text_of(why_of(runner, "x = torch.ones(4, 1)\ny = torch.ones(4)", "x - y"))
    [result] = lines_with(text, "= ask")
    assert result.split()[-2:] == ["4", "4"]
    assert "✗" not in text


def test_a_failing_view_names_the_dims_that_cannot_merge_and_their_strides(runner):
    why = why_of(runner, "a = torch.arange(6).view(2, 3)\nb = a.transpose(0, 1)\nc = b.view(1, -1)")
    assert why.kind is PanelKind.VIEW
    text = text_of(why)
    [row] = lines_with(text, "b ", "(3, 2)")
    assert "(1, 3)" in row and "no" in row
    assert "dims 0 and 1 (sizes 3, 2; strides 1, 3) cannot be merged" in text
    assert ".contiguous()" in text


def test_a_view_shares_storage_and_a_copy_does_not(runner):
    shared = why_of(runner, "a = torch.zeros(2, 3)\nb = a.transpose(0, 1)", "b")
    copied = why_of(runner, "a = torch.zeros(2, 3).t()\nb = a.contiguous()", "b")
    assert shared.kind is copied.kind is PanelKind.VIEW
    assert "shares storage" in shared.headline and "copy" in copied.headline
    shared_text = text_of(shared)
    [a_row], [b_row] = lines_with(shared_text, "a ", "(2, 3)"), lines_with(shared_text, "b ", "(3, 2)")
    assert a_row.split()[-1] == b_row.split()[-1]  # the same storage label
    copied_text = text_of(copied)
    assert lines_with(copied_text, "a ")[0].split()[-1] != lines_with(copied_text, "b ")[0].split()[-1]


def test_autograd_shows_leaves_and_grad_after_each_backward_then_a_freed_graph(runner):
    code = ("x = torch.tensor(3.0, requires_grad=True)\ny = x ** 2\n"
            "y.backward(retain_graph=True)\ny.backward()\ny.backward()")
    why = why_of(runner, code)
    assert why.kind is PanelKind.AUTOGRAD
    text = text_of(why)
    [x_row] = lines_with(text, "x ", "yes")
    assert x_row.split()[2:4] == ["yes", "yes"]  # requires_grad, is_leaf
    [y_row] = lines_with(text, "y ", "PowBackward0")
    assert y_row.split()[3] == "no"
    assert lines_with(text, "#1", "6")[0].split()[-1] == "6" and lines_with(text, "#2", "12")
    assert lines_with(text, "#3", "graph already freed")
    assert "freed" in why.headline


def test_autograd_names_the_grad_fn_chain_of_the_asked_value(runner):
    text = text_of(why_of(runner, "x = torch.ones(2, requires_grad=True)\ny = (x * 3).sum()", "y"))
    assert "SumBackward0 ← MulBackward0" in text


def test_dtypes_show_operands_and_the_promoted_result(runner):
    why = why_of(runner, "x = torch.tensor([1, 2])", "x / 2")
    assert why.kind is PanelKind.DTYPE
    text = text_of(why)
    assert lines_with(text, "x ", "int64") and lines_with(text, "2 ", "Python int")
    assert lines_with(text, "= ask", "float32")
    assert "true division" in why.headline


def test_repeated_backward_calls_say_gradients_accumulate(runner):
    why = why_of(runner, "w = torch.ones(3, requires_grad=True)\nfor _ in range(3):\n    (w * w).sum().backward()")
    assert why.kind is PanelKind.AUTOGRAD and "accumulate" in why.headline
    text = text_of(why)
    assert [line.split()[1] for line in lines_with(text, "#")] == ["[2,", "[4,", "[6,"]


def test_a_dtype_error_names_both_dtypes(runner):
    why = why_of(runner, "a = torch.ones(2, 2, dtype=torch.float64)\nb = torch.ones(2, 2)\nc = a @ b")
    assert why.kind is PanelKind.DTYPE
    text = text_of(why)
    assert lines_with(text, "a ", "float64") and lines_with(text, "b ", "float32") and "✗ Tensor.matmul raised RuntimeError" in text


def test_the_numpy_bridge_says_which_tensors_share_memory_with_the_array(runner):
    why = why_of(runner, "a = np.ones(3)\nt = torch.from_numpy(a)\nc = torch.tensor(a)", "t")
    assert why.kind is PanelKind.DEVICE
    text = text_of(why)
    assert "t shares memory with a" in text and "c does not share memory with a" in text
    assert lines_with(text, "a ", "ndarray", "numpy") and lines_with(text, "t ", "tensor", "cpu")


def test_losses_show_input_and_target_as_the_loss_received_them(runner):
    why = why_of(runner, "logits = torch.zeros(4, 3)\ntarget = torch.zeros(4, 3, dtype=torch.long)\n"
                         "loss = F.cross_entropy(logits, target)")
    assert why.kind is PanelKind.LOSS
    text = text_of(why)
    assert lines_with(text, "input", "logits", "(4, 3)", "float32")
    assert lines_with(text, "target", "target", "(4, 3)", "int64")
    assert "✗ F.cross_entropy raised RuntimeError" in text


def test_a_run_that_fits_no_pattern_shows_the_named_tensors(runner):
    why = why_of(runner, "x = torch.ones(2, 3)\nn = x.numel()", "n")
    assert why.kind is PanelKind.NAMED
    assert lines_with(text_of(why), "x ", "(2, 3)", "float32", "cpu")


def test_a_run_without_tensors_says_so(runner):
    why = why_of(runner, "xs = [1, 2, 3]", "sum(xs)")
    assert why.kind is PanelKind.NAMED and why.sheets == ()
    assert "no tensors" in text_of(why)


def test_the_panel_is_plain_json_and_no_trace_means_no_panel(runner):
    why = why_of(runner, "x = torch.ones(2, 1) + torch.ones(3)")
    assert json.loads(json.dumps(why.to_json()))["kind"] == "broadcasting"
    assert build(None) is None and build({"version": 1, "failed": "TypeError"}) is None


@pytest.mark.parametrize("code", ["x = torch.zeros(3)\nfor _ in range(500):\n    x = x + torch.ones(1, 3)",
                                  "w = torch.ones(64, 64, requires_grad=True)\nfor _ in range(5):\n    (w * w).sum().backward()"])
def test_big_runs_still_fit_80_columns(runner, code):
    text = text_of(why_of(runner, code))
    assert text.strip()


def test_explain_prints_the_outcome_and_the_why_panel(tmp_path, capsys):
    from quizzer.cli import main

    code = main(["explain", "--db", str(tmp_path / "q.db"), "--device", "cpu", "views/view-on-transposed"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "it raised RuntimeError" in out and "why · views" in out
    assert "dims 0 and 1 (sizes 3, 2; strides 1, 3) cannot be merged" in out


def test_explain_json_has_outcome_panel_and_trace(tmp_path, capsys):
    from quizzer.cli import main

    code = main(["explain", "--db", str(tmp_path / "q.db"), "--device", "cpu", "--json", "broadcasting/trailing-dims"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["outcome"]["status"] == "value" and data["outcome"]["value"]["shape"] == [5, 3, 4, 1]
    assert data["why"]["kind"] == "broadcasting"
    assert any(c["fn"] == "Tensor.add" for c in data["trace"]["calls"])


@pytest.mark.parametrize("target,message", [
    ("views/nope", "no card 'nope' in deck 'views'; its cards: view-minus-one"),
    ("nope/x", "no deck 'nope'; known decks: "),
    ("views", "'views' is not DECK/CARD; give e.g. views/view-on-transposed"),
])
def test_explain_names_an_unknown_card_in_one_line(tmp_path, capsys, target, message):
    from quizzer.cli import main

    code = main(["explain", "--db", str(tmp_path / "q.db"), target])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.startswith(message) and err.count("\n") == 1
