"""Settings read from the environment, checked once: a bad value is refused, never read as a default.

Each reader raises SettingError with one line that names the variable, the value and what is
accepted, so that the CLI can print it and exit 2 instead of silently studying on midnight.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DAY_STARTS_AT = "QUIZZER_DAY_STARTS_AT"
MAX_INTERVAL = "QUIZZER_MAX_INTERVAL"
DEVICE = "QUIZZER_DEVICE"
DEFAULT_MAX_INTERVAL = 36_500  # 100 years: longer than anyone studies, far from date overflow
MAX_INTERVAL_CEILING = 100_000  # date arithmetic stays inside Python's date range from any real day


class SettingError(ValueError):
    """A setting whose value is not accepted; the message is one line for the learner."""


def day_start_hour(environ: Mapping[str, str] | None = None) -> int:
    """Hour (0-23) at which a study day begins; QUIZZER_DAY_STARTS_AT, default 0 = local midnight."""
    return _integer(environ, DAY_STARTS_AT, default=0, low=0, high=23,
                    accepted="a whole hour from 0 to 23, e.g. 4 for 4 am")


def max_interval(environ: Mapping[str, str] | None = None) -> int:
    """The longest interval the scheduler may set, in days; QUIZZER_MAX_INTERVAL, default 36,500."""
    return _integer(environ, MAX_INTERVAL, default=DEFAULT_MAX_INTERVAL, low=1, high=MAX_INTERVAL_CEILING,
                    accepted=f"a whole number of days from 1 to {MAX_INTERVAL_CEILING}, e.g. 365")


def default_device(environ: Mapping[str, str] | None = None) -> str:
    """Where snippets run unless --device says: QUIZZER_DEVICE, default auto (CUDA, else MPS, else CPU)."""
    return (os.environ if environ is None else environ).get(DEVICE, "auto") or "auto"


def check_all(environ: Mapping[str, str] | None = None) -> None:
    """Read every setting once so that a bad one is reported before any work starts."""
    day_start_hour(environ)
    max_interval(environ)


def _integer(environ: Mapping[str, str] | None, name: str, *, default: int, low: int, high: int, accepted: str) -> int:
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not (text.isascii() and text.lstrip("+").isdigit()) or not low <= int(text) <= high:
        raise SettingError(f"{name}={raw!r} is not accepted: use {accepted}, or unset it")
    return int(text)
