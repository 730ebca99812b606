"""The worker-side trace: what it records, its caps, and that it never changes an outcome."""

from __future__ import annotations

import json

from quizzer.deck import bundled_deck_dir, load_decks
from quizzer.worker.tracing import MAX_BYTES, MAX_CALLS

from .conftest import make_card


def traced(runner, code: str, ask: str | None = None):
    outcome = runner.run(make_card(code, ask), fresh=True, trace=True)
    assert outcome.trace is not None and "calls" in outcome.trace, outcome
    return outcome, outcome.trace


def calls_named(trace, fn: str):
    return [c for c in trace["calls"] if c["fn"] == fn]


def test_no_trace_unless_asked(runner):
    assert runner.run(make_card("x = torch.ones(2)", "x"), fresh=True).trace is None


def test_each_call_records_its_tensors_and_result(runner):
    _, trace = traced(runner, "x = torch.ones(2, 1, requires_grad=True)\ny = torch.ones(3)\nz = x + y", "z")
    [add] = calls_named(trace, "Tensor.add")
    x, y = add["args"]
    assert (x["shape"], x["stride"], x["requires_grad"], x["is_leaf"], x["dtype"], x["device"]) == ([2, 1], [1, 1], True, True, "float32", "cpu")
    assert (y["shape"], y["requires_grad"]) == ([3], False)
    assert add["result"]["shape"] == [2, 3] and add["result"]["grad_fn"] == "AddBackward0"
    assert add["result"]["is_leaf"] is False
    assert trace["value"]["id"] == add["result"]["id"]
    assert [n["name"] for n in trace["named"]] == ["x", "y", "z"]


def test_a_failing_call_records_its_exception(runner):
    outcome, trace = traced(runner, "a = torch.arange(6).view(2, 3)\nb = a.transpose(0, 1)\nc = b.view(1, -1)")
    assert outcome.raised
    [failed] = [c for c in trace["calls"] if "error" in c]
    assert failed["fn"] == "Tensor.view" and failed["params"] == ["1", "-1"]
    assert failed["error"]["type"] == "RuntimeError" and "stride" in failed["error"]["message"]
    assert failed["args"][0]["stride"] == [1, 3] and failed["args"][0]["contiguous"] is False


def test_grads_after_each_backward_show_accumulation_and_a_freed_graph(runner):
    code = "x = torch.tensor(2.0, requires_grad=True)\ny = x ** 2\ny.backward(retain_graph=True)\ny.backward()\ny.backward()"
    outcome, trace = traced(runner, code)
    assert outcome.raised and "second time" in outcome.error["message"]
    x_id = next(n["id"] for n in trace["named"] if n["name"] == "x")
    grads = [next(leaf["grad"]["values"] for leaf in event["leaves"] if leaf["id"] == x_id) for event in trace["grads"]]
    assert grads == [[4.0], [8.0]]
    backwards = calls_named(trace, "Tensor.backward")
    assert len(backwards) == 3 and "error" in backwards[2] and "error" not in backwards[1]


def test_the_asked_value_carries_its_grad_fn_chain(runner):
    _, trace = traced(runner, "x = torch.ones(2, requires_grad=True)\ny = (x * 2).sum()", "y")
    assert trace["value"]["grad_fn_chain"][:2] == ["SumBackward0", "MulBackward0"]


def test_numpy_bridge_memory_is_labelled_the_same_when_shared(runner):
    _, trace = traced(runner, "a = np.ones(3)\nt = torch.from_numpy(a)\nc = torch.tensor(a)")
    named = {n["name"]: n for n in trace["named"]}
    assert named["a"]["type"] == "ndarray"
    assert named["t"]["memory"] == named["a"]["memory"] != named["c"]["memory"]


def test_views_share_a_memory_label_and_copies_do_not(runner):
    _, trace = traced(runner, "a = torch.zeros(2, 3)\nb = a.t()\nc = b.contiguous()")
    named = {n["name"]: n for n in trace["named"]}
    assert named["a"]["memory"] == named["b"]["memory"] != named["c"]["memory"]


def test_the_trace_is_capped_in_calls_and_bytes(runner):
    _, trace = traced(runner, "x = torch.zeros(3)\nfor _ in range(1000):\n    x = x + 1", "x")
    assert len(trace["calls"]) <= MAX_CALLS and trace["dropped"] >= 1000 - MAX_CALLS
    assert len(json.dumps(trace)) <= MAX_BYTES


def test_tracing_keeps_no_tensor_alive(runner):
    code = "import weakref, gc\nx = torch.ones(2)\nr = weakref.ref(x)\ny = x + 1\ndel x\ngc.collect()"
    outcome, _ = traced(runner, code, "r() is None")
    assert outcome.value["data"] is True


def bundled_cards():
    return [c for d in load_decks([bundled_deck_dir()]) for c in d.cards if c.kind != "recall"]


def test_tracing_never_changes_an_outcome(runner):
    """Every bundled card, run with and without the trace, gives the same outcome."""
    different = []
    cards = bundled_cards()
    assert len(cards) > 100
    for card in cards:
        plain, with_trace = runner.run(card, fresh=True), runner.run(card, fresh=True, trace=True)
        if "timeout" in (plain.status, with_trace.status):  # a loaded machine, not the trace: once more
            plain, with_trace = runner.run(card, fresh=True), runner.run(card, fresh=True, trace=True)
        if (plain.status, plain.fingerprint()) != (with_trace.status, with_trace.fingerprint()):
            different.append(f"{card.deck_id}/{card.id}: {plain.describe()[:60]} vs {with_trace.describe()[:60]}")
        elif with_trace.trace is None or "failed" in with_trace.trace:
            different.append(f"{card.deck_id}/{card.id}: no trace ({with_trace.trace})")
    assert different == []


def test_big_or_hostile_arguments_stay_cheap_and_short(runner):
    code = ("class Loud:\n    def __repr__(self):\n        raise RuntimeError('no repr')\n"
            "big = torch.tensor(list(range(200_000)))\nx = torch.ones(3).add(1, alpha=2)\ny = torch.ones(2)[0:1]")
    outcome, trace = traced(runner, code, "big.shape")
    assert outcome.value["data"] == [200_000]
    [factory] = calls_named(trace, "torch.tensor")
    assert factory["params"] == ["[0, 1, 2, 3, … 200000 items]"]
    assert calls_named(trace, "Tensor.add")[0]["params"] == ["1", "alpha=2"]
    assert calls_named(trace, "Tensor.__getitem__")[0]["params"] == ["slice(0, 1, None)"]


def test_a_snippet_with_its_own_torch_function_mode_and_subclass_is_unchanged(runner):
    code = ("from torch.overrides import TorchFunctionMode\n"
            "class Count(TorchFunctionMode):\n    n = 0\n"
            "    def __torch_function__(self, func, types, args=(), kwargs=None):\n"
            "        Count.n += 1\n        return func(*args, **(kwargs or {}))\n"
            "class Tagged(torch.Tensor):\n    pass\n"
            "with Count():\n    a = torch.ones(2) + 1\n"
            "t = torch.ones(2).as_subclass(Tagged) * 2")
    ask = "(Count.n, type(t).__name__, t.tolist())"
    plain = runner.run(make_card(code, ask), fresh=True)
    outcome, trace = traced(runner, code, ask)
    assert plain.value["data"] == outcome.value["data"] == [2, "Tagged", [2.0, 2.0]]
    assert calls_named(trace, "Tensor.mul")
