"""The VNC console a config gives a domU, as libxl decides it (which keys count, and defaults).

HVM: the top-level `vnc*` keys, and VNC is on unless `vnc = 0` (libxl_create.c sets
`u.hvm.vnc.enable` to true by default); a `vfb = [...]` list does not drive an HVM guest's VNC.
PV and PVH: the first `vfb` entry (`vnc=1,vnclisten=...`; VNC defaults to on for a vfb,
libxl_console.c), else for PV the top-level `vnc = 1` (xl_parse.c makes a vfb of it).
Sources: xen tools/xl/xl_parse.c (`parse_top_level_vnc_options`, the `vfb` loop),
tools/libs/light/libxl_dm.c `libxl__dm_vnc`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from dom0.xlcfg.domain import DomainConfig

_ATOI_RE = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")


@dataclass(frozen=True)
class VncView:
    """Where the domU's VNC server will be: `source` says which keys set it."""

    enabled: bool
    listen: str | None = None
    display: int | None = None
    findunused: bool | None = None
    passwd: str | None = None
    source: str = "vnc"  # "vnc" (top-level keys), "vfb" (a vfb entry), "default" (HVM default)


def _atoi(text: str) -> int:
    """C's atoi: the leading number (after blanks, with a sign), 0 when there is none."""
    match = _ATOI_RE.match(text)
    return int(match[1]) if match else 0


def vfb_fields(spec: str) -> dict[str, str]:
    """Return a vfb entry's `key=value` fields as xl's strtok loop reads them.

    xl stops at the first field without `=`, skips leading spaces only, and keeps the value
    verbatim (trailing spaces included).
    """
    fields: dict[str, str] = {}
    for part in (p for p in spec.split(",") if p):
        key, eq, value = part.lstrip(" ").partition("=")
        if not eq:
            break
        fields[key] = value
    return fields


def vnc_view(cfg: DomainConfig) -> VncView:
    """Return the VNC console libxl gives this config (see the module's note)."""
    if cfg.builder != "hvm":
        vfbs = cfg.extra.get("vfb")
        first = vfbs[0] if isinstance(vfbs, list) and vfbs else None
        if isinstance(first, str):
            return _from_vfb(vfb_fields(first))
        if cfg.builder != "pv" or not cfg.vnc:
            return VncView(enabled=False)
    elif cfg.vnc is None:
        return VncView(True, cfg.vnclisten, cfg.vncdisplay, cfg.vncunused, cfg.vncpasswd, "default")
    return VncView(bool(cfg.vnc), cfg.vnclisten, cfg.vncdisplay, cfg.vncunused, cfg.vncpasswd)


def _from_vfb(fields: Mapping[str, str]) -> VncView:
    enabled = _atoi(fields["vnc"]) != 0 if "vnc" in fields else True
    return VncView(
        enabled=enabled,
        listen=fields.get("vnclisten"),
        display=_atoi(fields["vncdisplay"]) if "vncdisplay" in fields else None,
        findunused=_atoi(fields["vncunused"]) != 0 if "vncunused" in fields else None,
        passwd=fields.get("vncpasswd"),
        source="vfb",
    )
