"""Deck files: parse, validate and describe cards.

Parsing works on YAML *nodes* rather than constructed objects so that every error can name the
line it comes from, and so that aliases and non-standard tags are refused before anything is built.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .answers import Unparsed
from .errors import QuizzerError
from .kinds import Kind, parse_answer
from .kinds import spec as kind_spec
from .terminal_text import visible

if TYPE_CHECKING:
    import yaml  # noqa: TC004 - at run time _load_yaml imports it on first parse, off the start-up path

KINDS = tuple(Kind)  # what each kind means lives in kinds.py
MAX_FILE_BYTES = 1 << 20
MAX_STRING = 10_000
MAX_DEPTH = 32  # nesting of lists and mappings; libyaml's composer recurses in C and segfaults on ~30,000
MAX_TIMEOUT = 60.0
DEFAULT_TIMEOUT = 5.0
NESTING_MESSAGE = (f"lists and mappings are nested more than {MAX_DEPTH} deep; a deck needs about 4, "
                   "so flatten the data here")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# letters, digits, '_', '-', '.'; starts and ends with a letter or digit
TAG = re.compile(r"^[^\W_](?:[\w.-]*[^\W_])?$")

DECK_FIELDS = {"id", "title", "description", "requires", "cards"}
CARD_FIELDS = {
    "id", "kind", "question", "code", "ask", "choices", "answer", "explain", "tags",
    "source", "expect", "device", "timeout",
}
_PLAIN_TAGS = {
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "seq", "map")
}


def normalise_tag(tag: str) -> str:
    """One spelling per topic: `zero_grad`, `Zero-Grad` and `zero-grad` are the same tag in stats."""
    return tag.strip().lower().replace("_", "-")


_Loader: Any  # set by _load_yaml: libyaml's loader where PyYAML was built with it
_SCALARS: Any  # set by _load_yaml: reads a scalar node as YAML's safe types


def _load_yaml() -> None:
    """Import PyYAML on first parse: `quizzer study` usually parses nothing and starts faster."""
    global yaml, _Loader, _SCALARS
    if "_SCALARS" in globals():
        return
    import yaml

    try:  # libyaml is ~10x faster; fall back to the pure-Python loader where it is missing.
        from yaml import CSafeLoader as _Loader
    except ImportError:  # pragma: no cover - depends on how PyYAML was built
        from yaml import SafeLoader as _Loader  # type: ignore[assignment]
    _SCALARS = yaml.constructor.SafeConstructor()


@dataclass(frozen=True)
class Card:
    deck_id: str
    id: str
    kind: str
    question: str
    code: str = ""
    ask: str | None = None
    choices: tuple[str, ...] = ()
    answer: str | None = None
    explain: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""
    expect: str | dict[str, str] | None = None
    device: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    line: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.deck_id, self.id)

    @property
    def executable(self) -> bool:
        return kind_spec(self.kind).runs

    @property
    def code_hash(self) -> str:
        """Hash of what decides the truth; when it changes the learner's history may be stale."""
        return _digest([self.kind, self.code, self.ask, list(self.choices), self.device])

    @property
    def content_hash(self) -> str:
        return _digest(self.to_dict())

    def expect_for(self, device_type: str) -> str | None:
        if isinstance(self.expect, dict):
            return self.expect.get(device_type)
        return self.expect

    def to_dict(self) -> dict[str, Any]:
        """The card as stored (JSON), without deck id and line: both are context, not content."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "question": self.question}
        for name in ("code", "ask", "answer", "explain", "source", "expect", "device"):
            value = getattr(self, name)
            if value not in (None, ""):
                out[name] = value
        if self.choices:
            out["choices"] = list(self.choices)
        if self.tags:
            out["tags"] = list(self.tags)
        if self.timeout != DEFAULT_TIMEOUT:
            out["timeout"] = self.timeout
        return out

    @classmethod
    def from_dict(cls, deck_id: str, data: dict[str, Any]) -> Card:
        data = dict(data)
        data["choices"] = tuple(data.get("choices", ()))
        data["tags"] = tuple(data.get("tags", ()))
        return cls(deck_id=deck_id, **data)


@dataclass(frozen=True)
class Deck:
    id: str
    title: str
    description: str
    cards: tuple[Card, ...]
    requires: str | None = None
    path: str = ""
    source_hash: str = ""

    def card(self, card_id: str) -> Card:
        return next(c for c in self.cards if c.id == card_id)


@dataclass(frozen=True)
class DeckProblem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return _visible(f"{self.path}:{self.line}: {self.message}")

    def to_json(self) -> dict[str, Any]:
        """The shape scripts get from `quizzer check --json`: {"file", "line", "message"}."""
        return {"file": self.path, "line": self.line, "message": _visible(self.message)}


def _visible(text: str) -> str:
    """Escape newlines, bidi overrides and zero-width characters: one problem stays one honest line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class DeckError(QuizzerError):
    """One or more problems in deck files; str() is one line per problem."""

    def __init__(self, problems: list[DeckProblem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def _digest(obj: Any) -> str:
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def load_deck(path: str | Path) -> Deck:
    """Read and validate one deck file, raising DeckError with every problem found."""
    path = Path(path)
    name = str(path)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO or /dev/zero would block or never end
            raise DeckError([DeckProblem(name, 0, "not a regular file; give the path of a .yaml deck file")])
        size = info.st_size
        if size <= MAX_FILE_BYTES:
            with path.open("rb") as f:  # read at most one byte past the cap: the file may grow after stat
                raw = f.read(MAX_FILE_BYTES + 1)
            size = max(size, len(raw))
    except OSError as exc:
        raise DeckError([DeckProblem(name, 0, f"cannot read the file ({exc.strerror}); check the path")]) from exc
    if size > MAX_FILE_BYTES:
        raise DeckError([DeckProblem(
            name, 1, f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit; split it into smaller decks")])
    return parse_deck(raw, name)


def load_decks(paths: list[str | Path]) -> list[Deck]:
    """Load many files (directories are searched for *.yaml / *.yml), raising DeckError with all problems."""
    decks, problems = load_decks_and_problems(paths)
    if problems:
        raise DeckError(problems)
    return decks


def load_decks_and_problems(paths: list[str | Path]) -> tuple[list[Deck], list[DeckProblem]]:
    """The decks that load, and every problem of those that do not: `quizzer check` reports both."""
    files: list[Path] = []
    for p in map(Path, paths):
        files.extend(sorted([*p.glob("*.yaml"), *p.glob("*.yml")]) if p.is_dir() else [p])
    decks: list[Deck] = []
    problems: list[DeckProblem] = []
    for f in files:
        try:
            decks.append(load_deck(f))
        except DeckError as exc:
            problems.extend(exc.problems)
    seen: dict[str, str] = {}
    unique: list[Deck] = []
    for d in decks:
        if d.id in seen:
            problems.append(DeckProblem(
                d.path, 1, f"deck id '{d.id}' is also used by {seen[d.id]}; give one of them another id"))
        else:
            seen[d.id] = d.path
            unique.append(d)
    return unique, problems


def parse_deck(raw: bytes, name: str = "<deck>") -> Deck:
    _load_yaml()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DeckError([DeckProblem(
            name, line, f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8")]) from exc
    root = _compose(text, name)
    return _Validator(name).deck(root, hashlib.sha256(raw).hexdigest()[:16])


def _compose(text: str, name: str) -> yaml.Node | None:
    try:
        depth = 0
        for event in yaml.parse(text, Loader=_Loader):  # the parser streams; only compose() recurses
            if isinstance(event, yaml.AliasEvent):
                raise DeckError([DeckProblem(
                    name, event.start_mark.line + 1 if event.start_mark else 1,
                    f"YAML alias '*{event.anchor}' is not allowed in decks; write the value out in full")])
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise DeckError([DeckProblem(name, event.start_mark.line + 1 if event.start_mark else 1,
                                                 NESTING_MESSAGE)])
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
        return yaml.compose(text, Loader=_Loader)
    except yaml.reader.ReaderError as exc:  # its str() spans lines and names no line
        line = text[: exc.position].count("\n") + 1
        what = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise DeckError([DeckProblem(
            name, line, f"character {what} is not allowed in YAML ({exc.reason}); remove it")]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or exc.context or "malformed YAML"
        if "nesting depth" in what:  # PyYAML >= 6.0.4: libyaml refuses deep nesting before quizzer's own check sees it
            raise DeckError([DeckProblem(name, line, NESTING_MESSAGE)]) from exc
        raise DeckError([DeckProblem(name, line, f"malformed YAML: {what}; check indentation and quoting")]) from exc
    except yaml.YAMLError as exc:
        raise DeckError([DeckProblem(name, 1, f"malformed YAML ({exc}); check the file is YAML")]) from exc


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _type_name(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return {"int": "a number", "float": "a number", "bool": "a boolean", "null": "empty"}.get(
        node.tag.rsplit(":", 1)[-1], "text")


class _Validator:
    """Turns a node tree into a Deck, recording problems instead of stopping at the first."""

    def __init__(self, name: str):
        self.name = name
        self.problems: list[DeckProblem] = []

    def problem(self, node_or_line: yaml.Node | int, message: str) -> None:
        line = node_or_line if isinstance(node_or_line, int) else _line(node_or_line)
        self.problems.append(DeckProblem(self.name, line, message))

    # -- node helpers -------------------------------------------------------------------------
    def mapping(self, node: yaml.Node, where: str, allowed: set[str]) -> dict[str, yaml.Node] | None:
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, f"{where} must be a mapping of fields, found {_type_name(node)}")
            return None
        out: dict[str, yaml.Node] = {}
        for key, value in node.value:
            k = key.value if isinstance(key, yaml.ScalarNode) else None
            if not isinstance(k, str):
                self.problem(key, f"{where}: field names must be plain text")
            elif k in out:
                self.problem(key, f"{where}: field '{k}' appears twice; keep one")
            elif k not in allowed:
                hint = _close_match(k, allowed)
                self.problem(key, f"{where}: unknown field '{k}'"
                             + (f"; did you mean '{hint}'?" if hint else f"; allowed: {', '.join(sorted(allowed))}"))
            else:
                out[k] = value
        return out

    def check_tags(self, node: yaml.Node) -> bool:
        ok = True
        stack = [node]
        while stack:
            n = stack.pop()
            if n.tag not in _PLAIN_TAGS:
                self.problem(n, f"tag '{n.tag.replace('tag:yaml.org,2002:', '!!')}' is not allowed; "
                                "decks hold plain text, numbers and lists")
                ok = False
            elif isinstance(n, yaml.MappingNode):
                stack.extend(v for pair in n.value for v in pair)
            elif isinstance(n, yaml.SequenceNode):
                stack.extend(n.value)
        return ok

    def text(self, fields: dict[str, yaml.Node], key: str, where: str, *, required: bool,
             slug: bool = False) -> str | None:
        node = fields.get(key)
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:str":
            if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
                if required:
                    self.problem(node, f"{where}: field '{key}' is empty; give it a value")
                return None
            if isinstance(node, yaml.ScalarNode) and not slug:
                return str(node.value)  # a number or boolean where text was asked: use it as written
            self.problem(node, f"{where}: field '{key}' must be text, found {_type_name(node)}")
            return None
        value: str = node.value
        if len(value) > MAX_STRING:
            self.problem(node, f"{where}: field '{key}' is {len(value):,} characters, "
                               f"over the {MAX_STRING:,} limit; shorten it")
            return None
        if slug and not SLUG.match(value):
            self.problem(node, f"{where}: '{key}' {value!r} must be a slug such as 'trailing-dims' "
                               "(lowercase ASCII letters, digits and '-')")
            return None
        if required and not value.strip():
            self.problem(node, f"{where}: field '{key}' is empty; give it a value")
            return None
        return value

    def text_list(self, fields: dict[str, yaml.Node], key: str, where: str) -> tuple[str, ...]:
        node = fields.get(key)
        if node is None:
            return ()
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, f"{where}: field '{key}' must be a list, e.g. [a, b], found {_type_name(node)}")
            return ()
        out = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode) or item.tag == "tag:yaml.org,2002:null":
                self.problem(item, f"{where}: every item of '{key}' must be text, found {_type_name(item)}")
            else:
                out.append(str(item.value))
        return tuple(out)

    def tags(self, fields: dict[str, yaml.Node], where: str) -> tuple[str, ...]:
        """Tags as topics: any word of letters, digits, '_', '-', '.', normalised so spellings meet."""
        node = fields.get("tags")
        if not isinstance(node, yaml.SequenceNode):
            return self.text_list(fields, "tags", where)  # absent (no tags) or reported as not a list
        out: list[str] = []
        for item in node.value:
            if not isinstance(item, yaml.ScalarNode) or item.tag == "tag:yaml.org,2002:null":
                self.problem(item, f"{where}: every item of 'tags' must be text, found {_type_name(item)}")
            elif not TAG.match(str(item.value)):
                self.problem(item, f"{where}: tag {str(item.value)!r} must be one word of letters, digits, '_', '-' "
                                   "or '.', such as 'in-place' (give each topic its own tag)")
            elif normalise_tag(str(item.value)) not in out:
                out.append(normalise_tag(str(item.value)))
        return tuple(out)

    def require(self, fields: dict[str, yaml.Node], keys: tuple[str, ...], where: str, line: int) -> None:
        for key in keys:
            if key not in fields:
                self.problem(line, f"{where}: missing field '{key}'; add it")

    # -- deck and card ------------------------------------------------------------------------
    def deck(self, root: yaml.Node | None, source_hash: str) -> Deck:
        if root is None:
            raise DeckError([DeckProblem(self.name, 1, "the file is empty; a deck needs id, title and cards")])
        if not self.check_tags(root):
            raise DeckError(self.problems)
        fields = self.mapping(root, "deck", DECK_FIELDS)
        if fields is None:
            raise DeckError(self.problems)
        self.require(fields, ("id", "title", "cards"), "deck", _line(root))
        deck_id = self.text(fields, "id", "deck", required=True, slug=True) or ""
        title = self.text(fields, "title", "deck", required=True) or ""
        description = self.text(fields, "description", "deck", required=False) or ""
        requires = self.text(fields, "requires", "deck", required=False)
        if requires is not None and torch_range(requires) is None:
            self.problem(fields["requires"], f"deck: requires {requires!r} is not a torch version range; "
                                             "write e.g. 'torch>=2.2' or 'torch>=2.2,<3'")
        cards: list[Card] = []
        node = fields.get("cards")
        if node is not None:
            if not isinstance(node, yaml.SequenceNode) or not node.value:
                self.problem(node, f"deck: 'cards' must be a non-empty list of cards, found {_type_name(node)}")
            else:
                seen: dict[str, int] = {}
                for i, card_node in enumerate(node.value, 1):
                    card = self.card(card_node, deck_id, i)
                    if card is None:
                        continue
                    if card.id in seen:
                        self.problem(card_node, f"card '{card.id}': id already used by the card on line "
                                                f"{seen[card.id]}; card ids must be unique in a deck")
                    else:
                        seen[card.id] = card.line
                        cards.append(card)
        if self.problems:
            raise DeckError(sorted(self.problems, key=lambda p: p.line))
        return Deck(deck_id, visible(title) if title else title, visible(description) if description else description,
                    tuple(cards), requires, self.name, source_hash)

    def card(self, node: yaml.Node, deck_id: str, index: int) -> Card | None:
        before = len(self.problems)
        where = f"card #{index}"
        if isinstance(node, yaml.MappingNode):  # name the card by its id from the first message on
            ids = [v.value for k, v in node.value
                   if getattr(k, "value", None) == "id" and isinstance(v, yaml.ScalarNode)]
            if ids and isinstance(ids[0], str) and ids[0]:
                where = f"card '{ids[0]}'"
        fields = self.mapping(node, where, CARD_FIELDS)
        if fields is None:
            return None
        card_id = self.text(fields, "id", where, required=True, slug=True)
        self.require(fields, ("id", "kind", "question"), where, _line(node))
        kind = self.text(fields, "kind", where, required=True)
        if kind is not None and kind not in KINDS:
            hint = _close_match(kind, set(KINDS))
            self.problem(fields["kind"], f"{where}: kind '{kind}' is unknown; use one of {', '.join(KINDS)}"
                         + (f" (did you mean '{hint}'?)" if hint else ""))
            kind = None
        question = self.text(fields, "question", where, required=True)
        code = self.text(fields, "code", where, required=False) or ""
        ask = self.text(fields, "ask", where, required=False)
        answer = self.text(fields, "answer", where, required=False)
        choices = self.text_list(fields, "choices", where)
        tags = self.tags(fields, where)
        expect = self.expect(fields.get("expect"), where)
        device = self.text(fields, "device", where, required=False)
        if device is not None and device != "cpu":
            self.problem(fields["device"], f"{where}: device '{device}' is not supported; the only pin is 'cpu' "
                                           "(leave it out to run on the learner's device)")
        timeout = self.timeout(fields.get("timeout"), where)
        explain = self.text(fields, "explain", where, required=False) or ""  # checked now: every problem is reported
        source = self.text(fields, "source", where, required=False) or ""

        line = _line(node)
        spec = kind_spec(kind) if kind is not None else None
        if spec is not None and not spec.runs:
            if not answer:
                self.problem(line, f"{where}: a recall card needs an 'answer' (the back of the card)")
        elif spec is not None:
            has_ask = bool(ask and ask.strip())
            if not spec.needs_ask and not code.strip() and not has_ask:
                self.problem(line, f"{where}: a {kind} card needs 'code' (statements) or 'ask' (an expression) to run")
            elif spec.needs_ask and not has_ask:
                self.problem(line, f"{where}: a {kind} card needs 'ask', the expression whose outcome is the truth"
                             + (" (put the setup in 'code' and the expression in 'ask')" if code.strip() else ""))
            if answer is not None:
                self.problem(fields["answer"], f"{where}: 'answer' is only for recall cards; the run decides the truth "
                                               "(use 'expect' for your own answer)")
        if kind == "choice":
            if not 2 <= len(choices) <= 6:
                self.problem(fields.get("choices", line),
                             f"{where}: a choice card needs 'choices', a list of 2 to 6 options")
            elif len(set(choices)) != len(choices):
                self.problem(fields["choices"], f"{where}: two choices are the same; make every option distinct")
        elif "choices" in fields:
            self.problem(fields["choices"],
                         f"{where}: 'choices' is only for choice cards; remove it or set kind: choice")
        for key, src, mode in (("code", code, "exec"), ("ask", ask, "eval")):
            if src and src.strip():
                try:
                    compile(src, f"{where}:{key}", mode)
                except SyntaxError as exc:
                    block = 1 if getattr(fields[key], "style", None) in ("|", ">") else 0
                    self.problem(_line(fields[key]) + block + (exc.lineno or 1) - 1,
                                 f"{where}: '{key}' is not valid Python ({exc.msg}); fix the snippet")
        self.check_expect(fields.get("expect"), expect, kind, choices, where)
        if len(self.problems) > before or kind is None or card_id is None or question is None:
            return None
        # display text is made terminal-safe here; code and ask must run exactly as written
        return Card(deck_id, card_id, kind, visible(question), code, ask, tuple(visible(c) for c in choices),
                    answer if answer is None else visible(answer), explain if explain is None else visible(explain),
                    tags, source, expect, device, timeout, line)

    def expect(self, node: yaml.Node | None, where: str) -> str | dict[str, str] | None:
        if node is None or node.tag == "tag:yaml.org,2002:null":
            return None
        if isinstance(node, yaml.ScalarNode):
            return str(node.value)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key, value in node.value:
                if key.value not in ("cpu", "cuda", "mps"):
                    self.problem(key,
                                 f"{where}: 'expect' per device takes the keys cpu, cuda, mps; found '{key.value}'")
                elif not isinstance(value, yaml.ScalarNode):
                    self.problem(value, f"{where}: expect.{key.value} must be text")
                else:
                    out[key.value] = str(value.value)
            return out
        self.problem(node, f"{where}: 'expect' must be text or a mapping such as "
                           "{cpu: RuntimeError, cuda: NotImplementedError}")
        return None

    def check_expect(self, node: yaml.Node | None, expect: str | dict[str, str] | None, kind: str | None,
                     choices: tuple[str, ...], where: str) -> None:
        """An `expect` must be something a learner could type for this kind (so it can be checked)."""
        if node is None or expect is None or kind is None or not kind_spec(kind).runs:
            return
        for value in (expect.values() if isinstance(expect, dict) else (expect,)):
            try:
                parse_answer(kind, value, choices)
            except Unparsed as exc:
                self.problem(node, f"{where}: expect '{value}' cannot be read as a {kind} answer ({exc})")

    def timeout(self, node: yaml.Node | None, where: str) -> float:
        if node is None:
            return DEFAULT_TIMEOUT
        try:
            value = _SCALARS.construct_object(node) if isinstance(node, yaml.ScalarNode) else None
        except ValueError:  # e.g. an integer over Python's 4,300-digit conversion limit
            value = None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.1 <= value <= MAX_TIMEOUT:
            found = node.value[:40] if isinstance(node, yaml.ScalarNode) else _type_name(node)
            self.problem(node, f"{where}: 'timeout' must be a number of seconds from 0.1 to {MAX_TIMEOUT:g}, "
                               f"found {found}")
            return DEFAULT_TIMEOUT
        return float(value)


def torch_range(requires: str):
    """The SpecifierSet in 'torch>=2.2,<3', or None if it is not a torch range."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    text = requires.strip()
    if not text.startswith("torch") or text[5:6].isalnum() or text[5:6] in ("_", "-"):
        return None
    try:
        return SpecifierSet(text[5:].strip())
    except InvalidSpecifier:
        return None


def requires_problem(deck: Deck, torch_version: str) -> str | None:
    """Why this torch cannot be trusted to agree with the deck's expects, or None."""
    spec = torch_range(deck.requires) if deck.requires else None
    if spec is None or spec.contains(torch_version.split("+", maxsplit=1)[0], prereleases=True):
        return None
    return (f"deck '{deck.id}' was written for {deck.requires}; this worker has torch {torch_version}, "
            "so outcomes may differ")


def _close_match(word: str, options: set[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.6)
    return found[0] if found else None


def bundled_deck_dir() -> Path:
    """Decks shipped with quizzer: inside the package when installed, the repo's decks/ in a checkout."""
    inside = Path(__file__).parent / "_decks"
    return inside if inside.is_dir() else Path(__file__).parent.parent / "decks"
