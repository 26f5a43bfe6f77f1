"""The checklist before a domU moves to another Dom0 (issue 14, item 3), from plain dicts.

`check_receiver(source_info, target_info, domain)` is pure. It takes what the hosts' refresh
already read, as `dom0.parsers` produces it:

- `source_info`, `target_info`: the `xl info` values (`parse_xl_info(text).values`: `xen_major`,
  `xen_minor`, `xen_version`, `virt_caps`, `hw_caps`, `free_memory` in MiB, `nr_cpus`). The
  receiver's dict may also hold `bridges` (its bridge interfaces), `pools` (`zpool list` rows
  as dicts, or `{pool: free bytes}`; an `available` key, the pool root's `zfs get available`,
  wins over `free`, which counts parity and slop space) and `domains` (its `xl list` rows as
  dicts, or names).
- `domain`: one `xl list -l` entry, either as `dataclasses.asdict(DomainDetail)` or libxl's raw
  JSON (`{"domid": ..., "config": {"c_info": ..., "b_info": ..., "nics": ...}}`), plus
  `volumes`: the volumes to copy, `[{"name": "tank/xen/vm1", "size": bytes, "pool": "tank"}]`
  (`pool` defaults to the volume's own pool; leave `volumes` out for shared storage).

Each `Check` is pass, fail or warn, with a message that says what to fix. A value that could
not be read fails its check rather than passing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["FAIL", "PASS", "WARN", "Check", "blocking", "check_receiver"]

PASS, FAIL, WARN = "pass", "fail", "warn"
#: libxl's bridge for a vif that names none (tools/libs/light/libxl_nic.c).
LIBXL_DEFAULT_BRIDGE = "xenbr0"
_MIB = 1 << 20
_DEAD_POOL_HEALTH = {"FAULTED", "UNAVAIL", "SUSPENDED", "REMOVED", "OFFLINE"}


@dataclass(frozen=True)
class Check:
    key: str
    status: str
    label: str
    message: str


def blocking(checks: Iterable[Check]) -> list[Check]:
    """Return the checks that stop a migration (the failed ones)."""
    return [c for c in checks if c.status == FAIL]


def check_receiver(
    source_info: Mapping[str, Any], target_info: Mapping[str, Any], domain: Mapping[str, Any]
) -> list[Check]:
    """Return the pre-migration checklist for moving `domain` from the source to the target."""
    dom = _Domain.read(domain)
    return [
        _xen_version(source_info, target_info),
        _virt_caps(source_info, target_info, dom),
        _cpu_features(source_info, target_info),
        _memory(target_info, dom),
        _vcpus(target_info, dom),
        _bridges(target_info, dom),
        _pool_space(target_info, dom),
        _name(target_info, dom),
    ]


# --- reading the inputs ------------------------------------------------------------------------


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _defbool(value: object) -> bool | None:
    """A libxl defbool as `xl list -l` prints it (`"True"`, `"False"`, `"<default>"`)."""
    if isinstance(value, bool):
        return value
    return {"True": True, "False": False}.get(str(value))


def _caps(info: Mapping[str, Any]) -> set[str] | None:
    raw = info.get("virt_caps")
    if isinstance(raw, str):
        return set(raw.split())
    if isinstance(raw, Iterable):
        return {str(c) for c in raw}
    return None


@dataclass(frozen=True)
class _Volume:
    name: str
    size: int | None
    pool: str


@dataclass(frozen=True)
class _Domain:
    name: str
    type: str | None
    memory_mib: int | None
    max_memory_mib: int | None
    vcpus: int | None
    hap: bool | None
    bridges: tuple[str, ...]
    volumes: tuple[_Volume, ...]

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> _Domain:
        config = _obj(data.get("config"))
        c_info, b_info = _obj(config.get("c_info")), _obj(config.get("b_info"))
        flat = "name" in data
        if flat:
            name = str(data.get("name") or "")
            dtype = data.get("type") or c_info.get("type")
            memory = _int(data.get("memory_mib", data.get("memory")))
            max_memory = _int(data.get("max_memory_mib", data.get("maxmem")))
            vcpus = _int(data.get("max_vcpus", data.get("vcpus")))
            nics = data["nics"] if "nics" in data else config.get("nics")
            nics = nics or []
        else:  # libxl's own JSON: memory in KiB
            name = str(c_info.get("name") or "")
            dtype = c_info.get("type")
            target_kb, max_kb = _int(b_info.get("target_memkb")), _int(b_info.get("max_memkb"))
            memory = target_kb // 1024 if target_kb is not None else None
            max_memory = max_kb // 1024 if max_kb is not None else None
            vcpus = _int(b_info.get("max_vcpus"))
            nics = config.get("nics") or []
        bridges = tuple(
            dict.fromkeys(str(_obj(n).get("bridge") or LIBXL_DEFAULT_BRIDGE) for n in nics)
        )
        volumes = []
        for raw in data.get("volumes") or []:
            vol = _obj(raw)
            vname = str(vol.get("name") or "")
            pool = str(vol.get("pool") or vname.split("/", 1)[0])
            volumes.append(_Volume(vname, _int(vol.get("size")), pool))
        return cls(
            name=name,
            type=str(dtype).lower() if dtype else None,
            memory_mib=memory,
            max_memory_mib=max_memory,
            vcpus=vcpus,
            hap=_defbool(c_info.get("hap")),
            bridges=bridges,
            volumes=tuple(volumes),
        )


# --- the checks --------------------------------------------------------------------------------


def _version(info: Mapping[str, Any]) -> tuple[int, int] | None:
    major, minor = _int(info.get("xen_major")), _int(info.get("xen_minor"))
    if major is not None and minor is not None:
        return major, minor
    match = re.match(r"\s*([0-9]+)\.([0-9]+)", str(info.get("xen_version") or ""))
    return (int(match[1]), int(match[2])) if match else None


def _xen_version(source: Mapping[str, Any], target: Mapping[str, Any]) -> Check:
    label = "Same Xen version"
    src, dst = _version(source), _version(target)
    if src is None or dst is None:
        side = "source" if src is None else "receiver"
        return Check(
            "xen_version", FAIL, label, f"The {side}'s Xen version is unknown; refresh that host."
        )
    shown = f"{dst[0]}.{dst[1]}"
    if src != dst:
        return Check(
            "xen_version",
            FAIL,
            label,
            f"The source runs Xen {src[0]}.{src[1]} and the receiver Xen {shown}: upgrade one "
            "so both run the same version, then migrate.",
        )
    return Check("xen_version", PASS, label, f"Both hosts run Xen {shown}.")


def _virt_caps(source: Mapping[str, Any], target: Mapping[str, Any], dom: _Domain) -> Check:
    key, label = "virt_caps", "Receiver can run this kind of domU"
    caps, src_caps = _caps(target), _caps(source) or set()
    if not caps:
        return Check(key, FAIL, label, "The receiver's virt_caps are unknown; refresh the host.")
    if dom.type not in ("hvm", "pvh", "pv"):
        return Check(key, FAIL, label, "The domU's type (hvm, pvh or pv) is unknown.")
    kind = dom.type.upper()
    if dom.type == "pv":
        # Older xl prints no `pv` token at all; only a receiver that lists caps without it lacks PV.
        if "pv" in src_caps and "pv" not in caps:
            return Check(
                key, FAIL, label, "The receiver's Xen is built without PV support; use another."
            )
        return Check(key, PASS, label, "The receiver runs PV domUs.")
    if "hvm" not in caps:
        return Check(
            key,
            FAIL,
            label,
            f"The receiver cannot run {kind} domUs (no 'hvm' in xl info virt_caps): enable VT-x "
            "or AMD-V in its firmware, or choose another host.",
        )
    # The migrated config carries libxl's resolved choice; unresolved means libxl's default.
    hap = dom.hap if dom.hap is not None else "hap" in src_caps
    if hap and "hap" not in caps:
        return Check(
            key,
            FAIL,
            label,
            "The domU uses hardware-assisted paging (hap) and the receiver has none, so Xen "
            "would refuse it: enable EPT/NPT on the receiver or choose another host.",
        )
    if not hap and "shadow" not in caps:
        return Check(
            key,
            FAIL,
            label,
            "The domU uses shadow paging and the receiver's Xen has no shadow paging: set hap=1 "
            "in the domU's config (after a restart) or choose another host.",
        )
    paging = "hap" if hap else "shadow"
    return Check(key, PASS, label, f"The receiver runs {kind} domUs with {paging} paging.")


def _hw_caps(info: Mapping[str, Any]) -> list[int] | None:
    words = str(info.get("hw_caps") or "").strip().split(":")
    if not words or not all(re.fullmatch(r"[0-9a-fA-F]{1,8}", w) for w in words):
        return None
    return [int(w, 16) for w in words]


def _cpu_features(source: Mapping[str, Any], target: Mapping[str, Any]) -> Check:
    key, label = "cpu_features", "Receiver's CPU has the source's features"
    src, dst = _hw_caps(source), _hw_caps(target)
    if src is None or dst is None or len(src) != len(dst):
        return Check(
            key, WARN, label, "Could not compare the hosts' CPU features (xl info hw_caps)."
        )
    missing = [i for i, (a, b) in enumerate(zip(src, dst, strict=True)) if a & ~b]
    if missing:
        return Check(
            key,
            WARN,
            label,
            f"The receiver's CPU lacks features the source's has (hw_caps words {missing}): "
            "the receiver may refuse the domU, or it may misbehave. Prefer a host with the same "
            "CPU, or level the domU's CPUID (cpuid= in its config) to both hosts.",
        )
    return Check(key, PASS, label, "The receiver's CPU has every feature the source's has.")


def _memory(target: Mapping[str, Any], dom: _Domain) -> Check:
    key, label = "memory", "Enough free memory on the receiver"
    free = _int(target.get("free_memory"))
    if free is None:
        return Check(key, FAIL, label, "The receiver's free memory is unknown; refresh the host.")
    if dom.memory_mib is None:
        return Check(key, FAIL, label, "The domU's memory size is unknown.")
    if free < dom.memory_mib:
        return Check(
            key,
            FAIL,
            label,
            f"The receiver has {free} MiB free and the domU needs {dom.memory_mib} MiB: stop or "
            "shrink domUs there, or choose another host.",
        )
    if dom.max_memory_mib is not None and free < dom.max_memory_mib:
        return Check(
            key,
            WARN,
            label,
            f"The receiver has {free} MiB free: enough for the domU's {dom.memory_mib} MiB, "
            f"but not for its ceiling of {dom.max_memory_mib} MiB if it balloons up.",
        )
    return Check(
        key, PASS, label, f"{free} MiB free on the receiver; the domU needs {dom.memory_mib} MiB."
    )


def _vcpus(target: Mapping[str, Any], dom: _Domain) -> Check:
    key, label = "vcpus", "Enough CPUs on the receiver"
    cpus = _int(target.get("nr_cpus"))
    if cpus is None or dom.vcpus is None:
        return Check(key, WARN, label, "Could not compare the domU's vCPUs with the host's CPUs.")
    if cpus < dom.vcpus:
        return Check(
            key,
            WARN,
            label,
            f"The domU has {dom.vcpus} vCPUs and the receiver {cpus} CPUs: it will run, but "
            "its vCPUs will share CPUs and run slower.",
        )
    return Check(key, PASS, label, f"{cpus} CPUs on the receiver for {dom.vcpus} vCPUs.")


def _bridges(target: Mapping[str, Any], dom: _Domain) -> Check:
    key, label = "bridges", "The bridges of every NIC exist on the receiver"
    if not dom.bridges:
        return Check(key, PASS, label, "The domU has no NICs.")
    have = target.get("bridges")
    if have is None:
        return Check(key, FAIL, label, "The receiver's bridges are unknown; refresh the host.")
    missing = [b for b in dom.bridges if b not in {str(x) for x in have}]
    if missing:
        names = ", ".join(missing)
        return Check(
            key,
            FAIL,
            label,
            f"The receiver has no {names}: create it there (cloned_interfaces in rc.conf) "
            "or change the domU's NICs.",
        )
    return Check(key, PASS, label, f"{', '.join(dom.bridges)} present on the receiver.")


def _pools(target: Mapping[str, Any]) -> dict[str, tuple[int | None, str]] | None:
    raw = target.get("pools")
    if raw is None:
        return None
    rows: dict[str, tuple[int | None, str]] = {}
    items = raw.items() if isinstance(raw, Mapping) else ((None, r) for r in raw)
    for name, row in items:
        if isinstance(row, Mapping):
            pool = str(row.get("name") or name)
            free = _int(row.get("available", row.get("free")))
            rows[pool] = (free, str(row.get("health") or "ONLINE"))
        else:
            rows[str(name)] = (_int(row), "ONLINE")
    return rows


def _gib(nbytes: int) -> str:
    return f"{nbytes / (1 << 30):.1f} GiB"


def _pool_space(target: Mapping[str, Any], dom: _Domain) -> Check:
    key, label = "pool_space", "Room for the volumes on the receiver"
    if not dom.volumes:
        return Check(key, PASS, label, "No volumes to copy (shared storage).")
    pools = _pools(target)
    if pools is None:
        return Check(key, FAIL, label, "The receiver's pools are unknown; refresh the host.")
    need: dict[str, int] = {}
    for vol in dom.volumes:
        if vol.size is None:
            return Check(key, FAIL, label, f"The size of {vol.name or 'a volume'} is unknown.")
        need[vol.pool] = need.get(vol.pool, 0) + vol.size
    problems = []
    for pool, nbytes in sorted(need.items()):
        if pool not in pools:
            problems.append(f"the receiver has no pool '{pool}' (create it or pick another pool)")
            continue
        free, health = pools[pool]
        if health.upper() in _DEAD_POOL_HEALTH:
            problems.append(f"pool '{pool}' is {health} (repair it first)")
        elif free is None:
            problems.append(f"the free space of pool '{pool}' is unknown (refresh the host)")
        elif free < nbytes:
            problems.append(
                f"pool '{pool}' has {_gib(free)} free and the volumes need {_gib(nbytes)} "
                "(free space there or pick another pool)"
            )
    if problems:
        text = "; ".join(problems)
        return Check(key, FAIL, label, f"{text[:1].upper()}{text[1:]}.")
    shown = ", ".join(f"{_gib(n)} in '{p}'" for p, n in sorted(need.items()))
    return Check(key, PASS, label, f"Room for {shown}.")


def _names(target: Mapping[str, Any]) -> set[str] | None:
    raw = target.get("domains")
    if raw is None:
        return None
    return {str(_obj(r).get("name")) if isinstance(r, Mapping) else str(r) for r in raw}


def _name(target: Mapping[str, Any], dom: _Domain) -> Check:
    key, label = "name", "No domain of the same name on the receiver"
    names = _names(target)
    if names is None:
        return Check(key, FAIL, label, "The receiver's domains are unknown; refresh the host.")
    if not dom.name:
        return Check(key, FAIL, label, "The domU's name is unknown.")
    if dom.name in names:
        return Check(
            key,
            FAIL,
            label,
            f"A domain named '{dom.name}' already runs on the receiver: rename or remove it.",
        )
    # xl names the copy being received <name>--incoming (xl_vmcontrol.c, xl_migrate.c).
    if f"{dom.name}--incoming" in names:
        return Check(
            key,
            FAIL,
            label,
            f"'{dom.name}--incoming' is left on the receiver from an earlier migration: "
            "destroy it there (xl destroy) first.",
        )
    return Check(key, PASS, label, f"No domain named '{dom.name}' on the receiver.")
