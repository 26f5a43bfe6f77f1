"""Disk specs (`disk = [...]` entries) as xl-disk-configuration(5) and libxlu read them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from dom0.errors import ParseError
from dom0.xlcfg.render import plain as _plain

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
#: Deprecated network-block prefixes: libxlu turns `nbd:` into `script=block-nbd` (libxlu_disk_l.l).
_DEPRECATED_SCRIPT_RE = re.compile(r"(iscsi|e?nbd|drbd):")
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
    # libxlu splits at the last colon (strrchr): `xvda:1:cdrom` is vdev `xvda:1`.
    vdev, _, devtype = token.rpartition(":")
    _save(st, "vdev", vdev, err)
    if devtype not in ("cdrom", "disk"):
        raise err("unknown deprecated type", devtype)
    st.cdrom = devtype == "cdrom"
    return True


def _disk_token(st: _DiskState, part: str, err: _ErrFn) -> None:
    while True:
        if match := _DEPRECATED_FORMAT_RE.match(part):
            st.depr_prefix = True
            _set_format(st, match[1], err)
        elif match := _DEPRECATED_SCRIPT_RE.match(part):
            st.depr_prefix = True
            if "script" in st.options:
                raise err("script respecified", f"block-{match[1]}")
            st.options["script"] = f"block-{match[1]}"
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
