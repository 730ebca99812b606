"""The errors the command line reports as one line (exit 1), never as a traceback.

Their homes (decks, the store, the worker's client) raise them; `cli.main` catches the family
without importing those homes, so a command only loads what it uses.
"""

from __future__ import annotations


class QuizzerError(Exception):
    """A problem whose message is the whole story: what, where (file/line or path) and the fix."""
