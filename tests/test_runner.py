from __future__ import annotations

import subprocess
import sys
import textwrap

from .conftest import make_card


def test_ready_info(runner):
    assert runner.info.device == "cpu" and runner.info.torch_version.startswith("2.")


def test_tensor_value_summary(runner):
    o = runner.run(make_card("x = torch.ones(2, 1) + torch.arange(3.)", "x.requires_grad_()"))
    assert o.status == "value"
    v = o.value
    assert (v["type"], v["shape"], v["dtype"], v["device"], v["requires_grad"]) == ("Tensor", [2, 3], "torch.float32", "cpu", True)
    assert v["data"] == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]] and not v["truncated"]
    assert o.seconds < o.round_trip


def test_big_tensor_data_is_capped(runner):
    o = runner.run(make_card("", "torch.zeros(100, 100)"))
    assert o.value["shape"] == [100, 100] and o.value["data"] is None and o.value["truncated"]
    assert len(o.value["repr"]) <= 601


def test_exception_outcome(runner):
    o = runner.run(make_card("torch.ones(2) + torch.ones(3)", kind="raises"))
    assert o.status == "raised" and o.error["type"] == "RuntimeError" and o.error["module"] == "builtins"
    assert "must match the size of tensor b (3)" in o.error["message"]
    assert o.error["mro"][:2] == ["RuntimeError", "Exception"]
    assert o.describe().startswith("it raised RuntimeError: The size of tensor a (2)")


def test_plain_values_and_special_types(runner):
    assert runner.run(make_card("", "torch.ones(2, 3).shape")).value["shape"] == [2, 3]
    assert runner.run(make_card("", "torch.ones(2).dtype")).value["dtype"] == "torch.float32"
    assert runner.run(make_card("", "np.zeros(2).dtype")).value["dtype"] == "float64"
    assert runner.run(make_card("", "[1, (2, 3.5), None, 'a', True]")).value["data"] == [1, [2, 3.5], None, "a", True]
    assert runner.run(make_card("", "[torch.tensor(1), torch.tensor([2., 3.])]")).value["data"] == [1, [2.0, 3.0]]


def test_fresh_namespace_seed_and_globals_per_card(runner):
    runner.run(make_card("leak = 1; torch.set_grad_enabled(False); torch.set_default_dtype(torch.float64)", "1"))
    assert runner.run(make_card("", "leak")).error["type"] == "NameError"
    assert runner.run(make_card("", "torch.is_grad_enabled()")).value["data"] is True
    assert runner.run(make_card("", "torch.ones(1).dtype")).value["dtype"] == "torch.float32"
    first = runner.run(make_card("", "torch.rand(3)"), fresh=True)
    assert runner.run(make_card("", "torch.rand(3)"), fresh=True).value["data"] == first.value["data"]
    assert runner.run(make_card("", "sorted(k for k in globals() if not k.startswith('__'))")).value["data"] == ["F", "device", "nn", "np", "torch"]


def test_output_and_warnings_are_captured_and_capped(runner):
    o = runner.run(make_card("print('hello'); import warnings; warnings.warn('careful')", "2"))
    assert o.stdout == "hello\n" and o.warnings == ("careful",) and o.value["data"] == 2
    flood = runner.run(make_card("for _ in range(2000): print('x' * 1000)", "1"))
    assert len(flood.stdout) < 9_000 and flood.stdout.endswith("more characters not shown")


def test_timeout_kills_and_next_card_runs(runner):
    before = runner.respawns
    o = runner.run(make_card("while True: pass", timeout=0.5))
    assert o.status == "timeout" and o.detail == "timed out after 0.5 s" and not o.ran
    assert runner.run(make_card("", "40 + 2")).value["data"] == 42
    assert runner.respawns == before + 1


def test_process_killers_give_clear_outcomes(runner):
    exited = runner.run(make_card("import os; os._exit(7)"))
    assert exited.status == "crashed" and exited.detail == "the snippet ended its process (exit code 7)"
    segv = runner.run(make_card("import ctypes; ctypes.string_at(0)"))
    assert segv.status == "crashed" and "SIGSEGV" in segv.detail
    assert runner.run(make_card("import sys; sys.exit(3)", kind="raises")).error["type"] == "SystemExit"
    assert runner.run(make_card("raise KeyboardInterrupt", kind="raises")).error["type"] == "KeyboardInterrupt"
    assert runner.run(make_card("", "'still alive'")).value["data"] == "still alive"


def test_huge_allocation_fails_cleanly(runner):
    o = runner.run(make_card("torch.empty(100 * 2**30, dtype=torch.uint8)", kind="raises"))
    assert o.status == "raised" and o.error["type"] == "RuntimeError"
    assert runner.run(make_card("", "torch.ones(3).sum().item()")).value["data"] == 3.0


def test_runs_in_a_temporary_directory(runner, tmp_path):
    o = runner.run(make_card("import os; open('scratch.txt', 'w').write('x')", "os.getcwd()"))
    cwd = o.value["data"]
    assert "quizzer-" in cwd and not cwd.startswith(str(tmp_path.parent.parent))


def test_precompute_cache_returns_same_future(runner):
    card = make_card("", "7")
    assert runner.submit(card) is runner.submit(card)
    assert runner.submit(card, fresh=True) is not runner.submit(card)


def test_ui_side_modules_never_import_torch():
    script = textwrap.dedent("""
        import importlib, pkgutil, sys
        import quizzer
        names = [m.name for m in pkgutil.walk_packages(quizzer.__path__, "quizzer.")
                 if not m.name.endswith("__main__") and m.name != "quizzer.worker.tracing"]  # a TorchFunctionMode
        assert {"quizzer.tui.app", "quizzer.protocol", "quizzer.linux", "quizzer.worker.zygote"} <= set(names), names
        for name in names:  # every module, the worker's own included: they import torch only when run
            importlib.import_module(name)
        from quizzer import runner
        from quizzer.deck import Card
        r = runner.Runner("cpu")
        o = r.run(Card("t", "c", "shape", "q", "x = torch.ones(2)", "x"), trace=True)
        r.close()
        assert o.value["shape"] == [2], o
        from quizzer import why
        assert why.build(o.trace) is not None
        print("torch" in sys.modules, "numpy" in sys.modules)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]
