"""Pasting and copying blocks of JavaMail keys as text.

Three shapes are read:
  * the seed's own format, `{ mail.smtp.auth: true, mail.smtp.starttls.enable: true }`, with
    entries separated by commas or line breaks, trailing commas, and optionally quoted keys and
    values (values with commas, leading spaces or quotes need quotes);
  * a JSON object, `{"mail.smtp.auth": true, "mail.smtp.timeout": 10000}`;
  * Java .properties-like lines, `mail.smtp.auth=true`, with `#` and `!` comment lines.
Keys and values are returned as found; whether they make sense is left to validation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from smtp_desktop.config.errors import ConfigError
from smtp_desktop.config.keys import KeyType, spec_for
from smtp_desktop.config.model import Keys


class KeysTextError(ConfigError):
    """Pasted text is not a block of keys; the message says which line is wrong."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(message if line is None else f"Line {line}: {message}")


# An unquoted key runs up to the separator; values may hold anything but a line break.
_BARE_KEY = re.compile(r"""[^\s:=,"'{}#]+""")
_QUOTED_AHEAD = r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""
# A comma inside an unquoted value ends the entry only when what follows is nothing, a comment,
# or the start of another `key:`; so `mail.from: Acme, Inc <a@acme.com>` keeps its comma.
_AFTER_COMMA = re.compile(rf"""[ \t]*(?:\n|$|\#|(?:{_QUOTED_AHEAD}|{_BARE_KEY.pattern})[ \t]*[:=])""")
_PLAIN_KEY = re.compile(r"[\w.\-/]+")
_PLAIN_VALUE = re.compile(r"[\w.@*+/\-]+(?: [\w.@*+/\-]+)*")
_STRING_DECODER = json.JSONDecoder(strict=False)


def parse_keys_text(text: str) -> Keys:
    """The (key, value) pairs in `text`, in order, duplicates kept.

    Raises KeysTextError, and nothing else, when the text cannot be read as keys.
    """
    normalized = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    stripped = normalized.strip()
    if not stripped:
        return ()
    if stripped.startswith("{"):
        from_json = _parse_json(normalized)
        if from_json is not None:
            return from_json
        if not stripped.endswith("}"):
            raise KeysTextError("the text starts with '{' but does not end with '}'.",
                                normalized.rstrip().count("\n") + 1)
        return _Parser(normalized, normalized.index("{") + 1, normalized.rindex("}")).parse()
    return _Parser(normalized, 0, len(normalized)).parse()


class _JsonPairs(list):
    """A JSON object as its list of pairs, so duplicates and order survive."""


def _parse_json(text: str) -> Keys | None:
    try:
        doc = json.loads(text, object_pairs_hook=_JsonPairs, parse_int=str, parse_float=str,
                         parse_constant=str)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, _JsonPairs):
        return None
    keys: list[tuple[str, str]] = []
    for key, value in doc:
        line = _json_key_line(text, key)
        if not key.strip():
            raise KeysTextError("a key is empty.", line)
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif not isinstance(value, str):
            kind = "an object" if isinstance(value, _JsonPairs) else "a list" if value is not None else "null"
            raise KeysTextError(f"the value of {key} is {kind}; use text, a number or true/false.", line)
        keys.append((key, value))
    return tuple(keys)


def _json_key_line(text: str, key: str) -> int:
    index = text.find(json.dumps(key, ensure_ascii=False))
    return text.count("\n", 0, index) + 1 if index >= 0 else 1


class _Parser:
    """The seed and .properties formats, read from text[start:end]."""

    def __init__(self, text: str, start: int, end: int) -> None:
        self.text = text
        self.start = start
        self.pos = start
        self.end = end

    def parse(self) -> Keys:
        entries: list[tuple[str, str]] = []
        while True:
            self._skip_blank()
            if self.pos >= self.end:
                return tuple(entries)
            entries.append(self._entry())

    def _line(self, pos: int | None = None) -> int:
        return self.text.count("\n", 0, self.pos if pos is None else pos) + 1

    def _error(self, message: str, pos: int | None = None) -> KeysTextError:
        return KeysTextError(message, self._line(pos))

    def _skip_blank(self) -> None:
        while self.pos < self.end:
            char = self.text[self.pos]
            if char.isspace() or char == ",":
                self.pos += 1
            elif char == "#" or (char == "!" and self._at_line_start()):
                self._skip_to_line_end()
            else:
                return

    def _at_line_start(self) -> bool:
        line_start = max(self.text.rfind("\n", self.start, self.pos) + 1, self.start)
        return not self.text[line_start:self.pos].strip()

    def _skip_to_line_end(self) -> None:
        newline = self.text.find("\n", self.pos, self.end)
        self.pos = self.end if newline < 0 else newline

    def _skip_inline_space(self) -> None:
        while self.pos < self.end and self.text[self.pos] in " \t":
            self.pos += 1

    def _entry(self) -> tuple[str, str]:
        key = self._key()
        self._skip_inline_space()
        if self.pos >= self.end or self.text[self.pos] not in ":=":
            raise self._error(f"expected ':' or '=' after the key '{key}'.")
        self.pos += 1
        self._skip_inline_space()
        if self.pos < self.end and self.text[self.pos] in "\"'":
            value = self._quoted("value")
            self._skip_inline_space()
            if self.pos < self.end and self.text[self.pos] == "#":
                self._skip_to_line_end()
            elif self.pos < self.end and self.text[self.pos] not in ",\n":
                raise self._error(f"unexpected text after the quoted value of {key}; "
                                  f"put the whole value in quotes.")
            return key, value
        return key, self._unquoted()

    def _key(self) -> str:
        if self.text[self.pos] in "\"'":
            key = self._quoted("key")
        else:
            match = _BARE_KEY.match(self.text, self.pos, self.end)
            if match is None:
                raise self._error(f"expected a key such as mail.smtp.auth, not '{self.text[self.pos]}'.")
            key = match.group()
            self.pos = match.end()
        if not key.strip():
            raise self._error("a key is empty.")
        return key

    def _unquoted(self) -> str:
        newline = self.text.find("\n", self.pos, self.end)
        line_end = self.end if newline < 0 else newline
        scan = self.pos
        while True:
            comma = self.text.find(",", scan, line_end)
            if comma < 0:
                value_end = next_pos = line_end
                break
            if _AFTER_COMMA.match(self.text, comma + 1, self.end):
                value_end, next_pos = comma, comma + 1
                break
            scan = comma + 1
        value = self.text[self.pos:value_end].strip()
        self.pos = next_pos
        return value

    def _quoted(self, what: str) -> str:
        quote = self.text[self.pos]
        opened = self.pos
        index = self.pos + 1
        while index < self.end:
            char = self.text[index]
            if char == "\\" and index + 1 < self.end and self.text[index + 1] != "\n":
                index += 2
                continue
            if char == quote:
                break
            if char == "\n":
                index = self.end
                break
            index += 1
        if index >= self.end:
            raise self._error(f"the quoted {what} is not closed; add {quote} before the end of the line.",
                              opened)
        raw = self.text[opened + 1:index]
        self.pos = index + 1
        if quote == "'":
            return re.sub(r"\\([\\'])", r"\1", raw)
        try:
            return _STRING_DECODER.decode(f'"{raw}"')
        except ValueError:
            raise self._error(f"the quoted {what} has a backslash that is not a valid escape; "
                              f'write \\" for a quote and \\\\ for a backslash.', opened) from None


def format_keys_text(keys: Iterable[tuple[str, str]], multiline: bool = False) -> str:
    """Keys in the seed's format, e.g. `{ mail.smtp.auth: true }`.

    Keys and values are quoted (JSON-style) whenever they are not plain words, so
    parse_keys_text(format_keys_text(k)) == k for every k that parse_keys_text can return.
    """
    entries = [f"{_key_text(key)}: {_value_text(value)}" for key, value in keys]
    if not entries:
        return "{}"
    if multiline:
        return "{\n" + ",\n".join(f"  {entry}" for entry in entries) + "\n}"
    return "{ " + ", ".join(entries) + " }"


def _key_text(key: str) -> str:
    return key if _PLAIN_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _value_text(value: str) -> str:
    # "null" is quoted because a block that happens to be valid JSON is read as JSON.
    if _PLAIN_VALUE.fullmatch(value) and value != "null":
        return value
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------- merging


@dataclass(frozen=True)
class KeyChange:
    """A pasted key that is already in the table, at `row`, with another value."""

    row: int
    key: str
    current: str
    pasted: str


@dataclass(frozen=True)
class MergePlan:
    """What pasting would do to the table.

    `add`: new rows, appended in pasted order. `update`: rows whose value changes without changing
    its meaning (the current value is blank, or the same true/false in another case), applied
    without asking. `conflicts`: rows with a different value; the UI asks before overwriting.
    `unchanged`: keys already present with the same value. A key pasted twice counts with its
    last value; a key already in the table twice is matched to its first row.
    """

    existing: Keys
    add: Keys
    update: tuple[KeyChange, ...]
    conflicts: tuple[KeyChange, ...]
    unchanged: tuple[str, ...]

    @property
    def changes_anything(self) -> bool:
        return bool(self.add or self.update or self.conflicts)

    def apply(self, overwrite: bool | Iterable[str] = False) -> Keys:
        """The merged table: adds and updates always, conflicts for the keys in `overwrite`
        (True: all of them, False: none)."""
        if isinstance(overwrite, bool):
            chosen = {c.key for c in self.conflicts} if overwrite else set()
        else:
            chosen = set(overwrite)
        rows = list(self.existing)
        for change in (*self.update, *(c for c in self.conflicts if c.key in chosen)):
            rows[change.row] = (change.key, change.pasted)
        return (*rows, *self.add)


def merge_keys(existing: Keys, pasted: Keys) -> MergePlan:
    """Plan how `pasted` joins `existing`; nothing is changed until MergePlan.apply."""
    first_row: dict[str, int] = {}
    for row, (key, _) in enumerate(existing):
        first_row.setdefault(key, row)
    latest: dict[str, str] = {}
    for key, value in pasted:
        latest[key] = value

    add: list[tuple[str, str]] = []
    update: list[KeyChange] = []
    conflicts: list[KeyChange] = []
    unchanged: list[str] = []
    for key, value in latest.items():
        row = first_row.get(key)
        if row is None:
            add.append((key, value))
            continue
        current = existing[row][1]
        if current == value:
            unchanged.append(key)
        elif not current.strip() or _same_boolean(key, current, value):
            update.append(KeyChange(row, key, current, value))
        else:
            conflicts.append(KeyChange(row, key, current, value))
    return MergePlan(existing=tuple(existing), add=tuple(add), update=tuple(update),
                     conflicts=tuple(conflicts), unchanged=tuple(unchanged))


def _same_boolean(key: str, current: str, pasted: str) -> bool:
    spec = spec_for(key)
    if spec is None or spec.type is not KeyType.BOOLEAN:
        return False
    first, second = current.strip().lower(), pasted.strip().lower()
    return first == second and first in ("true", "false")
