"""Queue the migration jobs (called from views inside `transaction.atomic()`, and by evacuation).

One MIGRATE job holds the domU and both hosts: nothing else runs on the domU meanwhile, and
neither host is refreshed half-way through (a refresh would see the domU on neither or both).
"""

from __future__ import annotations

from typing import Any

from domains import actions
from domains.models import Domain
from hosts.models import Host
from jobs.choices import JobStatus
from jobs.enqueue import Target, enqueue
from jobs.models import Job
from storage.models import Volume

MODES = ("live", "storage")
DOWNTIMES = ("shutdown", "pause")


def queue_migration(
    domain: Domain,
    target: Host,
    *,
    mode: str,
    downtime: str = "shutdown",
    user: Any,
    parent: Job | None = None,
) -> Job:
    """Queue moving `domain` to `target`: "live" (xl migrate) or "storage" (zfs send/recv)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if downtime not in DOWNTIMES:
        raise ValueError(f"downtime must be one of {DOWNTIMES}, not {downtime!r}")
    source = domain.host
    if target.pk == source.pk:
        raise ValueError(f"{domain.name} is on {target.name} already")
    how = "live" if mode == "live" else f"with its disks, {downtime}"
    return enqueue(
        actions.MIGRATE,
        title=f"Migrate {domain.name} from {source.name} to {target.name} ({how})",
        targets=[
            Target.locking("domain", domain),
            Target.locking("source", source, label=source.name),
            Target.locking("destination", target, label=target.name),
        ],
        user=user,
        params={
            "domain_id": domain.pk,
            "source_id": source.pk,
            "target_id": target.pk,
            "mode": mode,
            "downtime": downtime,
            "parent": parent.pk if parent is not None else None,
        },
    )


def superseded_volumes(domain: Domain) -> list[Volume]:
    """The source copies the domU's storage migrations left behind (not yet destroyed)."""
    ids: set[int] = set()
    done = Job.objects.on(domain).filter(kind=actions.MIGRATE, status=JobStatus.SUCCEEDED)
    for result in done.values_list("result", flat=True):
        ids.update(int(i) for i in (result or {}).get("superseded", []))
    return list(Volume.objects.filter(pk__in=ids, superseded=True).order_by("dataset"))


def queue_cleanup(domain: Domain, *, user: Any) -> Job:
    """Queue destroying the superseded source volumes of the domU (ValueError if none)."""
    volumes = superseded_volumes(domain)
    if not volumes:
        raise ValueError(f"{domain.name} has no source volumes left by a migration")
    hosts = sorted({v.host for v in volumes}, key=lambda h: h.name)
    return enqueue(
        actions.MIGRATION_CLEANUP,
        title=f"Destroy {domain.name}'s old volumes on {', '.join(h.name for h in hosts)}",
        targets=[
            Target.locking("domain", domain),
            *[Target("old_host", h, label=h.name) for h in hosts],
            *[Target.locking("volume", v) for v in volumes],
        ],
        user=user,
        params={"domain_id": domain.pk, "volume_ids": [v.pk for v in volumes]},
    )
