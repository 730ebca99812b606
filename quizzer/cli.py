"""Command line: `quizzer study | add-deck | stats | check | explain`. A thin layer over the core modules."""

from __future__ import annotations

import argparse
import errno
import gc
import json
import os
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .deck import DeckError, load_decks, requires_problem
from .errors import QuizzerError
from .in_flight import InFlight
from .library import open_library
from .pending import apply_pending
from .settings import SettingError, check_all
from .store import Store, StoreError, default_db_path, store_error, study_day
from .terminal_text import visible

if TYPE_CHECKING:  # the worker's client is imported by the commands that run cards, not at start
    from .runner import Runner

MAX_NEW = 10_000  # new cards a day: more is a typo, and SQLite integers stop at 2**63 anyway
MAX_LIMIT = 100_000


def _count(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, refused with the range otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range: give a number from {low:,} to {high:,}")
        return value
    return parse


def _db_path(text: str) -> Path:
    """An argparse type: a non-empty path (an empty --db is a mistake, not 'the default')."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty: give a database file, or leave out --db for the default")
    return Path(text).expanduser()


def _card_key(text: str) -> tuple[str, str]:
    deck, sep, card = text.partition("/")
    if not (sep and deck and card) or "/" in card:
        raise argparse.ArgumentTypeError(f"{text!r} is not DECK/CARD (e.g. broadcasting/trailing-dims)")
    return deck, card


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quizzer", description="Learn PyTorch's sharp edges: predict what a snippet does, then see it run.")
    parser.add_argument("--version", action="version", version=f"quizzer {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="PATH", type=_db_path,
                        help=f"database file (default: $QUIZZER_DB or {default_db_path()})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    study = sub.add_parser("study", parents=[common], help="study the cards that are due (the main job)")
    study.add_argument("--deck", action="append", metavar="ID", help="only this deck (repeatable)")
    study.add_argument("--new", type=_count(0, MAX_NEW), default=20, metavar="N",
                       help=f"new cards per day, 0 to {MAX_NEW:,} (default 20)")
    study.add_argument("--limit", type=_count(1, MAX_LIMIT), metavar="N",
                       help="stop after N cards shown (repeats of missed cards count)")
    study.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"),
                       help="where snippets run (default: $QUIZZER_DEVICE or auto)")

    add = sub.add_parser("add-deck", parents=[common], help="import or update deck files")
    add.add_argument("paths", nargs="+", metavar="PATH", help="deck files or directories of them")
    add.add_argument("--no-check", action="store_true", help="import without running the cards first")

    check = sub.add_parser("check", parents=[common], help="run every card and report broken ones")
    check.add_argument("targets", nargs="*", metavar="PATH|DECK",
                       help="deck files, directories or deck ids (default: the bundled decks)")
    check.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps", "all"),
                       help="where to run: one device, or 'all' for the CPU and the accelerator side by side")
    check.add_argument("--json", action="store_true", help="print JSON for scripts (also when a deck fails to load)")
    check.add_argument("--strict", action="store_true", help="fail on warnings too (skewed answers, wording)")

    explain = sub.add_parser("explain", parents=[common], help="run one card and show why it does what it does")
    explain.add_argument("card", metavar="DECK/CARD", help="e.g. views/view-on-transposed")
    explain.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"),
                         help="where the snippet runs (default: $QUIZZER_DEVICE or auto)")
    explain.add_argument("--json", action="store_true", help="print the outcome, the why-panel and the trace as JSON")

    stats = sub.add_parser("stats", parents=[common], help="progress per deck, due forecast, weakest topics")
    stats.add_argument("--json", action="store_true", help="print JSON for scripts (everything, heatmap included)")
    stats.add_argument("--tui", action="store_true", help="open the stats screen (heatmap, forecast, weakest topics)")

    for name, text in (("suspend", "keep a card out of study until unsuspended"),
                       ("unsuspend", "bring a suspended card back")):
        cmd = sub.add_parser(name, parents=[common], help=text)
        cmd.add_argument("cards", nargs="+", type=_card_key, metavar="DECK/CARD", help="the card, as deck id/card id")
    return parser


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 is printed escaped, never a crash
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["study", *(argv or [])])
    try:
        check_all()
    except SettingError as exc:  # a bad setting is refused up front, never read as a default
        print(f"quizzer: {exc}", file=sys.stderr)
        return 2
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # here, not at exit, so a closed pipe is met inside the handlers below
        return code
    except QuizzerError as exc:  # decks, the database, the worker: one line each
        return _fail(str(exc))
    except sqlite3.Error as exc:  # met after opening: a damaged page, a full disk mid-write
        return _fail(str(store_error(_db(args), exc)))
    except BrokenPipeError:  # `quizzer check | head -1`: the reader left; say nothing more
        _silence_stdout()
        return 141
    except OSError as exc:  # a deck folder or the database's folder: name it and the fix
        return _fail(_os_message(exc))
    except KeyboardInterrupt:
        return 130


def _fail(message: str) -> int:
    print(visible(message), file=sys.stderr)
    return 1


def _os_message(exc: OSError) -> str:
    where = os.fsdecode(exc.filename) if exc.filename is not None else "a file"
    fixes = {errno.ENOSPC: "free some space and try again", errno.EACCES: "check its permissions",
             errno.EROFS: "it is on a read-only file system", errno.ENOENT: "check the path"}
    fix = fixes.get(exc.errno or 0, "check the path")
    return f"{where}: {exc.strerror or exc}; {fix}"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _db(args: argparse.Namespace) -> Path:
    return args.db or default_db_path()


def _open(args: argparse.Namespace, *, read_only_ok: bool = False) -> Store:
    """Open the library and apply grades saved while the database could not be written."""
    store = open_library(args.db, read_only_ok=read_only_ok)
    if not store.read_only:
        try:
            applied = apply_pending(store)
        except BaseException:
            store.close()
            raise
        for line in applied.describe():
            print(line, file=sys.stderr)
    return store


def cmd_study(args: argparse.Namespace) -> int:
    # Starting up makes tens of thousands of long-lived objects (Textual, Rich, quizzer's modules and
    # screen) and no garbage: collecting while it runs costs ~30 ms of the launch. The app turns
    # collection back on at its first paint, with what start-up made frozen out of later collections
    # (QuizzerApp.on_ready).
    gc.disable()
    try:
        return _study(args)
    finally:
        gc.enable()


def _study(args: argparse.Namespace) -> int:
    from .session import StudySession

    with _open(args) as store:
        unknown = [d for d in args.deck or [] if d not in store.deck_titles()]
        if unknown:
            raise StoreError(f"no deck {', '.join(map(repr, unknown))}; known decks: {', '.join(store.deck_titles())}")
        session = StudySession(store, args.deck, new_limit=args.new, limit=args.limit)
        interactive = sys.stdout.isatty()
        left_over = _left_over_card(store, ask=interactive and sys.stdin.isatty())
        if left_over is not None:  # never run it again before the learner has said so
            session.queue = [item for item in session.queue if item.key != left_over]
        if not interactive:  # scripts and pipes get the queue as text, not a TUI
            counts = session.counts()
            print(f"{counts['review']} due, {counts['new']} new today")
            for item in session.queue:
                print(visible(f"  {item.state.card.deck_id}/{item.state.card.id}: {item.state.card.question}"))
            return 0
        from .tui.app import QuizzerApp

        QuizzerApp(store, session, device=args.device).run()
    return 0


def _left_over_card(store: Store, *, ask: bool) -> tuple[str, str] | None:
    """The card that was running when quizzer last died, after telling the learner (and, on a
    terminal, offering to suspend it). Without a terminal the mark stays for the next real start."""
    marker = InFlight.for_db(store.path)
    key = marker.left_over()
    if key is None:
        return None
    name = "/".join(key)
    print(f"quizzer stopped while running {name} last time; it is left out of this session so it cannot "
          "stop quizzer again.", file=sys.stderr)
    if not ask:
        print(f"  `quizzer suspend {name}` keeps it out for good", file=sys.stderr)
        return key
    try:
        reply = input(f"Suspend {name}? (`quizzer unsuspend {name}` brings it back) [Y/n] ").strip().lower()
    except EOFError:
        reply = "n"
    if reply in ("", "y", "yes"):
        try:
            store.set_suspended(*key, True)
            print(f"suspended {name}", file=sys.stderr)
        except StoreError as exc:  # its deck has dropped it since: nothing to suspend
            print(exc, file=sys.stderr)
    marker.clear()
    return key


def cmd_add_deck(args: argparse.Namespace) -> int:
    from .check import check_cards
    from .runner import Runner, database_files

    decks = load_decks([Path(p) for p in args.paths])
    with _open(args) as store:  # an unusable database is said before the cards are run, not after
        if not args.no_check:
            cards = [c for d in decks for c in d.cards]
            db = Path(args.db).expanduser().resolve() if args.db else default_db_path().resolve()
            with Runner(hide=[str(p) for p in (db.parent, *database_files(db))]) as runner:  # the cards cannot see it
                bad = [r for r in check_cards(cards, {runner.wait_ready().device: runner}) if not r.ok]
            if bad:
                paths = {d.id: d.path for d in decks}
                for r in bad:
                    for flag in r.flags:
                        print(visible(f"{paths[r.card.deck_id]}:{r.card.line}: card '{r.card.id}': {flag}"),
                              file=sys.stderr)
                print(f"nothing imported: fix the {len(bad)} card(s) above, or pass --no-check", file=sys.stderr)
                return 1
        reports = store.import_decks(decks)
    for done in reports:
        print(visible(f"{done.deck_id}: {len(done.added)} added, {len(done.updated)} updated, "
                      f"{len(done.unchanged)} unchanged, {len(done.removed)} removed"))
        if done.code_changed:
            print(visible(f"  code changed (history kept, worth a fresh look): {', '.join(done.code_changed)}"))
        if done.removed:
            print(visible(f"  removed (history kept): {', '.join(done.removed)}"))
    return 0


ALL_DECKS = "all decks"


def cmd_check(args: argparse.Namespace) -> int:
    """Run every card; flags fail the check, warnings advise. With --json, stdout is JSON whatever happens."""
    from .check import check_json

    try:
        return _check(args)
    except QuizzerError as exc:  # decks, the database, the worker: one line each
        if not args.json:
            raise
        problems = exc.problems if isinstance(exc, DeckError) else [_RunError(str(exc))]
        print(exc, file=sys.stderr)
        print(json.dumps(check_json({}, [], [], [p.to_json() for p in problems]), indent=2))
        return 1


def _check(args: argparse.Namespace) -> int:
    from .check import check_json, summarise_decks, total_balance

    decks, errors = _resolve_targets(args)
    for e in errors:  # in both modes: a person watching sees them at once; --json also carries them
        print(visible(str(e)), file=sys.stderr)
    reports: list = []
    labels: dict[str, str] = {}
    sandbox: dict[str, dict] = {}
    notes: dict[str, list[str]] = {d.id: [] for d in decks}
    if decks:
        reports, labels, sandbox = _run_checks(args, decks, notes)
    summaries = summarise_decks(decks, reports, list(labels), notes)
    result = check_json(labels, reports, summaries, [e.to_json() for e in errors])
    result["sandbox"] = sandbox  # which guards were active on each device
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        if summaries:
            width = max(len(ALL_DECKS), *(len(s.deck_id) for s in summaries))
            for device in labels:
                print(f"\nanswer balance on {labels[device]}:")
                for s in summaries:
                    print(f"  {s.deck_id:<{width}}  {s.balance[device].summary()}")
                print(f"  {ALL_DECKS:<{width}}  {total_balance(summaries, device).summary()}")
            for s in summaries:
                for warning in s.warnings:
                    print(visible(f"warning: {s.path}: {warning}"))
        ran = sum(1 for r in reports if r.outcomes)
        n = result["warnings"]
        line = (f"{len(reports)} cards ({ran} run on {', '.join(labels.values()) or 'no device'}): "
                f"{len(reports) - result['failed']} ok, {result['failed']} flagged, {n} warning{'s' * (n != 1)}")
        if errors:
            line += f"; {len(errors)} problem{'s' * (len(errors) != 1)} stopped decks from loading or running (above)"
        print(f"\n{line}")
    return 1 if errors or result["failed"] or (args.strict and result["warnings"]) else 0


def _run_checks(args: argparse.Namespace, decks: list,
                notes: dict[str, list[str]]) -> tuple[list, dict[str, str], dict[str, dict]]:
    """Check every card of `decks` on the chosen devices, printing progress unless --json."""
    from .check import check_cards

    paths = {d.id: d.path for d in decks}

    def progress(report):
        if args.json:
            return
        mark = "FAIL" if report.flags else "warn" if report.warnings else "ok  "
        outcomes = "  ".join(f"[{d}] {o.describe().splitlines()[0][:70]}" for d, o in report.outcomes.items())
        print(visible(f"{mark} {report.card.deck_id}/{report.card.id}  {outcomes or '(recall: not run)'}"))
        where = f"{paths[report.card.deck_id]}:{report.card.line}"
        for flag in report.flags:
            print(visible(f"     {where}: {flag}"))
        for warning in report.warnings:
            print(visible(f"     {where}: warning: {warning}"))

    runners = _runners(args.device, quiet=args.json)
    try:
        labels = {name: r.wait_ready().device_label for name, r in runners.items()}
        sandbox = {name: {"off": r.sandbox_off, "guards": list(r.info.guards)} for name, r in runners.items()}
        for off in sorted({r.sandbox_off for r in runners.values()} - {""}):
            print(off, file=sys.stderr)
        for deck in decks:
            for runner in runners.values():
                problem = requires_problem(deck, runner.info.torch_version)
                if problem:
                    notes[deck.id].append(problem)
        return check_cards([c for d in decks for c in d.cards], runners, progress), labels, sandbox
    finally:
        for r in runners.values():
            r.close()


@dataclass(frozen=True)
class _RunError:
    """A problem with no file or line (an unknown deck id, a worker that will not start)."""

    message: str

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict:
        return {"file": None, "line": None, "message": self.message}


def _runners(device: str, quiet: bool = False) -> dict[str, Runner]:
    from .runner import Runner

    if device != "all":
        runner = Runner(device)
        return {runner.wait_ready().device: runner}
    runners = {"cpu": Runner("cpu")}
    accelerator = Runner("auto")
    info = accelerator.wait_ready()
    if info.device == "cpu":
        accelerator.close()
        if not quiet:
            print("no accelerator found: checking on the CPU only", file=sys.stderr)
    else:
        runners[info.device] = accelerator
    return runners


def _resolve_targets(args: argparse.Namespace) -> tuple[list, list]:
    """The decks that load, and the problems that kept the others out (DeckProblem or _RunError)."""
    from .deck import bundled_deck_dir, load_decks_and_problems

    if not args.targets:
        decks, problems = load_decks_and_problems([bundled_deck_dir()])
        return decks, list(problems)
    paths = [t for t in args.targets if Path(t).exists()]
    ids = [t for t in args.targets if not Path(t).exists()]
    decks, problems = load_decks_and_problems(paths) if paths else ([], [])
    errors: list = list(problems)
    if ids:
        try:
            with _open(args, read_only_ok=True) as store:
                known = set(store.deck_titles())
                missing = [i for i in ids if i not in known]
                if missing:
                    errors.append(_RunError(f"no deck file or deck id {', '.join(map(repr, missing))}; "
                                            "give a path or one of: "
                                            f"{', '.join(sorted(known)) or '(no decks imported yet)'}"))
                decks += store.decks([i for i in ids if i in known])
        except StoreError as exc:
            errors.append(_RunError(str(exc)))
    return decks, errors


def cmd_stats(args: argparse.Namespace) -> int:
    from .session import format_duration
    from .stats import dashboard

    with _open(args, read_only_ok=args.json or not args.tui) as store:
        if args.tui:
            from .session import StudySession
            from .tui.app import QuizzerApp, Start

            QuizzerApp(store, StudySession(store), start=Start.STATS).run()
            return 0
        today = study_day()
        decks = store.deck_stats(today)
        dash = dashboard(store, today)
    streak = dash.streak
    if args.json:
        print(json.dumps({"today": today.isoformat(), "streak": streak, "decks": decks, "dashboard": dash.to_json()},
                         indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"quizzer · {today.isoformat()} · streak {streak} day{'s' * (streak != 1)}")
    columns = ("deck", "cards", "new", "due_today", "learning", "mature", "suspended", "reviews", "retention_30d")
    for col in columns:
        table.add_column(col.replace("_", " "), justify="left" if col == "deck" else "right")
    for d in decks:
        retention = "–" if d["retention_30d"] is None else f"{d['retention_30d']:.0%}"
        table.add_row(visible(str(d["deck"])), *(str(d[c]) for c in columns[1:-1]), retention)
    console.print(table)
    if store.read_only:
        print(f"(read-only: {store.path} cannot be written, so it was read as it is)", file=sys.stderr)

    console.print(f"today: {dash.reviews_today} review{'s' * (dash.reviews_today != 1)} in "
                  f"{format_duration(dash.seconds_today)} · all time: {dash.reviews_total:,} in "
                  f"{format_duration(dash.seconds_total)}")
    week = dash.forecast[:7]
    forecast = Table(title="due in the next 7 days", title_justify="left")
    for i, (day, _) in enumerate(week):
        forecast.add_column("today" if i == 0 else day.strftime("%a %d"), justify="right")
    forecast.add_column("30 days", justify="right")
    forecast.add_row(*(str(n) for _, n in week), str(sum(n for _, n in dash.forecast)))
    console.print(forecast)
    console.print(f"next 30 days: {_sparkline([n for _, n in dash.forecast])}", highlight=False)

    if dash.weakest_topics:
        weak = Table(title="weakest topics (last 30 days)", title_justify="left")
        for col in ("tag", "accuracy", "right", "reviews"):
            weak.add_column(col, justify="left" if col == "tag" else "right")
        for r in dash.weakest_topics:
            weak.add_row(visible(r.key), f"{r.retention:.0%}", str(r.right), str(r.total))
        console.print(weak)
    else:
        console.print("weakest topics: none (no topic has a wrong answer in the last 30 days)")
    return 0


def _sparkline(values: list[int]) -> str:
    bars = " ▁▂▃▄▅▆▇█"
    top = max(values, default=0)
    if not top:
        return "▁" * len(values) + " (nothing due)"
    return ("".join(bars[0 if v == 0 else max(1, round(v / top * (len(bars) - 1)))] for v in values)
            + f" (max {top}/day)")


def cmd_suspend(args: argparse.Namespace) -> int:
    """`quizzer suspend|unsuspend DECK/CARD...`: all named cards must exist, else nothing changes."""
    suspend = args.command == "suspend"
    with _open(args) as store:
        for key in args.cards:  # check every id first: one typo changes nothing
            store.require_card(*key)
        for key in args.cards:
            changed = store.set_suspended(key[0], key[1], suspend)
            state = "suspended" if suspend else "back in study"
            print(f"{'/'.join(key)}: {state}" + ("" if changed else " (it already was)"))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    """Run one card with a trace and print its outcome and why-panel: the verdict's 'why', without studying."""
    from dataclasses import asdict

    from rich.console import Console
    from rich.syntax import Syntax
    from rich.text import Text

    from .runner import Runner
    from .why import build, render

    deck_id, _, card_id = args.card.partition("/")
    if not deck_id or not card_id:
        raise StoreError(f"'{args.card}' is not DECK/CARD; give e.g. views/view-on-transposed")
    with _open(args, read_only_ok=True) as store:
        decks = store.decks([deck_id])
        if not decks:
            raise StoreError(f"no deck '{deck_id}'; known decks: {', '.join(store.deck_titles())}")
    card = next((c for c in decks[0].cards if c.id == card_id), None)
    if card is None:
        raise StoreError(f"no card '{card_id}' in deck '{deck_id}'; "
                         f"its cards: {', '.join(c.id for c in decks[0].cards)}")
    if not card.executable:
        raise StoreError(f"'{args.card}' is a recall card: it has no snippet to run")
    with Runner(card.device or args.device) as runner:
        runner.wait_ready()
        outcome = runner.run(card, trace=True)
    why = build(outcome.trace)
    if args.json:
        print(json.dumps({"card": args.card, "device": outcome.device,
                          "outcome": {k: v for k, v in asdict(outcome).items() if k not in ("trace", "round_trip")},
                          "why": why.to_json() if why else None, "trace": outcome.trace}, indent=2, default=str))
        return 0
    console = Console(width=min(Console().width, 100))
    console.print(Text(f"{args.card} · {card.question}", style="bold"))
    console.print(Syntax(card.code.rstrip() + (f"\n# ask:\n{card.ask}" if card.ask else ""), "python",
                         theme="ansi_dark"))
    console.print(Text(f"the run ({outcome.device}): ", style="bold") + Text(outcome.describe()))
    console.print(render(why))
    if card.explain:
        console.print(Text(card.explain, style="dim"))
    return 0


COMMANDS = {"study": cmd_study, "add-deck": cmd_add_deck, "stats": cmd_stats, "check": cmd_check,
            "explain": cmd_explain, "suspend": cmd_suspend, "unsuspend": cmd_suspend}
