"""Queue snapshot jobs (called from views inside `transaction.atomic()`, and from beat).

Every job holds the domU (its lock) and names its host, like `domains.actions.queue`: a snapshot,
a rollback and a start of the same domU never run at once.
"""

from __future__ import annotations

from typing import Any

from domains import actions
from domains.models import Domain, DomainSnapshot
from jobs.enqueue import enqueue_on
from jobs.models import Job
from storage.models import Volume

#: Read `zfs list -t snapshot` and store each snapshot's space ("Refresh sizes").
SIZES = "domain.snapshot_sizes"


def volumes_of(domain: Domain) -> list[Volume]:
    """Return the domU's volumes: the boot disk first, then the others by dataset."""
    boot = [domain.volume] if domain.volume is not None else []
    others = domain.extra_volumes.exclude(pk__in=[v.pk for v in boot]).order_by("dataset")
    return boot + list(others)


def _author(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def queue_snapshot(
    domain: Domain, name: str, mode: str, *, user: Any = None, schedule: str = ""
) -> tuple[DomainSnapshot, Job]:
    """Record a CREATING snapshot and queue the job that takes it (IntegrityError: name taken)."""
    snap = DomainSnapshot.objects.create(
        domain=domain,
        name=name,
        mode=mode,
        schedule=schedule,
        author=_author(user),
        datasets=[v.dataset for v in volumes_of(domain)],
    )
    how = f"scheduled {schedule}" if schedule else mode
    title = f"Snapshot {domain.name}@{name} ({how})"
    params = {"snapshot_id": snap.pk, "mode": mode, "schedule": schedule}
    job = enqueue_on(actions.SNAPSHOT, "domain", domain, title=title, user=user, params=params)
    return snap, job


def queue_rollback(domain: Domain, snap: DomainSnapshot, *, user: Any) -> Job:
    title = f"Roll {domain.name} back to @{snap.name}"
    params = {"snapshot_id": snap.pk, "name": snap.name}
    return enqueue_on(
        actions.SNAPSHOT_ROLLBACK, "domain", domain, title=title, user=user, params=params
    )


def queue_delete(domain: Domain, snap: DomainSnapshot, *, user: Any) -> Job:
    """Queue `zfs destroy` of the snapshot; the row is DELETING until then (`was`: after a
    refusal it goes back to the state it had)."""
    was = DomainSnapshot.State.READY if snap.state == DomainSnapshot.State.DELETING else snap.state
    DomainSnapshot.objects.filter(pk=snap.pk).update(state=DomainSnapshot.State.DELETING)
    title = f"Delete snapshot {domain.name}@{snap.name}"
    params = {"snapshot_id": snap.pk, "name": snap.name, "was": was}
    return enqueue_on(
        actions.SNAPSHOT_DELETE, "domain", domain, title=title, user=user, params=params
    )


def queue_sizes(domain: Domain, *, user: Any) -> Job:
    """Queue a read of the snapshots' space; it locks nothing (it changes nothing on the host)."""
    title = f"Read the snapshot sizes of {domain.name}"
    return enqueue_on(SIZES, "domain", domain, title=title, lock=False, user=user)
