"""What moving a domU to another Dom0 would do, and whether it may (issue 14, item 3).

`plan(domain, target)` reads only what the panel already knows (the hosts' cached `xl info`
facts, `xl list`, readiness, their `Pool` and `Volume` rows): the dialog re-plans on every change
of target without touching a host. The receiver checks are `dom0.migration_checks`; the panel
adds its own (maintenance, reachability, readiness, names, the ISO, the owner's quota). The job
checks again on the hosts before anything moves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from accounts import quotas
from dom0.migration_checks import FAIL, PASS, WARN, Check, blocking, check_receiver
from domains import cfg, records
from domains.migration.access_checks import access_checks
from domains.models import Domain
from hosts.choices import HostStatus
from hosts.models import Host
from storage.models import IsoImage, Pool, Volume

__all__ = ["LIVE", "STORAGE", "Plan", "is_ready", "plan", "volumes_of"]

LIVE, STORAGE = "live", "storage"
#: States of a domU that runs (memory and CPUs in use); `xl migrate` moves only these.
RUNS = ("running", "blocked", "paused")


@dataclass(frozen=True)
class Plan:
    """How `domain` would move to `target`, and the checklist that decides whether it may."""

    domain: Domain
    target: Host
    mode: str
    why: str
    checks: list[Check] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        return bool(blocking(self.checks))

    @property
    def failed(self) -> list[Check]:
        return blocking(self.checks)

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == WARN]


def mode_for(source: Host, target: Host) -> tuple[str, str]:
    """Return the mode a move between these hosts uses, and why (as the dialog says it)."""
    label = source.shared_storage
    if label and label == target.shared_storage:
        return LIVE, f"shared storage '{label}': disks are not copied"
    return STORAGE, "local ZFS volumes: copied with zfs send/recv, then a short downtime"


def volumes_of(domain: Domain) -> list[Volume]:
    """The volumes a storage migration copies: the boot disk and the extra disks."""
    found = [domain.volume] if domain.volume_id else []
    found += [v for v in domain.extra_volumes.all() if v.pk != domain.volume_id]
    return [v for v in found if v is not None]


def is_ready(host: Host) -> bool | None:
    """Whether the host's last readiness check passed (None: never checked)."""
    items = host.readiness or []
    if not items:
        return None
    return not any(item.get("status") == "fail" for item in items)


def plan(domain: Domain, target: Host) -> Plan:
    """Return the plan for moving `domain` to `target` (never runs anything on a host)."""
    source = domain.host
    mode, why = mode_for(source, target)
    running = domain.state in RUNS
    if mode == STORAGE and not running:
        why = "local ZFS volumes: copied with zfs send/recv; it is stopped, so no downtime"
    checks = _panel_checks(domain, source, target, mode)
    if target.pk != source.pk:
        checks += _receiver_checks(domain, source, target, mode, running)
        checks += access_checks(domain, source, target, mode)
        checks += [_iso(domain, target)]
        if mode == STORAGE:
            checks += [_datasets(domain, target), _quota(domain)]
    return Plan(domain=domain, target=target, mode=mode, why=why, checks=checks)


# --- the panel's own checks ---------------------------------------------------------------------


def _panel_checks(domain: Domain, source: Host, target: Host, mode: str) -> list[Check]:
    if target.pk == source.pk:
        return [
            Check("target", FAIL, "Another host", f"{domain.name} already runs on {target.name}.")
        ]
    checks = [Check("target", PASS, "Another host", f"From {source.name} to {target.name}.")]
    if target.maintenance:
        checks.append(
            Check(
                "maintenance",
                FAIL,
                "Receiver not in maintenance",
                f"{target.name} is in maintenance: no domUs are placed there until an admin "
                "ends it on its host page. Choose another host.",
            )
        )
    checks.append(_reachable(target, "receiver"))
    if source.status != HostStatus.OK:
        checks.append(_reachable(source, "source"))
    checks.append(_ready(target))
    if records.never_made(domain):
        checks.append(
            Check(
                "state",
                FAIL,
                "The domU exists on its host",
                f"{domain.name}'s create stopped before its disk was made: there is nothing "
                "to move. Delete it and create it again.",
            )
        )
    elif mode == LIVE and domain.state not in RUNS:
        checks.append(
            Check(
                "state",
                FAIL,
                "Running (live migration)",
                f"{domain.name} is {domain.get_state_display().lower()}: a live migration moves "
                "a running domU. Start it first.",
            )
        )
    else:
        # xl's "blocked" (-b----) is a running domU waiting for work: say running, as the pages do.
        shown = "running" if domain.state == "blocked" else domain.get_state_display().lower()
        checks.append(Check("state", PASS, "The domU can move", f"{domain.name} is {shown}."))
    name_taken = Domain.objects.filter(host=target, name=domain.name).exists()
    checks.append(
        Check(
            "panel_name",
            FAIL if name_taken else PASS,
            "No panel domU of that name on the receiver",
            f"{target.name} already has a domU named {domain.name} in the panel: rename or "
            "delete one of them."
            if name_taken
            else f"No domU named {domain.name} on {target.name} in the panel.",
        )
    )
    checks.append(_vnc(domain, target))
    return checks


def _vnc(domain: Domain, target: Host) -> Check:
    label = "VNC display free on the receiver"
    display = domain.vnc_display
    if display is None:
        return Check("vnc", PASS, label, "No fixed VNC display: xl picks a port there.")
    holder = Domain.objects.filter(host=target, vnc_display=display).exclude(pk=domain.pk).first()
    if holder is not None:
        return Check(
            "vnc",
            FAIL,
            label,
            f"VNC display :{display} (port {domain.vnc_port}) is {holder.name}'s on "
            f"{target.name}: change {domain.name}'s VNC display on its edit page, then migrate.",
        )
    return Check("vnc", PASS, label, f"Display :{display} (port {domain.vnc_port}) is free there.")


def _reachable(host: Host, role: str) -> Check:
    label = f"{role.capitalize()} reachable"
    if host.status == HostStatus.OK:
        return Check(f"{role}_reachable", PASS, label, f"{host.name} answered its last refresh.")
    why = f" ({host.status_reason})" if host.status_reason else ""
    return Check(
        f"{role}_reachable",
        FAIL,
        label,
        f"{host.name} is {host.get_status_display().lower()}{why}: refresh it on its host page "
        "once it answers.",
    )


def _ready(target: Host) -> Check:
    label = "Receiver ready (Dom0 readiness)"
    ready = is_ready(target)
    if ready is None:
        return Check(
            "ready",
            WARN,
            label,
            f"{target.name}'s readiness was never checked: run 'Refresh facts & readiness' "
            "on its host page.",
        )
    if not ready:
        failing = [
            str(i.get("title") or i.get("key"))
            for i in target.readiness or []
            if i.get("status") == "fail"
        ]
        return Check(
            "ready",
            FAIL,
            label,
            f"{target.name} fails its readiness checklist ({', '.join(failing)}): fix those "
            "on its host page first.",
        )
    return Check("ready", PASS, label, f"{target.name} passes its readiness checklist.")


def _iso(domain: Domain, target: Host) -> Check:
    label = "Installer ISO ejected or on the receiver"
    paths = _cdrom_paths(domain)
    if not paths:
        return Check("iso", PASS, label, "No ISO is attached.")
    on_target = {
        iso.path
        for iso in IsoImage.objects.filter(host=target, state=IsoImage.State.READY).select_related(
            "host"
        )
    }
    missing = [p for p in paths if p not in on_target]
    if missing:
        return Check(
            "iso",
            FAIL,
            label,
            f"{', '.join(missing)} is attached and {target.name} has no ready ISO at that path: "
            "eject it first (Installer media → Eject, or Finish install), or put the same "
            f"image on {target.name} at the same path.",
        )
    return Check("iso", PASS, label, f"{', '.join(paths)} is on {target.name} at the same path.")


def _cdrom_paths(domain: Domain) -> list[str]:
    version = records.current_version(domain)
    if version is None:
        return []
    try:
        disks = cfg.parse(version.text).disks
    except Exception:  # noqa: BLE001 (an unreadable config: the record's ISO is what we know)
        return [domain.iso.path] if domain.iso_id and domain.iso else []
    return [d.target for d in disks if d.cdrom and d.target]


def _datasets(domain: Domain, target: Host) -> Check:
    label = "No volume of the same name on the receiver"
    names = [target_dataset(v, target) for v in volumes_of(domain)]
    taken = list(
        Volume.objects.filter(host=target, dataset__in=names).values_list("dataset", flat=True)
    )
    if taken:
        return Check(
            "datasets",
            FAIL,
            label,
            f"{target.name} already has {', '.join(sorted(taken))}: destroy or rename it there "
            "(Storage page), then migrate.",
        )
    return Check("datasets", PASS, label, f"{', '.join(names) or 'Nothing'} free on {target.name}.")


def target_dataset(volume: Volume, target: Host) -> str:
    """Where a storage migration puts a copy of `volume` on `target`: the same dataset when both
    hosts use the same volumes parent, else under the target's (as `storage_move` does)."""
    if volume.host.volumes_parent == target.volumes_parent:
        return volume.dataset
    return f"{target.volumes_parent}/{volume.name}"


def _quota(domain: Domain) -> Check:
    label = "Owner's disk quota"
    need = sum(v.size_bytes for v in volumes_of(domain))
    if not need or domain.owner is None:
        return Check("quota", PASS, label, "Nothing to count against a quota.")
    try:
        quotas.check(domain.owner, disk_bytes=need)
    except quotas.QuotaExceeded as exc:
        return Check(
            "quota",
            FAIL,
            label,
            f"The copy counts against the owner's quota until the source volumes are "
            f"destroyed after the move. {exc} Destroy unused volumes (or the source volumes "
            "left by an earlier migration), or ask an admin to raise the quota.",
        )
    return Check(
        "quota",
        PASS,
        label,
        f"The owner's quota holds a second copy ({quotas.fmt('disk_bytes', need)}) until the "
        "source volumes are destroyed.",
    )


# --- the receiver checks (dom0.migration_checks) from cached facts ----------------------------


def _info(host: Host) -> dict[str, Any]:
    facts: Mapping[str, Any] = host.facts or {}
    return {
        "xen_version": facts.get("xen_version"),
        "virt_caps": facts.get("virt_caps"),
        "hw_caps": facts.get("hw_caps"),
        "free_memory": host.free_memory_mib,
        "nr_cpus": host.nr_cpus,
    }


def _bridges(target: Host) -> list[str]:
    """The bridges the panel knows exist on `target` (never a full list: see `_soften`)."""
    known = []
    for item in target.readiness or []:
        if item.get("key") == "bridge" and str(item.get("detail", "")).startswith(
            f"{target.default_bridge} exists"
        ):
            known.append(target.default_bridge)
    # A bridge a running domU there is attached to exists.
    running = Domain.objects.filter(host=target, state__in=RUNS)
    known += [b for b in running.values_list("nics__bridge", flat=True) if b]
    return list(dict.fromkeys(known))


def _receiver_checks(
    domain: Domain, source: Host, target: Host, mode: str, running: bool
) -> list[Check]:
    target_info = _info(target)
    target_info["bridges"] = _bridges(target)
    target_info["pools"] = [
        {"name": p.name, "free": p.free_bytes, "health": p.health or "ONLINE"}
        for p in Pool.objects.filter(host=target)
    ]
    listed = (target.facts or {}).get("domains")
    target_info["domains"] = [str(d.get("name")) for d in listed] if listed is not None else None
    dom = {
        "name": domain.name,
        "type": domain.guest_type,
        "memory_mib": domain.memory_mb,
        "max_memory_mib": domain.maxmem_mb,
        "max_vcpus": domain.maxvcpus or domain.vcpus,
        "nics": [{"bridge": n.bridge or domain.bridge} for n in domain.nics.all()],
    }
    if mode == STORAGE:
        dom["volumes"] = [
            {
                "name": v.dataset,
                "size": v.size_bytes,
                "pool": target_dataset(v, target).split("/")[0],
            }
            for v in volumes_of(domain)
        ]
    checks = check_receiver(_info(source), target_info, dom)
    return [_soften(c, target, target_info["bridges"], running) for c in checks]


def _soften(check: Check, target: Host, bridges: list[str], running: bool) -> Check:
    """Turn what cached facts cannot decide into warnings.

    The panel knows only some of a host's bridges (its default one and those its running domUs
    use), so a bridge it does not know of may still exist; a stopped domU needs memory only when
    it is started there.
    """
    if check.status != FAIL:
        return check
    if check.key == "bridges":
        known = ", ".join(bridges) or "none"
        return Check(
            check.key,
            WARN,
            check.label,
            f"The panel could not confirm that every bridge of the domU's NICs exists on "
            f"{target.name} (it knows of: {known}). Check with ifconfig there; if one is "
            "missing, the migration stops before the switch and the domU stays where it is.",
        )
    if check.key == "memory" and not running:
        return Check(
            check.key,
            WARN,
            check.label,
            f"{check.message} It is stopped: this matters when it is started there.",
        )
    return check
