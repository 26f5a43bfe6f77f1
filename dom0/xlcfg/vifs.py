"""Vif specs (`vif = [...]` entries, xl-network-configuration(5))."""

from __future__ import annotations

from dataclasses import dataclass

from dom0.xlcfg.render import plain as _plain


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
