"""Text from decks and snippet runs, made safe to show on a terminal.

A deck title or a snippet's stdout may hold escape sequences (ESC]0;… sets the window title,
ESC[2J clears the screen, OSC 52 writes the clipboard). `visible` shows every control character
except newline and tab as a printable escape, so such text is displayed, never obeyed.
"""

from __future__ import annotations

import re

# C0 controls except \t (0x09) and \n (0x0a), DEL, and the C1 controls (U+0080-U+009F).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def visible(text: str) -> str:
    """`text` with control characters other than newline and tab written as `\\x1b`-style escapes."""
    return _CONTROL.sub(_escape, text)

