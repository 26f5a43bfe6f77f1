"""The simulator's reader for xl disk specifications (xl-disk-configuration(5), libxlu_disk_l.l)."""

from __future__ import annotations

import re
from dataclasses import dataclass

FORMATS = ("raw", "qcow", "qcow2", "vhd", "qed", "empty")
_ACCESS = {"r": False, "ro": False, "w": True, "rw": True}
_FORMAT_PREFIXES = ("raw", "qcow", "qcow2", "vhd")
_IGNORED_PREFIXES = ("phy", "file", "tap", "tap2", "aio", "ioemu", "tapdisk")
_NAMED = (
    "format",
    "vdev",
    "access",
    "devtype",
    "backend",
    "backendtype",
    "script",
    "specification",
)
_FLAGS = ("cdrom", "direct-io-safe", "discard", "no-discard", "trusted", "untrusted")


class DiskSpecError(Exception):
    """A disk spec that xl refuses; str() is the message after `disk specification: `."""


@dataclass(frozen=True)
class Disk:
    target: str
    format: str
    vdev: str
    readwrite: bool
    is_cdrom: bool

    @property
    def removable(self) -> bool:
        return self.is_cdrom


def _error(msg: str, spec: str, near: str | None = None) -> DiskSpecError:
    where = f": near `{near}'" if near is not None else ""
    return DiskSpecError(f"{msg}{where} in `{spec}'")


class _Spec:
    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.values: dict[str, str] = {}
        self.cdrom = False

    def set(self, key: str, value: str, tok: str) -> None:
        if key in self.values:
            raise _error(f"{key} respecified", self.spec, tok)
        self.values[key] = value

    def target_slot(self, value: str, tok: str) -> None:
        prefix = re.match(r"([a-z][a-z0-9]*):", value)
        if prefix and not value.startswith("/"):
            name = prefix.group(1)
            if name in _FORMAT_PREFIXES:
                self.set("format", name, tok)
            elif name not in _IGNORED_PREFIXES:
                raise _error("unknown deprecated disk prefix", self.spec, tok)
            value = value[prefix.end() :]
        if value:
            self.set("target", value, tok)

    def vdev_slot(self, value: str, tok: str) -> None:
        # The deprecated `hdc:cdrom` form names the device type after the vdev.
        if ":" in value:
            value, devtype = value.split(":", 1)
            if devtype == "cdrom":
                self.cdrom = True
            elif devtype != "disk":
                raise _error("bad disk syntax", self.spec, tok)
        if value:
            self.set("vdev", value, tok)


def _positional_slots(tokens: list[str]) -> tuple[str, ...]:
    """Return the meaning of the positional tokens, spotting the old `target,vdev,access` form."""
    positional = [t for t in tokens if "=" not in t and t not in _FLAGS]
    if (
        len(positional) == 3
        and positional[1] not in FORMATS
        and positional[1] != ""
        and positional[2] in _ACCESS
    ):
        return ("target", "vdev", "access")
    return ("target", "format", "vdev", "access")


def parse_disk(spec: str) -> Disk:
    """Parse one disk spec into a Disk, or raise DiskSpecError."""
    head, sep, target_rest = spec.partition("target=")
    if sep and head and not head.rstrip().endswith(","):
        head, sep, target_rest = spec, "", ""
    tokens = [t.strip() for t in head.split(",")] if head else []
    if sep and tokens and tokens[-1] == "":
        tokens.pop()
    parsed = _Spec(spec)
    slots = _positional_slots(tokens)
    slot = 0
    for tok in tokens:
        if tok in _FLAGS:
            parsed.cdrom = parsed.cdrom or tok == "cdrom"
            continue
        if "=" in tok:
            key, value = tok.split("=", 1)
            if key not in _NAMED:
                raise _error("unknown parameter", spec, tok)
            if key == "devtype":
                if value not in ("cdrom", "disk"):
                    raise _error("unknown value for devtype", spec, tok)
                parsed.cdrom = value == "cdrom"
            else:
                parsed.set(key, value, tok)
            continue
        if slot >= len(slots):
            raise _error("too many positional parameters", spec, tok)
        kind = slots[slot]
        slot += 1
        if kind == "target":
            parsed.target_slot(tok, tok)
        elif kind == "vdev":
            parsed.vdev_slot(tok, tok)
        elif tok:
            parsed.set(kind, tok, tok)
    if sep:
        parsed.set("target", target_rest, f"target={target_rest}")
    return _finish(parsed, spec)


def _finish(parsed: _Spec, spec: str) -> Disk:
    values = parsed.values
    fmt = values.get("format", "raw")
    if fmt not in FORMATS:
        raise _error("unknown value for format", spec, fmt)
    access = values.get("access", "r" if parsed.cdrom else "rw")
    if access not in _ACCESS:
        raise _error("unknown value for access", spec, access)
    vdev = values.get("vdev", "")
    if not vdev:
        raise _error("no vdev specified", spec)
    target = values.get("target", "")
    if not target and not parsed.cdrom:
        raise _error("no target specified (and device not removable)", spec)
    if parsed.cdrom and not target:
        fmt = "empty"
    return Disk(target, fmt, vdev, _ACCESS[access] and not parsed.cdrom, parsed.cdrom)
