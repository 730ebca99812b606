"""docs/coverage.md maps every section of every study note to the cards that cite it.

A card's `source` is "<note title> § <section heading>"; the section is the note's own heading text
with markdown links, backticks, bold, backslash escapes and HTML tags stripped (numbering kept), as
`heading_text` below does. The map has one `## <title>` per note (its file name on the next line)
and one `### <section>` per heading of that note, in the note's order, each followed by a
`cards: deck/id, ...` line or a `none: <why>` line.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest

from quizzer.deck import bundled_deck_dir, load_decks

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "coverage.md"
# The notes live beside the checkout (../shared/notes from the repo root); QUIZZER_NOTES_DIR points
# elsewhere, e.g. from a worktree whose parent folder has no shared/.
NOTES_DIR = Path(os.environ.get("QUIZZER_NOTES_DIR") or Path(__file__).resolve().parents[2] / "shared" / "notes")
TITLES = {
    "000_c36d55c556e7abde.txt": "PyTorch catalogue notes",
    "001_e4c80e29ab2cf001.txt": "PyTorch and Python Q&A notes",
    "002_c5d5ce7bd9dc5a25.txt": "PyTorch study notes (60-minute blitz)",
    "003_a694254399029284.txt": "PyTorch basics (Dive into Deep Learning)",
    "004_a641f4cafd2fa1a2.txt": "PyTorch experience",
}

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)")
_CODE = re.compile(r"(`+)(.*?)\1")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def heading_text(raw: str) -> str:
    """A heading as cards cite it: links -> their text, code spans -> their content, **bold** ->
    its text, backslash escapes and HTML tags dropped, runs of spaces collapsed. Code span
    contents are kept literally (so `**kwarg` inside backticks stays `**kwarg`)."""
    text = _LINK.sub(r"\1", raw)
    out = []
    pos = 0
    for m in _CODE.finditer(text):
        out.append(_plain(text[pos:m.start()]))
        out.append(m.group(2))
        pos = m.end()
    out.append(_plain(text[pos:]))
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _plain(text: str) -> str:
    text = _BOLD.sub(r"\1", text)
    text = _TAG.sub("", text)
    return _ESCAPE.sub(r"\1", text)


def note_headings(path: Path) -> list[tuple[int, int, str]]:
    """(line number, level, heading text) of every heading of a note, outside fenced code blocks."""
    found = []
    fence: str | None = None
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = _FENCE.match(line)
        if m:
            mark = m.group(1)
            if fence is None:
                fence = mark
            elif mark[0] == fence[0] and len(mark) >= len(fence) and not line.strip()[len(mark):].strip():
                fence = None
            continue
        if fence is None and (h := _HEADING.match(line)):
            found.append((n, len(h.group(1)), heading_text(h.group(2))))
    return found


def parse_map(text: str) -> dict[str, dict]:
    """{title: {"file": name, "sections": [(heading, kind, value)]}} where kind is "cards" (value: list
    of "deck/id") or "none" (value: the reason); a section without either line has kind None."""
    notes: dict[str, dict] = {}
    note = section = None
    for line in text.splitlines():
        if line.startswith("## "):
            note = notes.setdefault(line[3:].strip(), {"file": None, "sections": []})
            section = None
        elif note is not None and note["file"] is None and (m := re.search(r"`(\d{3}_[0-9a-f]+\.txt)`", line)):
            note["file"] = m.group(1)
        elif line.startswith("### "):
            assert note is not None, f"section before any note: {line}"
            section = [line[4:].strip(), None, None]
            note["sections"].append(section)
        elif section is not None and (m := re.match(r"(cards|none):\s*(.*)$", line)):
            assert section[1] is None, f"section {section[0]!r} has two cards:/none: lines"
            kind, value = m.group(1), m.group(2).strip()
            section[1] = kind
            section[2] = [v.strip() for v in value.split(",") if v.strip()] if kind == "cards" else value
    # a `##` with neither a file nor sections (the closing summary table) is not a note
    return {t: {"file": n["file"], "sections": [tuple(s) for s in n["sections"]]}
            for t, n in notes.items() if n["file"] or n["sections"]}


MAPPED = parse_map(MAP.read_text(encoding="utf-8"))
CARDS = {f"{d.id}/{c.id}": c for d in load_decks([bundled_deck_dir()]) for c in d.cards}


def test_map_names_every_note_by_title_and_file():
    assert {t: n["file"] for t, n in MAPPED.items()} == {t: f for f, t in TITLES.items()}


def test_every_card_source_names_a_mapped_section():
    sections = {(t, s[0]) for t, n in MAPPED.items() for s in n["sections"]}
    bad = []
    for key, card in CARDS.items():
        title, sep, section = card.source.partition(" § ")
        if not sep or (title, section) not in sections:
            bad.append(f"{key}: {card.source!r}")
    assert not bad, "sources that name no section of the map:\n" + "\n".join(bad)


def test_every_listed_card_exists_and_cites_its_section():
    bad = []
    for title, note in MAPPED.items():
        for heading, kind, value in note["sections"]:
            for key in value if kind == "cards" else ():
                if key not in CARDS:
                    bad.append(f"{key} (under {heading!r}) is no card")
                elif CARDS[key].source != f"{title} § {heading}":
                    bad.append(f"{key} is listed under {heading!r} but cites {CARDS[key].source!r}")
    assert not bad, "\n".join(bad)


def test_every_card_is_listed_exactly_once():
    listed = Counter(k for n in MAPPED.values() for _, kind, v in n["sections"] if kind == "cards" for k in v)
    assert {k for k, c in listed.items() if c > 1} == set()
    assert set(CARDS) - set(listed) == set()


def test_every_section_has_cards_or_a_reason():
    bad = [f"{t} § {h}" for t, n in MAPPED.items() for h, kind, v in n["sections"] if not kind or not v]
    assert not bad, "sections with neither a cards: list nor a none: reason: " + ", ".join(bad)


@pytest.mark.parametrize("name", sorted(TITLES))
def test_every_heading_of_the_note_is_in_the_map(name):
    if not NOTES_DIR.is_dir():
        pytest.skip(f"the study notes are not at {NOTES_DIR} (they live outside the repository)")
    path = NOTES_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    headings = [h for _, _, h in note_headings(path)]
    assert [s[0] for s in MAPPED[TITLES[name]]["sections"]] == headings


def test_heading_text_strips_markup_but_keeps_code_and_numbering():
    assert heading_text("1. [自动求导机制](https://x/y)") == "1. 自动求导机制"
    assert heading_text("3. `zero_grad()`") == "3. zero_grad()"
    assert heading_text(r"[python中类的**\__call__()**方法](https://x)") == "python中类的__call__()方法"
    assert heading_text("[函数申明中 `def foo(*args, **kwarg)`:（*，**作用）](u)") == "函数申明中 def foo(*args, **kwarg):（*，**作用）"
    assert heading_text('<p align="center"> Catalogs </p>') == "Catalogs"
    assert heading_text("6. [pytorch源代码理解一](https://x/)</br>") == "6. pytorch源代码理解一"
    assert heading_text("4.3 In - place 语义   ") == "4.3 In - place 语义"


def test_hash_comments_in_code_blocks_are_not_headings(tmp_path):
    note = tmp_path / "n.txt"
    note.write_text("# Title\n```py\n# adds x to y\n```\n  ```python\n  # indented fence\n  ```\n## Real\n", encoding="utf-8")
    assert note_headings(note) == [(1, 1, "Title"), (8, 2, "Real")]
