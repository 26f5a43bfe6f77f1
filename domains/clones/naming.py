"""Names and config text of clones (pure functions: no DB, no I/O, so they are tested fast).

A batch of clones is named from a pattern such as `web-{n}`; each clone's config is the
template's config with its own name, MACs, VNC display and password, and disks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dom0 import validate, xlcfg
from dom0.errors import ValidationError
from domains import cfg

PLACEHOLDER = "{n}"
MAX_COUNT = 50
MAX_START = 9999
#: Per-domU keys of a config that a clone must not share with its template (xl picks new ones).
PER_DOMU_KEYS = ("uuid",)


class PatternError(ValueError):
    """The name pattern cannot give the names asked for (the message says why)."""


def expand(pattern: str, count: int, start: int = 1) -> list[str]:
    """Return the names a pattern gives: `web-{n}`, 3, 1 -> web-1, web-2, web-3.

    One clone may be named without `{n}`; several need it (they would all get one name).
    """
    pattern = pattern.strip()
    if pattern.count(PLACEHOLDER) > 1:
        raise PatternError(f"Use {PLACEHOLDER} once in the name.")
    if PLACEHOLDER not in pattern:
        if count > 1:
            raise PatternError(
                f"To create {count} domUs, put {PLACEHOLDER} in the name (e.g. {pattern}-{{n}}): "
                "it becomes each one's number."
            )
        return [pattern]
    return [pattern.replace(PLACEHOLDER, str(n)) for n in range(start, start + count)]


def check_names(names: Sequence[str], taken: set[str]) -> list[str]:
    """Return what is wrong with each name (valid for xl, free on the host); [] if all good."""
    problems = []
    for name in names:
        try:
            validate.domain_name(name)
        except ValidationError as exc:
            problems.append(f"{name or '(empty)'}: {exc.rule}.")
            continue
        if name in taken:
            problems.append(f"{name}: a domain of that name already exists on the host.")
    return problems


def datasets_for(parent: str, name: str, count: int, taken: set[str]) -> list[str]:
    """Return `count` free datasets `<parent>/<name>-disk<i>`, skipping those in use."""
    out: list[str] = []
    i = 0
    while len(out) < count:
        dataset = f"{parent}/{name}-disk{i}"
        if dataset not in taken:
            out.append(dataset)
        i += 1
    return out


def zvol_dataset(target: str) -> str | None:
    """Return the dataset of a `/dev/zvol/<dataset>` disk target, else None."""
    return target.removeprefix("/dev/zvol/") if target.startswith("/dev/zvol/") else None


def config_disks(text: str) -> list[str]:
    """Return the datasets of a config's ZFS volume disks in order (not CD-ROMs)."""
    parsed = cfg.parse(text)
    found = [zvol_dataset(d.target) for d in parsed.disks if not d.cdrom and d.target]
    return [d for d in found if d]


def foreign_disks(text: str) -> list[str]:
    """Return the targets of disks that are not ZFS volumes (a template cannot clone those)."""
    parsed = cfg.parse(text)
    return [
        d.target for d in parsed.disks if not d.cdrom and d.target and not zvol_dataset(d.target)
    ]


def pci_devices(text: str) -> list[str]:
    """Return the `pci = [...]` specs of a config (a clone gets none of them)."""
    return list(cfg.parse(text).pci)


def nic_bridges(text: str, default: str) -> list[str]:
    """Return each vif's bridge, in order (the host's default bridge where none is named)."""
    return [vif.bridge or default for vif in cfg.parse(text).vifs]


@dataclass(frozen=True)
class CloneSpec:
    """What one clone's config gets that its template's must not give it."""

    name: str
    memory_mb: int
    vcpus: int
    disks: Mapping[str, str]  # template dataset -> clone dataset
    macs: Sequence[str]  # one per vif, in order
    bridges: Sequence[str]  # one per vif, in order
    vnc_display: int | None
    vnc_password: str


def clone_config(template_text: str, spec: CloneSpec) -> str:
    """Return the clone's config: the template's with the clone's name, disks, NICs and VNC.

    CD-ROMs are dropped (a template is an installed system), and so are PCI devices: a device
    is passed through to one domU at a time, and N clones would all name the template's. A
    `maxmem`/`maxvcpus` below the clone's memory or vCPUs is raised to them (xl refuses
    maxmem < memory).
    """
    parsed = cfg.parse(template_text)
    disks = []
    for disk in parsed.disks:
        if disk.cdrom:
            continue
        source = zvol_dataset(disk.target)
        if source is None or source not in spec.disks:
            raise ValueError(f"the template's disk {disk.target} is not one of its volumes")
        disks.append(dataclasses.replace(disk, target=f"/dev/zvol/{spec.disks[source]}"))
    if len(spec.macs) != len(parsed.vifs) or len(spec.bridges) != len(parsed.vifs):
        raise ValueError("one MAC and one bridge per vif of the template")
    vifs = tuple(
        dataclasses.replace(vif, mac=mac, bridge=bridge)
        for vif, mac, bridge in zip(parsed.vifs, spec.macs, spec.bridges, strict=True)
    )
    # `pci_permissive` and the like only tune the `pci` list, which a clone does not get.
    extra = {
        k: v for k, v in parsed.extra.items() if k not in PER_DOMU_KEYS and not k.startswith("pci")
    }
    changes: dict[str, object] = {
        "name": spec.name,
        "memory": spec.memory_mb,
        "vcpus": spec.vcpus,
        "disks": tuple(disks),
        "vifs": vifs,
        "pci": (),
    }
    for key, value in (("maxmem", spec.memory_mb), ("maxvcpus", spec.vcpus)):
        changes.update(_at_least(parsed, extra, key, value))
    if parsed.vnc:
        changes |= {
            "vncdisplay": spec.vnc_display,
            "vncunused": False if spec.vnc_display is not None else None,
            "vncpasswd": spec.vnc_password or None,
        }
    changes["extra"] = extra
    return cfg.render(dataclasses.replace(parsed, **changes))  # type: ignore[arg-type]


def _at_least(
    parsed: xlcfg.DomainConfig, extra: dict[str, xlcfg.Value], key: str, value: int
) -> dict[str, object]:
    """Raise `maxmem`/`maxvcpus` to `value` if the template sets it lower (a field or extra)."""
    if hasattr(parsed, key):
        current = getattr(parsed, key)
        return {key: value} if isinstance(current, int) and current < value else {}
    current = extra.get(key)
    if isinstance(current, int) and current < value:
        extra[key] = value
    return {}
