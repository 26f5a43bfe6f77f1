"""The simulator's own reader for xl domain configuration files (libxlu grammar, xl.cfg(5)).

It is deliberately independent of the panel's cfg code: both sides parsing the same text with one
implementation would let a bug hide on both. Grammar (facts §4.1): statements `key = value` or
`key += value` ended by a newline or `;`; keys `[a-z][._0-9a-z]*`; numbers `[0-9][0-9a-fx]*`
(no sign, fraction or unit); single-line strings in either quote with C escapes; lists in `[...]`
that may span lines and end with a comma; `#` comments; the last assignment wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r"}
_ESCAPES |= {"t": "\t", "v": "\v"}
_IDENT = re.compile(r"[a-z][._0-9a-z]*")
_NUMBER = re.compile(r"[0-9][0-9a-fx]*")


class CfgError(Exception):
    """The file does not parse; `lines` are what xl prints before exiting with 1."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class Atom:
    text: str
    is_number: bool


Value = Atom | list["Value"]


@dataclass(frozen=True)
class _Tok:
    kind: str  # IDENT NUMBER STRING NEWLINE ';' '=' '+=' '[' ']' ',' EOF
    text: str
    line: int


@dataclass
class Config:
    """The settings of one file: key -> (value, line of the winning assignment)."""

    source: str
    settings: dict[str, tuple[Value, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def has(self, key: str) -> bool:
        return key in self.settings

    def _warn(self, key: str, what: str) -> None:
        line = self.settings[key][1]
        self.warnings.append(f"{self.source}:{line}: warning: parameter `{key}' {what}")

    def get_string(self, key: str) -> str | None:
        """Return a single value as text, or None (with xlu's warning) when it is a list."""
        if key not in self.settings:
            return None
        value = self.settings[key][0]
        if isinstance(value, list):
            self._warn(key, "is a list but should be a single value")
            return None
        return value.text

    def get_int(self, key: str) -> int | None:
        """Return a number as strtol(text, 0) reads it; None (with a warning) if not one."""
        text = self.get_string(key)
        if text is None:
            return None
        number = strtol(text)
        if number is None:
            self._warn(key, "is not a valid number")
        return number

    def get_list(self, key: str, *, allow_single: bool = False) -> list[str] | None:
        """Return a list of strings; a single value is a one-item list only if `allow_single`."""
        if key not in self.settings:
            return None
        value = self.settings[key][0]
        if not isinstance(value, list):
            if allow_single:
                return [value.text]
            self._warn(key, "is a single value but should be a list")
            return None
        return [item.text for item in value if isinstance(item, Atom)]


def strtol(text: str) -> int | None:
    """Read an integer like C's strtol(text, NULL, 0) when the whole text must be consumed."""
    text = text.strip()
    match = re.fullmatch(r"([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", text)
    if not match:
        return None
    sign, digits = match.groups()
    if digits.lower().startswith("0x"):
        number = int(digits, 16)
    elif digits.startswith("0") and len(digits) > 1:
        number = int(digits, 8)
    else:
        number = int(digits)
    return -number if sign == "-" else number


def _lex_error(source: str, line: int, near: str) -> CfgError:
    return CfgError(
        [
            f"{source}:{line}: config parsing error near `{near}': lexical error",
            "Failed to parse config: Invalid argument",
        ]
    )


def _tokenize(text: str, source: str) -> tuple[list[_Tok], CfgError | None]:
    """The tokens up to the first lexical error, and that error (raised when the parser reaches
    it, so an earlier syntax error is reported first, as bison reports it)."""
    toks: list[_Tok] = []
    try:
        _lex(text, source, toks)
    except CfgError as exc:
        toks.append(_Tok("LEXERR", "", toks[-1].line if toks else 1))
        return toks, exc
    return toks, None


def _lex(text: str, source: str, toks: list[_Tok]) -> None:
    i, line, n = 0, 1, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r":
            i += 1
        elif ch == "#" and "\n" in text[i:]:
            # `\#.*\n` needs its newline: a comment ending the file without one is a lexical
            # error (libxlu_cfg_l.l; `#` then falls to the `.` rule).
            i = text.index("\n", i)
        elif ch == "\n":
            toks.append(_Tok("NEWLINE", "\n", line))
            line += 1
            i += 1
        elif text.startswith("+=", i):
            toks.append(_Tok("+=", "+=", line))
            i += 2
        elif ch in ";=[],":
            toks.append(_Tok(ch, ch, line))
            i += 1
        elif ch in "'\"":
            i = _lex_string(text, i, line, source, toks)
        elif match := _IDENT.match(text, i):
            toks.append(_Tok("IDENT", match.group(), line))
            i = match.end()
        elif match := _NUMBER.match(text, i):
            toks.append(_Tok("NUMBER", match.group(), line))
            i = match.end()
        else:
            end = i
            while end < n and not text[end].isspace():
                end += 1
            raise _lex_error(source, line, text[i:end])
    toks.append(_Tok("EOF", "", line))


def _lex_string(text: str, i: int, line: int, source: str, toks: list[_Tok]) -> int:
    quote, start = text[i], i
    out: list[str] = []
    i += 1
    while True:
        if i >= len(text) or text[i] == "\n":
            raise _lex_error(source, line, text[start:i])
        ch = text[i]
        if ch == quote:
            toks.append(_Tok("STRING", "".join(out), line))
            return i + 1
        if ch == "\\":
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if nxt not in _ESCAPES:
                raise _lex_error(source, line, text[start : i + 2])
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1


class _Parser:
    def __init__(self, lexed: tuple[list[_Tok], CfgError | None], source: str) -> None:
        self.toks, self.lex_error = lexed
        self.pos, self.source = 0, source

    def peek(self) -> _Tok:
        tok = self.toks[self.pos]
        if tok.kind == "LEXERR" and self.lex_error is not None:
            raise self.lex_error
        return tok

    def take(self) -> _Tok:
        tok = self.peek()
        self.pos += 1
        return tok

    def error(self, tok: _Tok, expecting: str) -> CfgError:
        # Bison's verbose message; the token names are those of libxlu_cfg_y.y (UNVERIFIED wording).
        name = {"EOF": "$end", "NEWLINE": "NEWLINE"}.get(tok.kind, tok.kind)
        near = tok.text if tok.kind not in ("NEWLINE", "EOF") else ""
        return CfgError(
            [
                f"{self.source}:{tok.line}: config parsing error near `{near}': "
                f"syntax error, unexpected {name}, expecting {expecting}",
                "Failed to parse config: Invalid argument",
            ]
        )

    def skip_newlines(self) -> None:
        while self.peek().kind == "NEWLINE":
            self.take()

    def value(self) -> Value:
        tok = self.take()
        if tok.kind in ("STRING", "NUMBER"):
            return Atom(tok.text, tok.kind == "NUMBER")
        if tok.kind != "[":
            raise self.error(tok, "STRING or NUMBER or '['")
        items: list[Value] = []
        self.skip_newlines()
        while self.peek().kind != "]":
            items.append(self.value())
            self.skip_newlines()
            if self.peek().kind == ",":
                self.take()
                self.skip_newlines()
            elif self.peek().kind != "]":
                raise self.error(self.peek(), "',' or ']'")
        self.take()
        return items

    def parse(self, config: Config) -> None:
        while (tok := self.take()).kind != "EOF":
            if tok.kind in ("NEWLINE", ";"):
                continue
            if tok.kind != "IDENT":
                raise self.error(tok, "IDENT")
            op = self.take()
            if op.kind not in ("=", "+="):
                raise self.error(op, "'=' or \"+=\"")
            value = self.value()
            end = self.peek()
            if end.kind not in ("NEWLINE", ";", "EOF"):
                raise self.error(end, "NEWLINE or ';'")
            self.store(config, tok, op.kind, value)

    def store(self, config: Config, key: _Tok, op: str, value: Value) -> None:
        old = config.settings.get(key.text)
        if op == "+=" and old is not None:
            prev = old[0]
            if isinstance(prev, list) and isinstance(value, list):
                value = prev + value
            elif isinstance(prev, Atom) and isinstance(value, Atom):
                value = Atom(prev.text + value.text, False)
            else:
                raise CfgError(
                    [
                        f"{self.source}:{key.line}: config parsing error near `{key.text}': "
                        'can\'t add [list] to "string" or vice versa',
                        "Failed to parse config: Invalid argument",
                    ]
                )
        config.settings[key.text] = (value, key.line)


#: What libxlu prints after a failed parse when the lexer met one of `+ - . ( ) :` outside a
#: string (tools/libs/util/libxlu_cfg.c `parse`, libxlu_cfg_l.l rule `[+-.():]`).
PYTHON_WARNING = (
    "warning: Config file looks like it contains Python code.",
    "warning:  Arbitrary Python is no longer supported.",
    "warning:  See https://wiki.xen.org/wiki/PythonInXlConfig",
)
_LEX_SKIP = re.compile(r"[ \t\r\n]+|\#[^\n]*\n|'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
_LEX_TOKEN = re.compile(r"[a-z][._0-9a-z]*|[0-9][0-9a-fx]*|\+=|[,\[\]=;]")


def likely_python(text: str) -> bool:
    """Tell whether libxlu's lexer would set `likely_python` anywhere in the file.

    Its error recovery (`stmt: error NEWLINE` in libxlu_cfg_y.y) lexes the whole file, so a
    Python-like character after the first error counts too. A character inside the rest of a
    bad word (`<lexerr>[^ \t\n]*`) does not.
    """
    i, n = 0, len(text)
    while i < n:
        match = _LEX_SKIP.match(text, i) or _LEX_TOKEN.match(text, i)
        if match:
            i = match.end()
            continue
        if text[i] in "+-.():":
            return True
        i += 1
        while i < n and text[i] not in " \t\n":
            i += 1
    return False


def parse_cfg(text: str, source: str) -> Config:
    """Parse a whole xl config file; raise CfgError with xl's lines when it does not parse."""
    config = Config(source)
    try:
        _Parser(_tokenize(text, source), source).parse(config)
    except CfgError as exc:
        if likely_python(text):
            # libxlu prints the warning after its error lines, before xl's "Failed to parse".
            exc.lines[-1:-1] = PYTHON_WARNING
        raise
    return config
