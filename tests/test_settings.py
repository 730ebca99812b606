"""Settings and limits: a bad value is refused with one line and exit status 2, never read as a default."""

from __future__ import annotations

from datetime import date

import pytest

from quizzer.cli import main
from quizzer.deck import parse_deck
from quizzer.session import StudySession
from quizzer.settings import SettingError, check_all, day_start_hour, max_interval
from quizzer.store import Store

from .conftest import SMALL_DECK


@pytest.mark.parametrize("name, value", [
    ("QUIZZER_DAY_STARTS_AT", "4.5"), ("QUIZZER_DAY_STARTS_AT", "24"), ("QUIZZER_DAY_STARTS_AT", "-1"),
    ("QUIZZER_DAY_STARTS_AT", "four"), ("QUIZZER_MAX_INTERVAL", "0"), ("QUIZZER_MAX_INTERVAL", "1e5"),
    ("QUIZZER_MAX_INTERVAL", "100001")])
def test_cli_refuses_a_bad_setting_with_one_line_and_exit_2(tmp_path, capsys, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    assert main(["stats", "--db", str(tmp_path / "q.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"quizzer: {name}='{value}' is not accepted: use ")
    assert "Traceback" not in err and not (tmp_path / "q.db").exists()  # refused before any work


def test_good_settings_are_read_as_given(monkeypatch, tmp_path):
    env = {"QUIZZER_DAY_STARTS_AT": "4", "QUIZZER_MAX_INTERVAL": "365"}
    assert (day_start_hour(env), max_interval(env)) == (4, 365)
    assert (day_start_hour({}), max_interval({})) == (0, 36_500)
    check_all(env)
    with pytest.raises(SettingError):
        check_all({"QUIZZER_MAX_INTERVAL": "forever"})
    monkeypatch.setenv("QUIZZER_MAX_INTERVAL", "10")
    with Store(tmp_path / "q.db") as store:
        store.import_decks([parse_deck(SMALL_DECK.encode(), "small.yaml")])
        store.db.execute("UPDATE cards SET due = '2026-03-02', interval = 8, repetitions = 4, last_day = '2026-02-22'")
        session = StudySession(store, day=date(2026, 3, 2))
        assert session.max_interval == 10 and [o.interval for o in session.options(True)] == ["10d"] * 3
