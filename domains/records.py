"""Keep Domain rows in step with their config versions and with what `xl list` shows."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.db.models import Max
from django.utils import timezone

from dom0.errors import ParseError
from domains import cfg, macs
from domains.models import Domain, DomainConfigVersion, DomainNic, DomainState
from storage.models import IsoImage, Volume

#: `xl list` states (dom0.parsers.DomainState values) to ours; "runnable" is running.
_STATES = {
    "running": DomainState.RUNNING,
    "runnable": DomainState.RUNNING,
    "blocked": DomainState.BLOCKED,
    "paused": DomainState.PAUSED,
    "shutdown": DomainState.SHUTDOWN,
    "crashed": DomainState.CRASHED,
    "dying": DomainState.DYING,
}
_OBSERVED = ["state", "state_letters", "domid", "cpu_seconds", "mem_mib", "last_seen_at"]


def state_of(row: Mapping[str, Any]) -> str:
    return _STATES.get(str(row.get("state")), DomainState.UNKNOWN)


def current_version(domain: Domain) -> DomainConfigVersion | None:
    return domain.versions.order_by("-number").first()


def current_text(domain: Domain) -> str:
    version = current_version(domain)
    if version is None:
        raise ParseError(f"{domain.name} has no stored configuration")
    return version.text


def add_version(
    domain: Domain, text: str, *, author: Any = None, note: str = ""
) -> DomainConfigVersion:
    """Store `text` as the domU's next config version and update its fields from it."""
    top = domain.versions.aggregate(top=Max("number"))["top"] or 0
    version = DomainConfigVersion.objects.create(
        domain=domain,
        number=top + 1,
        text=text,
        author=author if getattr(author, "is_authenticated", False) else None,
        note=note[:200],
    )
    sync_fields(domain, text)
    return version


def sync_fields(domain: Domain, text: str) -> list[str]:
    """Set the row's summary fields (memory, disks, NICs, VNC...) from a config text.

    Returns the MACs of this config that another domU of the panel holds: those vifs get no
    DomainNic row (MACs are unique across the panel), and the caller says so.
    """
    try:
        values = cfg.summary(cfg.parse(text))
    except ParseError:
        return []
    disk_path, iso_path = values.pop("disk_path"), values.pop("iso_path")
    extra_paths = values.pop("extra_disk_paths")
    nics = values.pop("nics")
    display = values["vnc_display"]
    if isinstance(display, int) and (
        Domain.objects.filter(host=domain.host_id, vnc_display=display)
        .exclude(pk=domain.pk)
        .exists()
    ):
        values["vnc_display"] = None  # an imported config clashing with one we handed out
    for key, value in values.items():
        setattr(domain, key, value)
    domain.volume = _volume_at(domain, disk_path)
    domain.iso = _iso_at(domain, iso_path)
    # Only what the config summarises: a stale in-memory row must not overwrite the observed
    # state a worker wrote meanwhile.
    domain.save(update_fields=[*values, "volume", "iso"])
    extra = [_volume_at(domain, path) for path in extra_paths]  # type: ignore[attr-defined]
    kept = [v for v in extra if v is not None]
    if domain.is_present:
        # A disk detached in the config stays plugged into the running domU until the detach is
        # applied live or it stops: it stays held (not free for another domU, not destroyable).
        kept += [v for v in domain.extra_volumes.all() if v not in kept and v != domain.volume]
    domain.extra_volumes.set(kept)
    return _sync_nics(domain, nics)  # type: ignore[arg-type]


def release_detached(domain: Domain, datasets: Iterable[str] | None = None) -> None:
    """Let go of the volumes a domU held after its config detached them (see sync_fields).

    `datasets`: only these (the disks a live `xl block-detach` unplugged); None: every volume
    its current config no longer names (it stopped, or started again from its file).
    """
    try:
        paths = cfg.summary(cfg.parse(current_text(domain)))["extra_disk_paths"]
    except ParseError:
        return
    named = {p.removeprefix("/dev/zvol/") for p in paths if isinstance(p, str)}  # type: ignore[attr-defined]
    wanted = None if datasets is None else set(datasets)
    gone = [
        v
        for v in domain.extra_volumes.all()
        if v.dataset not in named and (wanted is None or v.dataset in wanted)
    ]
    if gone:
        domain.extra_volumes.remove(*gone)


def _sync_nics(domain: Domain, nics: list[tuple[int, str | None, str]]) -> list[str]:
    """One DomainNic per vif that has a MAC no other domU holds; return the MACs held."""
    macs = [mac for _, mac, _ in nics if mac]
    held = set(
        DomainNic.objects.filter(mac__in=macs).exclude(domain=domain).values_list("mac", flat=True)
    )
    DomainNic.objects.filter(domain=domain).delete()
    seen: set[str] = set()
    rows = []
    for position, mac, bridge in nics:
        if mac is None or mac in held or mac in seen:
            continue
        seen.add(mac)
        rows.append(DomainNic(domain=domain, position=position, mac=mac, bridge=bridge[:16]))
    DomainNic.objects.bulk_create(rows)
    return sorted(held)


def nic_clashes(domain: Domain, text: str) -> list[str]:
    """Return the MACs of a config text that another domU of the panel holds."""
    try:
        nics = cfg.summary(cfg.parse(text))["nics"]
    except ParseError:
        return []
    macs = [mac for _, mac, _ in nics if mac]  # type: ignore[attr-defined]
    return sorted(
        set(
            DomainNic.objects.filter(mac__in=macs)
            .exclude(domain=domain)
            .values_list("mac", flat=True)
        )
    )


def with_fresh_macs(text: str, held: Iterable[str]) -> str:
    """Return a config text whose vifs with one of the `held` MACs get new ones of the panel."""
    config = cfg.parse(text)
    held = {m.lower() for m in held}
    fresh = iter(macs.allocate_for_panel(len(config.vifs)))
    vifs = tuple(
        dataclasses.replace(v, mac=next(fresh)) if (v.mac or "").lower() in held else v
        for v in config.vifs
    )
    return cfg.render_over(text, dataclasses.replace(config, vifs=vifs))


def _volume_at(domain: Domain, path: Any) -> Volume | None:
    if not isinstance(path, str) or not path.startswith("/dev/zvol/"):
        return None
    dataset = path.removeprefix("/dev/zvol/")
    return Volume.objects.filter(host=domain.host_id, dataset=dataset).first()


def _iso_at(domain: Domain, path: Any) -> IsoImage | None:
    if not isinstance(path, str):
        return None
    for iso in IsoImage.objects.filter(host=domain.host_id).select_related("host"):
        if iso.path == path:
            return iso
    return None


def never_made(domain: Domain) -> bool:
    """Say whether the domU's create stopped before its new volume was made (a cancelled job).

    Nothing of it exists on the host and its config names a disk that does not: Start cannot
    work, Delete can.
    """
    volume = domain.volume
    return volume is not None and volume.state == Volume.State.CREATING


#: How long a running domU's CPU time and "seen" time may lag what `xl list` last showed.
REWRITE_SEEN_AFTER = timedelta(seconds=5)


def _observed(domain: Domain) -> tuple[Any, ...]:
    return (domain.state, domain.state_letters, domain.domid, domain.mem_mib, domain.cpu_seconds)


def apply_rows(host_id: int, rows: Iterable[Mapping[str, Any]]) -> list[Domain]:
    """Write the observed state of every managed domU on a host from one `xl list`."""
    by_name = {str(r["name"]): r for r in rows if r.get("domid") != 0}
    now = timezone.now()
    domains = list(Domain.objects.filter(host_id=host_id))
    changed = []
    for domain in domains:
        before = _observed(domain)
        row = by_name.get(domain.name)
        if row is None:
            domain.state, domain.state_letters, domain.domid = DomainState.NOT_RUNNING, "", None
            domain.cpu_seconds = domain.mem_mib = None
        else:
            domain.state = state_of(row)
            domain.state_letters = str(row.get("state_letters", ""))
            domain.domid = row.get("domid")
            domain.cpu_seconds = row.get("cpu_seconds")
            domain.mem_mib = row.get("mem_mib")
        # Only what changed, or a running row not written for a while (its CPU time and "seen"
        # age): ten jobs finishing at once on one host would otherwise each rewrite every row.
        stale = row is not None and (
            domain.last_seen_at is None or now - domain.last_seen_at >= REWRITE_SEEN_AFTER
        )
        if stale or _observed(domain)[:4] != before[:4]:
            if row is not None:
                domain.last_seen_at = now
            changed.append(domain)
    Domain.objects.bulk_update(changed, _OBSERVED)
    # A domU that is not running starts from its file next time: nothing is pending any more.
    # (An update of its own, so an edit saved during this poll is not overwritten.)
    stopped = list(
        Domain.objects.filter(host_id=host_id, restart_pending=True).exclude(name__in=list(by_name))
    )
    for domain in stopped:
        release_detached(domain)  # nothing is plugged in any more
    Domain.objects.filter(pk__in=[d.pk for d in stopped]).update(restart_pending=False)
    return domains
