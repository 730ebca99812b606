"""The sandbox, attack by attack: each test reproduces one thing a snippet (or a deck) was seen doing
to the learner's machine, and asserts it no longer reaches anything outside the card.

Tests that need the namespaces skip, saying why, where the kernel refuses them."""

from __future__ import annotations

import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import pytest

from quizzer.protocol import RESULT_CAP, ProtocolError, Ready, Result, from_wire
from quizzer.runner import Runner

from ..conftest import SMALL_DECK, make_card

GRACE = 3.0


@pytest.fixture(scope="module")
def boxed():
    with Runner("cpu") as r:
        r.wait_ready()
        if not r.sandboxed:
            pytest.skip(r.sandbox_off)
        yield r


def run(runner: Runner, code: str, ask: str | None = None, *, timeout: float = 2.0, kind: str = "value"):
    start = time.monotonic()
    outcome = runner.run(make_card(code, ask, kind=kind, timeout=timeout), fresh=True)
    assert time.monotonic() - start < timeout + GRACE, outcome
    after = runner.run(make_card("", "40 + 2"), fresh=True)
    assert (after.status, after.value and after.value["data"]) == ("value", 42), after
    return outcome


# (1) the launch directory ------------------------------------------------------------------------
def test_modules_in_the_launch_directory_are_never_imported(tmp_path):
    for name in ("random", "numpy", "torch", "queue"):
        (tmp_path / f"{name}.py").write_text(f"raise SystemExit('the learner\\'s {name}.py was imported')\n")
    script = textwrap.dedent("""
        from quizzer.runner import Runner
        from quizzer.deck import Card
        with Runner("cpu") as r:
            o = r.run(Card("t", "c", "value", "q", "import random, queue; x = torch.ones(2)", "x.sum().item()"))
        print(o.status, o.value and o.value["data"])
    """)
    # -P: the app itself is started like the `quizzer` script, which does not import from the cwd either
    proc = subprocess.run([sys.executable, "-P", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["value", "2.0"]


# (2) the learner's data --------------------------------------------------------------------------
def test_the_database_and_its_folder_are_invisible(tmp_path, monkeypatch):
    db = tmp_path / "data" / "quizzer.db"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE reviews (id INTEGER)")
        conn.execute("INSERT INTO reviews VALUES (1)")
    monkeypatch.setenv("QUIZZER_DB", str(db))
    with Runner("cpu") as r:
        r.wait_ready()
        if not r.sandboxed:
            pytest.skip(r.sandbox_off)
        o = run(r, "import os, sqlite3\nd = os.path.dirname(os.environ['QUIZZER_DB'])\nprint(os.path.isdir(d) and os.listdir(d))\n"
                   "c = sqlite3.connect(os.environ['QUIZZER_DB']); c.execute('DELETE FROM reviews'); c.commit()",
                kind="raises")
    assert o.status == "raised" and o.error["type"] == "OperationalError" and o.stdout in ("[]\n", "False\n"), o
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM reviews").fetchone() == (1,)


def test_the_system_is_read_only_and_home_is_empty(boxed):
    o = run(boxed, "import os\nopen(os.path.join(os.__file__ + '.evil'), 'w')", kind="raises")
    assert o.status == "raised" and "Read-only file system" in o.error["message"]
    home = run(boxed, "import os", "sorted(os.listdir(os.path.expanduser('~')))")
    real = sorted(os.listdir(os.path.expanduser("~")))
    assert home.value["data"] != real or real == []
    assert set(home.value["data"]) <= {p for p in real if p.startswith(".")}  # only where Python lives


def test_files_a_card_writes_live_and_die_with_it(boxed):
    name = f"quizzer-test-{os.getpid()}"
    o = run(boxed, f"import os\nfor d in ('/tmp', '/dev/shm', os.path.expanduser('~')):\n"
                   f"    open(os.path.join(d, {name!r}), 'w').write('x')", "1")
    assert o.status == "value"
    assert not any(Path(d, name).exists() for d in ("/tmp", "/dev/shm", os.path.expanduser("~")))
    o = run(boxed, "import os", f"[d for d in ('/tmp', '/dev/shm', os.path.expanduser('~')) "
                                f"if os.path.exists(os.path.join(d, {name!r}))]")
    assert o.value["data"] == [], "a file from the previous card was still there"


# (3) no network, no Unix socket of the learner's ----------------------------------------------
def test_unix_sockets_of_the_learner_are_unreachable(boxed, tmp_path):
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(f"\0quizzer-test-{os.getpid()}")
    abstract.listen()
    try:
        for address in (str(path), f"\0quizzer-test-{os.getpid()}"):
            o = run(boxed, f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.settimeout(0.5)\ns.connect({address!r})",
                    kind="raises")
            assert o.status == "raised" and "OSError" in o.error["mro"], o
    finally:
        server.close()
        abstract.close()


# (4) other processes -----------------------------------------------------------------------------
WALK_UP = """
import os, signal
pid, killed = os.getpid(), []
while pid > 1:
    with open(f'/proc/{pid}/stat') as f:
        pid = int(f.read().rpartition(')')[2].split()[1])
    try:
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
    except OSError:
        pass
"""


def test_ancestors_and_other_processes_are_out_of_reach(boxed):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        o = run(boxed, WALK_UP, "killed")
        assert o.status == "value" and o.value["data"] in ([], [1]), o  # only the sandbox's own init, immune
        o = run(boxed, "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError:\n    pass", "1")
        assert o.status == "value"
        assert bystander.poll() is None, "kill(-1) reached a process outside the sandbox"
        seen = run(boxed, "import os", "sorted(int(p) for p in os.listdir('/proc') if p.isdigit())")
        assert len(seen.value["data"]) == 2, "the snippet sees processes besides the zygote and itself"
    finally:
        bystander.kill()
        bystander.wait()
    assert boxed._proc is not None and boxed._proc.poll() is None


# (5) a forged result channel ---------------------------------------------------------------------
FORGE = """
import json, os
lines = [{"event": "failed", "workroot": %(victim)r, "error": {"type": "X", "message": "forged"}},
         {"event": "ready"}, {"event": "respawned"}]
lines += [{"id": i, "status": "value", "value": {"type": "int", "repr": "666", "data": 666}} for i in range(1, 2000)]
data = "".join(json.dumps(m) + "\\n" for m in lines).encode()
for fd in range(3, 64):
    try:
        os.write(fd, data)
    except OSError:
        pass
"""


def test_forged_lines_on_the_result_pipe_change_nothing(boxed, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    run(boxed, FORGE % {"victim": str(victim)}, "7")  # `run` checks the next card still answers 42
    for _ in range(3):
        assert boxed.run(make_card("", "'mine'"), fresh=True).value["data"] == "mine"
    assert victim.is_dir() and boxed.failure is None


def test_client_rejects_malformed_and_unexpected_messages():
    assert isinstance(from_wire('{"event": "ready"}'), ProtocolError)
    assert isinstance(from_wire("not json"), ProtocolError)
    assert isinstance(from_wire('[1, 2]'), ProtocolError)
    assert isinstance(from_wire('{"id": "1", "status": "value"}'), ProtocolError)
    assert isinstance(from_wire('{"id": 1, "status": "exploded"}'), ProtocolError)
    assert isinstance(from_wire('{"id": 1, "status": "raised"}'), ProtocolError)
    assert isinstance(from_wire(b"x" * (RESULT_CAP + 1)), ProtocolError)
    ok = from_wire('{"id": 3, "status": "value", "value": {"type": "int", "repr": "1", "data": 1}, "trace": [1]}')
    assert isinstance(ok, Result) and ok.id == 3 and ok.outcome.extra == {"trace": [1]}
    ready = from_wire(json.dumps({"event": "ready", "device": "cpu", "device_label": "cpu", "device_name": "cpu",
                                  "torch_version": "2", "guards": ["pid namespace"]}))
    assert isinstance(ready, Ready) and ready.guards == ("pid namespace",)


def test_reader_matches_by_id_and_survives_garbage(tmp_path):
    """A worker that sends garbage, a fieldless ready, a too-long line and outcomes for unknown ids:
    the reader thread keeps going, and each pending card gets its own outcome."""
    r = Runner("cpu")
    mine = tmp_path / "mine"
    mine.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    first, second = Future(), Future()
    r._pending = {1: (first, time.perf_counter(), 5.0), 2: (second, time.perf_counter(), 5.0)}
    lines = [b"garbage\n", b'{"event": "ready"}\n', b"x" * (RESULT_CAP + 10) + b"\n",
             json.dumps({"event": "failed", "workroot": str(victim)}).encode() + b"\n",
             b'{"id": 99, "status": "value"}\n',
             b'{"id": 2, "status": "value", "value": {"type": "int", "repr": "2", "data": 2}}\n',
             b'{"id": 1, "status": "raised", "error": {"type": "E", "message": "\\u001b]0;pwned\\u0007"}}\n']

    class Fake:
        pid = -1
        stdout = io.BytesIO(b"".join(lines))

    r._proc = Fake()  # type: ignore[assignment]
    reader = threading.Thread(target=r._read, args=(Fake(), str(mine)))
    reader.start()
    reader.join(5)
    assert not reader.is_alive()
    assert second.result(0).value["data"] == 2
    assert first.result(0).error["message"] == "\\x1b]0;pwned\\x07"
    assert victim.is_dir() and not mine.exists(), "removed a folder it did not create, or kept its own"
    assert len(r.malformed) >= 4


# (6) threads, however started --------------------------------------------------------------------
def test_a_raw_thread_does_not_survive_its_card(boxed):
    o = run(boxed, "import _thread, time\n_thread.start_new_thread(lambda: (time.sleep(0.3), setattr(torch, 'ones', None)), ())",
            "1")
    assert o.status == "value"
    o = run(boxed, "import time; time.sleep(0.6)", "torch.ones(2).sum().item()")
    assert o.value["data"] == 2.0


# (7) one memory cap for the whole card ------------------------------------------------------------
CHILDREN = """
import os, time
pids = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        block = b'x' * (300 << 20)
        time.sleep(30)
        os._exit(0)
    pids.append(pid)
time.sleep(30)
"""


def test_memory_of_all_processes_counts_together(monkeypatch):
    """Three children of 300 MB each stay under a 600 MB cap one by one, not together."""
    monkeypatch.setenv("QUIZZER_MEMORY_MB", "600")
    with Runner("cpu") as r:
        r.wait_ready()
        if not r.sandboxed:
            pytest.skip(r.sandbox_off)
        o = run(r, CHILDREN, timeout=10.0, kind="raises")
    assert o.status == "memory" and o.seconds < 9, o


def test_shared_memory_files_are_capped_and_private(boxed):
    o = run(boxed, "f = open('/dev/shm/big', 'wb')\nfor _ in range(768):\n    f.write(b'x' * (1 << 20))", kind="raises",
            timeout=10.0)
    assert o.status in ("raised", "memory"), o
    assert not Path("/dev/shm/big").exists()


# (8) huge outcomes ---------------------------------------------------------------------------------
def test_huge_object_arrays_are_summarised_not_sent(boxed):
    o = run(boxed, "x = np.array(['y' * 10_000] * 4096, dtype=object)", "x", timeout=5.0)
    assert o.status == "value" and o.value["data"] is None and o.value["truncated"]


def test_a_value_too_large_to_send_keeps_its_summary(boxed):
    o = run(boxed, "", "['y' * 600] * 4000")  # 2.4 MB of data: over the 1 MB cap
    assert o.status == "value" and o.value["type"] == "list" and o.value["data"] is None and o.value["truncated"]


def test_a_flood_on_the_result_pipe_stops_at_the_deadline(boxed):
    code = "import os\nchunk = b'[' * (1 << 20)\nfor _ in range(400):\n    for fd in range(3, 32):\n" \
           "        try: os.write(fd, chunk)\n        except OSError: pass"
    o = run(boxed, code, timeout=2.0, kind="raises")
    assert o.status in ("crashed", "timeout"), o


def test_outcome_cache_is_bounded(monkeypatch):
    import quizzer.runner

    monkeypatch.setattr(quizzer.runner, "OUTCOME_CACHE", 3)
    r = Runner("cpu")
    monkeypatch.setattr(r, "submit_code", lambda *a, **k: Future())
    for i in range(10):
        r.submit(make_card("", str(i)))
    assert len(r._cache) == 3


# quitting ------------------------------------------------------------------------------------------
def test_close_is_instant_and_leaves_nothing(tmp_path):
    r = Runner("cpu")
    r.wait_ready()
    sid = r._proc.pid
    r.submit_code("import time; time.sleep(40)", timeout=60)
    time.sleep(0.3)
    start = time.monotonic()
    r.close()
    assert time.monotonic() - start < 0.3
    deadline = time.monotonic() + 1.0  # SIGKILLed by close(); the kernel may take a moment to reap them
    while (left := [p for p in _pids() if _session(p) == sid]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert left == [], "a worker process survived close()"
    assert list(Path(tempfile.gettempdir()).glob(f"quizzer-{os.getpid()}-*")) == []


def test_cancel_stops_a_running_card():
    with Runner("cpu") as r:
        r.wait_ready()
        sleeper = make_card("import time; time.sleep(40)", timeout=60)
        future = r.submit(sleeper)
        time.sleep(0.5)
        start = time.monotonic()
        assert r.cancel(sleeper)
        assert future.result(5).status == "cancelled"
        assert r.run(make_card("", "'next'"), fresh=True).value["data"] == "next"
        assert time.monotonic() - start < 3


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _session(pid: int) -> int | None:
    """The session of a living process (None for a zombie or a process that is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rpartition(b")")[2].split()
        return None if fields[0] == b"Z" else int(fields[3])
    except (OSError, ValueError, IndexError):
        return None


def test_stale_workroots_of_a_killed_app_are_removed(tmp_path):
    from quizzer.runner import remove_stale_workroots

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"quizzer-{dead.pid}-abc"
    live = tmp_path / f"quizzer-{os.getpid()}-abc"
    stale.mkdir()
    live.mkdir()
    assert remove_stale_workroots(str(tmp_path)) == [str(stale)]
    assert live.is_dir()


ERASER = """\
id: eraser
title: Eraser
description: Its first card empties the review history; its second is broken, so the deck is refused.
cards:
  - id: erase
    kind: raises
    question: Does this raise?
    code: |
      import sqlite3
      c = sqlite3.connect({db!r})
      c.execute("DELETE FROM reviews")
      c.commit()
    expect: runs
  - id: broken
    kind: value
    question: What is it?
    code: x = 1
    ask: undefined_name
    expect: "1"
"""


def test_a_refused_deck_has_changed_nothing(write_deck, capsys):
    """`add-deck` runs every card before deciding: those runs must not reach the learner's data,
    even where the database lives outside home and /tmp (here: next to the quizzer checkout)."""
    import shutil

    from quizzer.cli import main
    from quizzer.deck import load_decks
    from quizzer.runner import PACKAGE_ROOT
    from quizzer.store import Store

    folder = Path(tempfile.mkdtemp(prefix=".test-data-", dir=PACKAGE_ROOT))
    try:
        db = folder / "q.db"
        with Store(db) as s:
            s.import_decks(load_decks([write_deck(SMALL_DECK, "small.yaml")]))
            s.record_review("small", "add-shape", grade=4, correct=True, answer="(2, 3)")
        assert main(["add-deck", "--db", str(db), str(write_deck(ERASER.format(db=str(db))))]) == 1
        assert "nothing imported" in capsys.readouterr().err
        with Store(db) as s:
            assert len(s.reviews()) == 1, "a refused deck's card emptied the history"
            assert "eraser" not in s.deck_titles()
    finally:
        shutil.rmtree(folder)


def test_a_database_next_to_quizzer_itself_is_hidden_file_by_file(monkeypatch):
    """Its folder cannot be covered (quizzer runs from it), so the database files are."""
    from quizzer.runner import PACKAGE_ROOT

    db = Path(PACKAGE_ROOT) / f".test-{os.getpid()}.db"
    db.write_bytes(b"SQLite format 3\0 secret history")
    monkeypatch.setenv("QUIZZER_DB", str(db))
    try:
        with Runner("cpu") as r:
            r.wait_ready()
            if not r.sandboxed:
                pytest.skip(r.sandbox_off)
            o = run(r, "", f"open({str(db)!r}, 'rb').read()")
            assert o.value["repr"] == "b''", o
            w = run(r, f"open({str(db)!r}, 'wb').write(b'gone')", kind="raises")
        assert db.read_bytes().endswith(b"secret history"), w
    finally:
        db.unlink()


def test_check_json_records_the_guards(write_deck):
    proc = subprocess.run([sys.executable, "-m", "quizzer", "check", "--json", str(write_deck(SMALL_DECK))],
                          capture_output=True, text=True, timeout=180, check=False)
    report = json.loads(proc.stdout)
    cpu = report["sandbox"]["cpu"]
    if cpu["off"]:
        assert cpu["off"].startswith("sandbox off: ") and "sandbox off" in proc.stderr
        assert "process group and orphan sweep" in cpu["guards"]
    else:
        assert {"pid namespace", "mount namespace", "network namespace", "no capabilities"} <= set(cpu["guards"])
        assert "sandbox off" not in proc.stderr
