"""Command line: `quizzer study | add-deck | stats | check`. A thin layer over the core modules."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .deck import DeckError, load_decks, requires_problem
from .library import open_library
from .runner import Runner, WorkerFailed, database_files
from .store import StoreError, default_db_path, study_day
from .terminal_text import visible


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quizzer", description="Learn PyTorch's sharp edges: predict what a snippet does, then see it run.")
    parser.add_argument("--version", action="version", version=f"quizzer {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="PATH", help=f"database file (default: $QUIZZER_DB or {default_db_path()})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    study = sub.add_parser("study", parents=[common], help="study the cards that are due (the main job)")
    study.add_argument("--deck", action="append", metavar="ID", help="only this deck (repeatable)")
    study.add_argument("--new", type=int, default=20, metavar="N", help="new cards per day (default 20)")
    study.add_argument("--limit", type=int, metavar="N", help="stop after N cards")
    study.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), help="where snippets run (default: $QUIZZER_DEVICE or auto)")

    add = sub.add_parser("add-deck", parents=[common], help="import or update deck files")
    add.add_argument("paths", nargs="+", metavar="PATH", help="deck files or directories of them")
    add.add_argument("--no-check", action="store_true", help="import without running the cards first")

    check = sub.add_parser("check", parents=[common], help="run every card and report broken ones")
    check.add_argument("targets", nargs="*", metavar="PATH|DECK", help="deck files, directories or deck ids (default: the bundled decks)")
    check.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps", "all"),
                       help="where to run: one device, or 'all' for the CPU and the accelerator side by side")
    check.add_argument("--json", action="store_true", help="print JSON for scripts")

    stats = sub.add_parser("stats", parents=[common], help="progress per deck, due forecast, weakest topics")
    stats.add_argument("--json", action="store_true", help="print JSON for scripts (everything, heatmap included)")
    stats.add_argument("--tui", action="store_true", help="open the stats screen (heatmap, forecast, weakest topics)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["study", *(argv or [])])
    try:
        return COMMANDS[args.command](args)
    except (DeckError, StoreError, WorkerFailed) as exc:
        print(visible(str(exc)), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def cmd_study(args: argparse.Namespace) -> int:
    from .session import StudySession

    with open_library(args.db) as store:
        unknown = [d for d in args.deck or [] if d not in store.deck_titles()]
        if unknown:
            raise StoreError(f"no deck {', '.join(map(repr, unknown))}; known decks: {', '.join(store.deck_titles())}")
        session = StudySession(store, args.deck, new_limit=args.new, limit=args.limit)
        if not sys.stdout.isatty():  # scripts and pipes get the queue as text, not a TUI
            counts = session.counts()
            print(f"{counts['review']} due, {counts['new']} new today")
            for item in session.queue:
                print(visible(f"  {item.state.card.deck_id}/{item.state.card.id}: {item.state.card.question}"))
            return 0
        from .tui.app import QuizzerApp

        QuizzerApp(store, session, device=args.device).run()
    return 0


def cmd_add_deck(args: argparse.Namespace) -> int:
    from .check import check_cards

    decks = load_decks([Path(p) for p in args.paths])
    if not args.no_check:
        cards = [c for d in decks for c in d.cards]
        db = Path(args.db).expanduser().resolve() if args.db else None
        with Runner(hide=[str(p) for p in (db.parent, *database_files(db))] if db else []) as runner:
            bad = [r for r in check_cards(cards, {runner.wait_ready().device: runner}) if not r.ok]
        if bad:
            paths = {d.id: d.path for d in decks}
            for r in bad:
                for flag in r.flags:
                    print(visible(f"{paths[r.card.deck_id]}:{r.card.line}: card '{r.card.id}': {flag}"), file=sys.stderr)
            print(f"nothing imported: fix the {len(bad)} card(s) above, or pass --no-check", file=sys.stderr)
            return 1
    with open_library(args.db) as store:
        reports = store.import_decks(decks)
    for r in reports:
        print(visible(f"{r.deck_id}: {len(r.added)} added, {len(r.updated)} updated, {len(r.unchanged)} unchanged, {len(r.removed)} removed"))
        if r.code_changed:
            print(visible(f"  code changed (history kept, worth a fresh look): {', '.join(r.code_changed)}"))
        if r.removed:
            print(visible(f"  removed (history kept): {', '.join(r.removed)}"))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check_cards

    decks = _resolve_targets(args)
    runners = _runners(args.device)
    try:
        labels = {name: r.wait_ready().device_label for name, r in runners.items()}
        sandbox = {name: {"off": r.sandbox_off, "guards": list(r.info.guards)} for name, r in runners.items()}
        for off in sorted({r.sandbox_off for r in runners.values()} - {""}):
            print(off, file=sys.stderr)
        for deck in decks:
            for runner in runners.values():
                problem = requires_problem(deck, runner.info.torch_version)
                if problem:
                    print(visible(f"warning: {problem}"), file=sys.stderr)
        cards = [c for d in decks for c in d.cards]
        paths = {d.id: d.path for d in decks}

        def progress(report):
            if args.json:
                return
            mark = "ok  " if report.ok else "FAIL"
            outcomes = "  ".join(f"[{d}] {o.describe().splitlines()[0][:70]}" for d, o in report.outcomes.items())
            print(visible(f"{mark} {report.card.deck_id}/{report.card.id}  {outcomes or '(recall: not run)'}"))
            for flag in report.flags:
                print(visible(f"     {paths[report.card.deck_id]}:{report.card.line}: {flag}"))

        reports = check_cards(cards, runners, progress)
    finally:
        for r in runners.values():
            r.close()
    failed = [r for r in reports if not r.ok]
    if args.json:
        print(json.dumps({"devices": labels, "sandbox": sandbox, "cards": [r.to_json() for r in reports], "failed": len(failed)}, indent=2))
    else:
        ran = sum(1 for r in reports if r.outcomes)
        print(f"\n{len(reports)} cards ({ran} run on {', '.join(labels.values())}): {len(reports) - len(failed)} ok, {len(failed)} flagged")
    return 1 if failed else 0


def _runners(device: str) -> dict[str, Runner]:
    if device != "all":
        runner = Runner(device)
        return {runner.wait_ready().device: runner}
    runners = {"cpu": Runner("cpu")}
    accelerator = Runner("auto")
    info = accelerator.wait_ready()
    if info.device == "cpu":
        accelerator.close()
        print("no accelerator found: checking on the CPU only", file=sys.stderr)
    else:
        runners[info.device] = accelerator
    return runners


def _resolve_targets(args: argparse.Namespace) -> list:
    from .deck import bundled_deck_dir

    if not args.targets:
        return load_decks([bundled_deck_dir()])
    paths = [t for t in args.targets if Path(t).exists()]
    ids = [t for t in args.targets if not Path(t).exists()]
    decks = load_decks(paths) if paths else []
    if ids:
        with open_library(args.db) as store:
            known = set(store.deck_titles())
            missing = [i for i in ids if i not in known]
            if missing:
                raise StoreError(f"no deck file or deck id {', '.join(map(repr, missing))}; give a path or one of: {', '.join(sorted(known))}")
            decks += store.decks(ids)
    return decks


def cmd_stats(args: argparse.Namespace) -> int:
    from .session import format_duration
    from .stats import WEAK_MIN_REVIEWS, dashboard

    with open_library(args.db) as store:
        if args.tui:
            from .session import StudySession
            from .tui.app import QuizzerApp

            QuizzerApp(store, StudySession(store), start="stats").run()
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
    columns = ("deck", "cards", "new", "due_today", "learning", "mature", "reviews", "retention_30d")
    for col in columns:
        table.add_column(col.replace("_", " "), justify="left" if col == "deck" else "right")
    for d in decks:
        retention = "–" if d["retention_30d"] is None else f"{d['retention_30d']:.0%}"
        table.add_row(visible(str(d["deck"])), *(str(d[c]) for c in columns[1:-1]), retention)
    console.print(table)

    console.print(f"today: {dash.reviews_today} review{'s' * (dash.reviews_today != 1)} in "
                  f"{format_duration(dash.seconds_today)} · all time: {dash.reviews_total:,} in {format_duration(dash.seconds_total)}")
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
        console.print(f"weakest topics: none yet (a tag needs {WEAK_MIN_REVIEWS} reviews in the last 30 days)")
    return 0


def _sparkline(values: list[int]) -> str:
    bars = " ▁▂▃▄▅▆▇█"
    top = max(values, default=0)
    if not top:
        return "▁" * len(values) + " (nothing due)"
    return "".join(bars[0 if v == 0 else max(1, round(v / top * (len(bars) - 1)))] for v in values) + f" (max {top}/day)"


COMMANDS = {"study": cmd_study, "add-deck": cmd_add_deck, "stats": cmd_stats, "check": cmd_check}
