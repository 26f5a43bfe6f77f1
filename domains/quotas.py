"""What domUs take from their owners' quotas: memory, vCPUs and how many (registered with
accounts), and the check a create or start runs."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, Q

from accounts.quotas import check, sum_usage
from domains.models import Domain
from storage.models import Volume
from storage.usage import never_made

#: DomU states that hold memory and vCPUs on the host.
RUNNING_STATES = ("running", "blocked", "paused", "dying")


def _running(scope: Q, exclude: Model | None, field: str) -> int:
    # Those that run, or are meant to (being started: `should_run`).
    qs = Domain.objects.filter(Q(should_run=True) | Q(state__in=RUNNING_STATES))
    return sum_usage(qs, field, scope, exclude)


def memory_mb(scope: Q, exclude: Model | None) -> int:
    return _running(scope, exclude, "memory_mb")


def vcpus(scope: Q, exclude: Model | None) -> int:
    return _running(scope, exclude, "vcpus")


def domus(scope: Q, exclude: Model | None) -> int:
    # A domU whose create ended before its new disk was made (cancelled while queued, failed by
    # the reaper) exists nowhere but in the panel: it holds nothing until it is made or deleted.
    qs = Domain.objects.filter(scope).exclude(volume__in=Volume.objects.filter(never_made()))
    if isinstance(exclude, Domain):
        qs = qs.exclude(pk=exclude.pk)
    return qs.count()


def check_domain(owner: Any, domain: Domain, *, creating: bool, new_volume: bool = False) -> None:
    """Check a domU being created or started: its memory and vCPUs (and count, and new disk)."""
    wanted = {"memory_mb": domain.memory_mb, "vcpus": domain.vcpus}
    if creating:
        wanted["domus"] = 1
    check(owner, exclude=domain, **wanted)
    if creating and new_volume and domain.volume is not None:
        check(owner, exclude=domain.volume, disk_bytes=domain.volume.size_bytes)


def check_edit(
    owner: Any, domain: Domain, *, memory_mb: int, vcpus: int, new_disk_bytes: int = 0
) -> None:
    """Check an edit of a domU: memory or vCPUs raised above what its row has, a new disk.

    The same rule as a create or start (the domU counted with its new size, itself left out of
    the current use); lowering never fails. `domain` is the row as it is now (the edit page
    locks it before saving, so two tabs cannot both pass).
    """
    wanted = {}
    if memory_mb > domain.memory_mb:
        wanted["memory_mb"] = memory_mb
    if vcpus > domain.vcpus:
        wanted["vcpus"] = vcpus
    if wanted:
        check(owner, exclude=domain, **wanted)
    if new_disk_bytes:
        check(owner, disk_bytes=new_disk_bytes)
