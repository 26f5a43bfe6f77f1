"""Render and parse xl domain configuration files (xl.cfg(5)), as libxlu reads them.

`parse` follows libxlu's lexer and grammar (facts §4.1): it refuses what `xl create` would refuse
and keeps what xl keeps, so a file the panel reads back means what xl will make of it.
`render` writes the handbook's layout; `parse(render(x)) == x` for every value `render` accepts.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias, Union

from dom0.errors import ParseError

__all__ = [
    "DiskSpec",
    "DiskSpecError",
    "DomainConfig",
    "Value",
    "VifSpec",
    "XlCfgError",
    "cdrom_vdevs",
    "parse",
    "parse_disk",
    "parse_vif",
    "render",
    "render_disk",
    "render_vif",
    "without_cdroms",
]

Value: TypeAlias = Union[str, int, list["Value"]]  # noqa: UP007 (a string forward ref)

HEADER = "Managed by xenpanel — the panel rewrites this file; edit the domain in the panel."
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
        if ch in " \t":
            pos += 1
        elif ch == "#":
            nl = text.find("\n", pos)
            if nl < 0:
                break
            yield _Tok("NL", "\n", line)
            line += 1
            pos = nl + 1
        elif ch == "\n":
            yield _Tok("NL", "\n", line)
            line += 1
            pos += 1
        elif ch in "[],;=":
            yield _Tok(ch, ch, line)
            pos += 1
        elif text.startswith("+=", pos):
            yield _Tok("+=", "+=", line)
            pos += 2
        elif match := _IDENT_RE.match(text, pos):
            yield _Tok("IDENT", match[0], line)
            pos = match.end()
        elif match := _NUMBER_RE.match(text, pos):
            yield _Tok("NUMBER", match[0], line)
            pos = match.end()
        elif ch in "\"'":
            value, pos = _lex_string(text, pos, lexerr)
            yield _Tok("STRING", value, line)
        else:
            raise lexerr(ch)
    yield _Tok("EOF", "", line)


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

    def advance(self) -> _Tok:
        tok, self.tok = self.tok, next(self.tokens)
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

    def statements(self) -> Iterator[tuple[str, str, _Raw, int]]:
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
            yield key.text, op, value, key.line

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


def parse(text: str, *, source: str = "config") -> dict[str, Value]:
    """Parse xl.cfg text into `{key: str | int | list}`; the last assignment of a key wins."""
    store: dict[str, _Raw] = {}
    for key, op, value, line in _Parser(text, source).statements():
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


# --- render ------------------------------------------------------------------------------------

_SQ, _DQ = "'", '"'
_STRING_ESCAPES = {v: k for k, v in _ESCAPES.items() if k not in "\"'"}
_UNWRITABLE_RE = re.compile(r"[\x00-\x06\x0e-\x1f]")


def _quote(text: str, quote: str) -> str:
    if _UNWRITABLE_RE.search(text):
        raise ValueError(f"xl.cfg strings cannot hold control characters: {text!r}")
    out = []
    for ch in text:
        if ch == quote:
            out.append("\\" + quote)
        elif ch in _STRING_ESCAPES:
            out.append("\\" + _STRING_ESCAPES[ch])
        else:
            out.append(ch)
    return quote + "".join(out) + quote


def _render_value(value: Value, quote: str) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        if not 0 <= value <= LONG_MAX:
            raise ValueError(f"xl.cfg numbers must be from 0 to {LONG_MAX}: {value}")
        return str(value)
    if isinstance(value, str):
        return _quote(value, quote)
    if isinstance(value, list):
        return "[" + ", ".join(_render_value(v, "'") for v in value) + "]"
    raise TypeError(f"cannot render {type(value).__name__} in xl.cfg")


def render(settings: Mapping[str, Value], *, header: str | None = HEADER) -> str:
    """Render settings in the handbook's layout; lists one item per line, single-quoted."""
    lines = [f"# {header}"] if header else []
    for key, value in settings.items():
        if not isinstance(key, str) or not _IDENT_RE.fullmatch(key):
            raise ValueError(f"xl.cfg keys must match [a-z][._0-9a-z]*: {key!r}")
        if isinstance(value, list) and value:
            lines.append(f"{key} = [")
            lines.extend(f"    {_render_value(item, _SQ)}," for item in value)
            lines.append("]")
        else:
            lines.append(f"{key} = {_render_value(value, _DQ)}")
    return "\n".join(lines) + "\n"


# --- disk specs --------------------------------------------------------------------------------

DISK_FORMATS = ("raw", "qcow", "qcow2", "vhd", "qed", "empty")
DISK_FLAGS = ("cdrom", "direct-io-safe", "discard", "no-discard", "trusted", "untrusted", "colo")
_DISK_OPTIONS = {
    "backend": None,
    "backendtype": ("phy", "qdisk", "standalone", "tap"),
    "script": None,
    "specification": ("xen", "virtio"),
}
_DEPRECATED_FORMAT_RE = re.compile(r"(raw|qcow2?|vhd):")
_DEPRECATED_IGNORED_RE = re.compile(r"(tapdisk|tap2?|aio|ioemu|file|phy):")
_UNKNOWN_PREFIX_RE = re.compile(r"[a-z][a-z0-9]*:(?=[^a-z0-9]|$)")


class DiskSpecError(ParseError):
    """A disk spec that `xl create` would refuse."""


_ErrFn: TypeAlias = Callable[..., DiskSpecError]


@dataclass(frozen=True)
class DiskSpec:
    """One `disk = [...]` entry (xl-disk-configuration(5)); `target` is "" for an empty cdrom."""

    vdev: str
    target: str = ""
    format: str = "raw"
    access: Literal["rw", "r"] = "rw"
    cdrom: bool = False
    options: tuple[tuple[str, str], ...] = ()
    flags: tuple[str, ...] = ()


@dataclass
class _DiskState:
    target: str | None = None
    format: str | None = None
    vdev: str | None = None
    access: str | None = None
    cdrom: bool = False
    depr_prefix: bool = False
    options: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


def parse_disk(spec: str) -> DiskSpec:
    """Parse a disk spec: positional, `key=value` (target last) or the deprecated form."""

    def err(msg: str, near: str | None = None) -> DiskSpecError:
        where = f": near `{near}'" if near is not None else ""
        return DiskSpecError(
            f"config parsing error in disk specification: {msg}{where} in `{spec}'"
        )

    st = _DiskState()
    rest: str | None = spec
    while rest is not None:
        rest = rest.lstrip(" \t\n")
        if rest.startswith("target="):
            _save(st, "target", rest[len("target=") :], err)
            break
        token, comma, tail = rest.partition(",")
        rest = tail if comma else None
        if not comma and token == "":
            break
        _disk_token(st, token, err)
    if not st.vdev:
        raise err("no vdev specified")
    if not st.target and not st.cdrom:
        raise err("no target specified (and device not removable)")
    fmt = st.format or "raw"
    if st.cdrom and not st.target:
        fmt = "empty"
    access: Literal["rw", "r"] = "r" if st.access == "r" or (st.cdrom and not st.access) else "rw"
    return DiskSpec(
        vdev=st.vdev,
        target=st.target or "",
        format=fmt,
        access=access,
        cdrom=st.cdrom,
        options=tuple(st.options.items()),
        flags=tuple(st.flags),
    )


def _save(st: _DiskState, name: str, value: str, err: _ErrFn) -> None:
    if getattr(st, name) is not None:
        raise err(f"{name} respecified", value)
    setattr(st, name, value)


def _set_format(st: _DiskState, value: str, err: _ErrFn) -> None:
    if value and value not in DISK_FORMATS:
        raise err("unknown value for format", value)
    st.format = value or "raw"


def _set_access(st: _DiskState, value: str, err: _ErrFn) -> None:
    if value in ("", "rw", "w"):
        st.access = "rw"
    elif value in ("r", "ro"):
        st.access = "r"
    else:
        raise err("unknown value for access", value)


def _vdev_and_devtype(st: _DiskState, token: str, err: _ErrFn) -> bool:
    if ":" not in token:
        return False
    vdev, _, devtype = token.partition(":")
    if devtype != "cdrom":
        raise err("unknown deprecated type", token)
    _save(st, "vdev", vdev, err)
    st.cdrom = True
    return True


def _disk_token(st: _DiskState, part: str, err: _ErrFn) -> None:
    while True:
        if match := _DEPRECATED_FORMAT_RE.match(part):
            st.depr_prefix = True
            _set_format(st, match[1], err)
        elif match := _DEPRECATED_IGNORED_RE.match(part):
            st.depr_prefix = True
        elif match := _UNKNOWN_PREFIX_RE.match(part):
            raise err("unknown deprecated disk prefix", match[0])
        else:
            break
        part = part[match.end() :]
    key, eq, value = part.partition("=")
    if eq:
        _disk_named(st, key, value, err)
    elif part in DISK_FLAGS:
        if part == "cdrom":
            st.cdrom = True
        else:
            st.flags.append(part)
    elif st.target is None:
        st.target = part
    elif not st.depr_prefix and st.format is None:
        if st.target == "" and _vdev_and_devtype(st, part, err):
            st.format = "empty"
        else:
            _set_format(st, part, err)
    elif st.vdev is None:
        if not _vdev_and_devtype(st, part, err):
            st.vdev = part
    elif st.access is None:
        _set_access(st, part, err)
    else:
        raise err("too many positional parameters", part)


def _disk_named(st: _DiskState, key: str, value: str, err: _ErrFn) -> None:
    if key == "format":
        _set_format(st, value, err)
    elif key == "vdev":
        _save(st, "vdev", value, err)
    elif key == "access":
        _set_access(st, value, err)
    elif key == "devtype":
        if value not in ("cdrom", "disk"):
            raise err("unknown value for type", value)
        st.cdrom = value == "cdrom"
    elif key in _DISK_OPTIONS:
        allowed = _DISK_OPTIONS[key]
        if allowed is not None and value not in allowed:
            raise err(f"unknown value for {key}", value)
        if key in st.options:
            raise err(f"{key} respecified", value)
        st.options[key] = value
    else:
        raise err("unknown parameter", f"{key}={value}")


def _plain(value: str, what: str) -> str:
    if "," in value or value != value.strip() or "\n" in value or "=" in value:
        raise ValueError(f"disk {what} cannot contain ',', '=', newlines or edge spaces: {value!r}")
    return value


def render_disk(disk: DiskSpec) -> str:
    """Render the modern form, e.g. `format=raw, vdev=hda, access=rw, target=/dev/zvol/...`."""
    fmt = "empty" if disk.cdrom and not disk.target else disk.format
    if fmt not in DISK_FORMATS:
        raise ValueError(f"unknown disk format {fmt!r}")
    if not disk.target and not disk.cdrom:
        raise ValueError("a disk that is not a cdrom needs a target")
    if "\n" in disk.target:
        raise ValueError("a disk target cannot contain a newline")
    parts = [f"format={fmt}", f"vdev={_plain(disk.vdev, 'vdev')}", f"access={disk.access}"]
    if disk.cdrom:
        parts.append("devtype=cdrom")
    parts += [f"{_plain(k, 'option')}={_plain(v, 'option')}" for k, v in disk.options]
    parts += [_plain(f, "flag") for f in disk.flags]
    if disk.target:
        parts.append(f"target={disk.target}")
    return ", ".join(parts)


# --- vif specs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VifSpec:
    """One `vif = [...]` entry; keys other than these four are kept in `options`."""

    bridge: str | None = None
    mac: str | None = None
    model: str | None = None
    type: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    flags: tuple[str, ...] = ()


_VIF_FIELDS = ("bridge", "mac", "model", "type")


def parse_vif(spec: str) -> VifSpec:
    """Parse `key=value,...`; like xl, unknown keys are kept rather than refused."""
    known: dict[str, str] = {}
    options: list[tuple[str, str]] = []
    flags: list[str] = []
    for token in (t.strip() for t in spec.split(",")):
        if not token:
            continue
        key, eq, value = token.partition("=")
        key, value = key.strip(), value.strip()
        if not eq:
            flags.append(token)
        elif key in _VIF_FIELDS:
            known[key] = value
        else:
            options.append((key, value))
    return VifSpec(**known, options=tuple(options), flags=tuple(flags))


def render_vif(vif: VifSpec) -> str:
    """Render `bridge=bridge0,mac=...` (no spaces, as the handbook writes it)."""
    pairs = [(k, getattr(vif, k)) for k in _VIF_FIELDS if getattr(vif, k) is not None]
    pairs += list(vif.options)
    parts = [f"{_plain(k, 'vif key')}={_plain(v, 'vif value')}" for k, v in pairs]
    return ",".join(parts + [_plain(f, "vif flag") for f in vif.flags])


# --- domain config -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainConfig:
    """A domU's settings; `extra` keeps every key the panel does not model, verbatim."""

    name: str
    memory: int
    vcpus: int = 1
    builder: str = "hvm"
    disks: tuple[DiskSpec, ...] = ()
    vifs: tuple[VifSpec, ...] = ()
    vnc: bool | None = None
    vnclisten: str | None = None
    vncdisplay: int | None = None
    vncunused: bool | None = None
    vncpasswd: str | None = None
    serial: str | tuple[str, ...] | None = None
    usbdevice: str | tuple[str, ...] | None = None
    boot: str | None = None
    on_poweroff: str | None = None
    on_reboot: str | None = None
    on_crash: str | None = None
    #: `maxmem` (MiB) and `maxvcpus`: the ceilings `xl mem-set` and `xl vcpu-set` may reach.
    maxmem: int | None = None
    maxvcpus: int | None = None
    #: PVH: the kernel or PVH boot loader on the host.
    kernel: str | None = None
    #: `pci = [...]` specs, verbatim (`'03:00.0'` or `'0000:03:00.0,permissive=1'`).
    pci: tuple[str, ...] = ()
    extra: Mapping[str, Value] = field(default_factory=dict)

    def to_settings(self) -> dict[str, Value]:
        """Return settings in the handbook's order; `builder` is written as the modern `type`."""
        out: dict[str, Value] = {"type": self.builder}
        if self.kernel is not None:
            out["kernel"] = self.kernel
        out |= {"name": self.name, "memory": self.memory, "vcpus": self.vcpus}
        if self.maxmem is not None:
            out["maxmem"] = self.maxmem
        if self.maxvcpus is not None:
            out["maxvcpus"] = self.maxvcpus
        if self.vifs:
            out["vif"] = [render_vif(v) for v in self.vifs]
        if self.disks:
            out["disk"] = [render_disk(d) for d in self.disks]
        if self.pci:
            out["pci"] = list(self.pci)
        optional: dict[str, Value | None] = {
            "vnc": None if self.vnc is None else int(self.vnc),
            "vnclisten": self.vnclisten,
            "vncdisplay": self.vncdisplay,
            "vncunused": None if self.vncunused is None else int(self.vncunused),
            "vncpasswd": self.vncpasswd,
            "serial": _seq_value(self.serial),
            "usbdevice": _seq_value(self.usbdevice),
            "boot": self.boot,
            "on_poweroff": self.on_poweroff,
            "on_reboot": self.on_reboot,
            "on_crash": self.on_crash,
        }
        out.update({k: v for k, v in optional.items() if v is not None})
        for key, value in self.extra.items():
            if key in out or key in _MODELLED:
                raise ValueError(f"extra key {key!r} clashes with a modelled setting")
            out[key] = value
        return out

    @classmethod
    def from_settings(cls, settings: Mapping[str, Value]) -> DomainConfig:
        """Build from parsed settings; raise ParseError for what xl itself would refuse."""
        name = settings.get("name")
        if not isinstance(name, str) or not name:
            raise ParseError("Domain name must be specified.")
        if "type" in settings:
            builder = _str(settings, "type")
        elif "builder" in settings:
            builder = _str(settings, "builder")
            builder = "pv" if builder == "generic" else builder
        else:
            builder = "pv"
        return cls(
            name=name,
            memory=_num(settings, "memory", required=True),
            vcpus=_num(settings, "vcpus") or 1,
            builder=builder,
            disks=tuple(parse_disk(s) for s in _str_list(settings, "disk")),
            vifs=tuple(parse_vif(s) for s in _str_list(settings, "vif")),
            vnc=_opt_bool(settings, "vnc"),
            vnclisten=_opt_str(settings, "vnclisten"),
            vncdisplay=_num(settings, "vncdisplay") if "vncdisplay" in settings else None,
            vncunused=_opt_bool(settings, "vncunused"),
            vncpasswd=_opt_str(settings, "vncpasswd"),
            serial=_str_or_list(settings, "serial"),
            usbdevice=_str_or_list(settings, "usbdevice"),
            boot=_opt_str(settings, "boot"),
            on_poweroff=_opt_str(settings, "on_poweroff"),
            on_reboot=_opt_str(settings, "on_reboot"),
            on_crash=_opt_str(settings, "on_crash"),
            maxmem=_num(settings, "maxmem") if "maxmem" in settings else None,
            maxvcpus=_num(settings, "maxvcpus") if "maxvcpus" in settings else None,
            kernel=_opt_str(settings, "kernel"),
            pci=tuple(_str_list(settings, "pci")),
            extra={k: v for k, v in settings.items() if k not in _MODELLED},
        )


_MODELLED = frozenset(
    {
        "type",
        "builder",
        "name",
        "memory",
        "vcpus",
        "disk",
        "vif",
        "vnc",
        "vnclisten",
        "vncdisplay",
        "vncunused",
        "vncpasswd",
        "serial",
        "usbdevice",
        "boot",
        "on_poweroff",
        "on_reboot",
        "on_crash",
        "maxmem",
        "maxvcpus",
        "kernel",
        "pci",
    }
)


def _seq_value(value: str | tuple[str, ...] | None) -> Value | None:
    if isinstance(value, tuple):
        return list(value)
    return value


def _str(settings: Mapping[str, Value], key: str) -> str:
    value = settings[key]
    if not isinstance(value, str):
        raise ParseError(f'{key} must be a string, e.g. {key} = "..."')
    return value


def _opt_str(settings: Mapping[str, Value], key: str) -> str | None:
    return _str(settings, key) if key in settings else None


def _num(settings: Mapping[str, Value], key: str, *, required: bool = False) -> int:
    value = settings.get(key)
    if value is None:
        if required:
            raise ParseError(f"{key} must be specified")
        return 0
    if isinstance(value, str):
        number = _strtol0(value) if value else None
        if number is None:
            raise ParseError(f"parameter `{key}' is not a valid number")
        return number
    if isinstance(value, int):
        return value
    raise ParseError(f"parameter `{key}' is a list but should be a single value")


def _opt_bool(settings: Mapping[str, Value], key: str) -> bool | None:
    return bool(_num(settings, key)) if key in settings else None


def _str_list(settings: Mapping[str, Value], key: str) -> list[str]:
    value = settings.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ParseError(f"parameter `{key}' should be a list of strings")
    return [v for v in value if isinstance(v, str)]


def _str_or_list(settings: Mapping[str, Value], key: str) -> str | tuple[str, ...] | None:
    if key not in settings:
        return None
    value = settings[key]
    if isinstance(value, str):
        return value
    return tuple(_str_list(settings, key))


def without_cdroms(cfg: DomainConfig) -> DomainConfig:
    """Return `cfg` without its cdrom drives (the handbook's step after installing)."""
    return dataclasses.replace(cfg, disks=tuple(d for d in cfg.disks if not d.cdrom))


def cdrom_vdevs(cfg: DomainConfig) -> list[str]:
    """Return the vdevs of `cfg`'s cdrom drives, e.g. `['hdc']`."""
    return [d.vdev for d in cfg.disks if d.cdrom]
