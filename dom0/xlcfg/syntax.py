"""Read xl.cfg(5) text as libxlu (xl's own config library) reads it: lexer and grammar.

`parse` follows libxlu's lexer and grammar (facts §4.1): it refuses what `xl create` would refuse
and keeps what xl keeps, so a file the panel reads back means what xl will make of it. The
differential test `tests/dom0/test_xlcfg_libxlu.py` holds it to libxlutil itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeAlias, Union

from dom0.errors import ParseError

Value: TypeAlias = Union[str, int, list["Value"]]  # noqa: UP007 (a string forward ref)

LONG_MAX = 2**63 - 1


class XlCfgError(ParseError):
    """A config text that libxlu would refuse; the message is in libxlu's form."""

    def __init__(self, line: int, message: str, *, source: str = "config") -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.line = line
        self.source = source
        self.detail = message


# --- lexer -------------------------------------------------------------------------------------

_IDENT_RE = re.compile(r"[a-z][._0-9a-z]*")
_NUMBER_RE = re.compile(r"[0-9][0-9a-fx]*")
_STRAY_RE = re.compile(r".[^ \t\n]*")
#: The characters that start a token (or a blank) in libxlu's lexer; any other is "stray".
_TOKEN_START_RE = re.compile(r"[a-z0-9 \t\n\[\],;=]")
_ESCAPES = {
    '"': '"',
    "'": "'",
    "\\": "\\",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}


@dataclass(frozen=True)
class _Tok:
    kind: str  # IDENT NUMBER STRING = += [ ] , ; NL EOF
    text: str
    line: int
    #: Offsets of the token in the text (for `edit`, which rewrites statements in place).
    start: int = 0
    end: int = 0


def _near(tok: _Tok) -> str:
    if tok.kind == "NL":
        return "end of line"
    if tok.kind == "EOF":
        return "end of file"
    return f"`{tok.text}'"


def _lex(text: str, source: str) -> Iterator[_Tok]:
    pos, line, end = 0, 1, len(text)

    def lexerr(near: str) -> XlCfgError:
        return XlCfgError(line, f"config parsing error near `{near}': lexical error", source=source)

    while pos < end:
        ch = text[pos]
        start = pos
        if pos == end - 1 and ch.isascii() and not _TOKEN_START_RE.match(ch):
            # libxlu's flex lexer meets a stray character with `BEGIN(lexerr); yymore()` and
            # reports it when the next character arrives; when the file ends right there, no
            # rule fires and the character is dropped: xl reads `memory = 1024M` without a last
            # newline as 1024 (differential test against libxlutil 4.17).
            break
        if ch in " \t":
            pos += 1
        elif ch == "#":
            nl = text.find("\n", pos)
            if nl < 0:
                # libxlu's comment rule is `#.*\n`: a comment on the last line with no newline
                # after it matches nothing, and xl refuses the file (a lexical error).
                raise lexerr("#")
            yield _Tok("NL", "\n", line, nl, nl + 1)
            line += 1
            pos = nl + 1
        elif ch == "\n":
            yield _Tok("NL", "\n", line, pos, pos + 1)
            line += 1
            pos += 1
        elif ch in "[],;=":
            pos += 1
            yield _Tok(ch, ch, line, start, pos)
        elif text.startswith("+=", pos):
            pos += 2
            yield _Tok("+=", "+=", line, start, pos)
        elif match := _IDENT_RE.match(text, pos):
            pos = match.end()
            yield _Tok("IDENT", match[0], line, start, pos)
        elif match := _NUMBER_RE.match(text, pos):
            pos = match.end()
            yield _Tok("NUMBER", match[0], line, start, pos)
        elif ch in "\"'":
            value, pos = _lex_string(text, pos, lexerr)
            yield _Tok("STRING", value, line, start, pos)
        else:
            # libxlu's `<lexerr>[^ \t\n]*` rule quotes the stray character and what follows it.
            stray = _STRAY_RE.match(text, pos)
            assert stray is not None  # `.` matches: pos is before the end here
            raise lexerr(stray[0])
    yield _Tok("EOF", "", line, end, end)


def _lex_string(text: str, pos: int, lexerr: Callable[[str], XlCfgError]) -> tuple[str, int]:
    quote, i = text[pos], pos + 1
    out: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\n":
            break
        if ch == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt not in _ESCAPES:
                # libxlu lexes \x and octal escapes but decodes them wrongly; refuse them.
                raise lexerr(text[pos : i + 2])
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise lexerr(text[pos:i])


# --- parser ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One `key = value` or `key += value`; `start`/`end` are its offsets in the text."""

    key: str
    op: str
    value: _Raw
    line: int
    start: int
    end: int


@dataclass(frozen=True)
class _Atom:
    raw: str
    number: bool


_Raw: TypeAlias = Union[_Atom, list["_Raw"]]  # noqa: UP007


def _strtol0(raw: str) -> int | None:
    """Return `strtol(raw, &end, 0)` when it consumes all of `raw` without overflow."""
    if raw[:2] in ("0x", "0X"):
        digits, base = raw[2:], 16
    elif len(raw) > 1 and raw[0] == "0":
        digits, base = raw[1:], 8
    else:
        digits, base = raw, 10
    try:
        value = int(digits, base) if digits and digits.isalnum() else None
    except ValueError:
        return None
    return value if value is not None and value <= LONG_MAX else None


def _cook(value: _Raw) -> Value:
    if isinstance(value, list):
        return [_cook(v) for v in value]
    if value.number:
        number = _strtol0(value.raw)
        # xl keeps an unreadable number as text and warns; so do we.
        return number if number is not None else value.raw
    return value.raw


class _Parser:
    def __init__(self, text: str, source: str) -> None:
        self.tokens = _lex(text, source)
        self.source = source
        self.tok = next(self.tokens)
        self.last_end = 0

    def advance(self) -> _Tok:
        tok, self.tok = self.tok, next(self.tokens)
        self.last_end = tok.end
        return tok

    def error(self) -> XlCfgError:
        tok = self.tok
        names = {"NL": "NEWLINE", "EOF": "end of file"}
        what = names.get(tok.kind, tok.kind if tok.kind.isalpha() else f"'{tok.text}'")
        return XlCfgError(
            tok.line,
            f"config parsing error near {_near(tok)}: syntax error, unexpected {what}",
            source=self.source,
        )

    def skip_newlines(self) -> None:
        while self.tok.kind == "NL":
            self.advance()

    def statements(self) -> Iterator[Statement]:
        while self.tok.kind != "EOF":
            if self.tok.kind in ("NL", ";"):
                self.advance()
                continue
            if self.tok.kind != "IDENT":
                raise self.error()
            key = self.advance()
            if self.tok.kind not in ("=", "+="):
                raise self.error()
            op = self.advance().kind
            value = self.value()
            if self.tok.kind not in ("NL", ";", "EOF"):
                raise self.error()
            yield Statement(key.text, op, value, key.line, key.start, self.last_end)

    def value(self) -> _Raw:
        tok = self.tok
        if tok.kind in ("STRING", "NUMBER"):
            self.advance()
            return _Atom(tok.text, tok.kind == "NUMBER")
        if tok.kind != "[":
            raise self.error()
        self.advance()
        self.skip_newlines()
        items: list[_Raw] = []
        while self.tok.kind != "]":
            items.append(self.value())
            self.skip_newlines()
            if self.tok.kind == ",":
                self.advance()
                self.skip_newlines()
            elif self.tok.kind != "]":
                raise self.error()
        self.advance()
        return items


def statements(text: str, source: str = "config") -> list[Statement]:
    """Return the statements of a config text in order (raises XlCfgError as xl would)."""
    return list(_Parser(text, source).statements())


def parse(text: str, *, source: str = "config") -> dict[str, Value]:
    """Parse xl.cfg text into `{key: str | int | list}`; the last assignment of a key wins."""
    store: dict[str, _Raw] = {}
    for stmt in statements(text, source):
        key, op, value, line = stmt.key, stmt.op, stmt.value, stmt.line
        prev = store.get(key)
        if op == "=" or prev is None:
            store.pop(key, None)
            store[key] = value
        elif isinstance(prev, list) != isinstance(value, list):
            raise XlCfgError(line, 'can\'t add [list] to "string" or vice versa', source=source)
        elif isinstance(prev, list):
            assert isinstance(value, list)
            store[key] = prev + value
        else:
            assert isinstance(value, _Atom)
            store[key] = _Atom(prev.raw + value.raw, prev.number and value.number)
    return {key: _cook(value) for key, value in store.items()}
