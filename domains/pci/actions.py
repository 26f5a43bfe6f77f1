"""Queue the host PCI jobs (called from views inside `transaction.atomic()`)."""

from __future__ import annotations

from typing import Any

from domains.actions import PCI_ASSIGNABLE, PCI_LIST
from hosts.models import Host
from jobs.enqueue import Target, enqueue
from jobs.models import Job


def pci_key(host: Host) -> str:
    """One PCI job at a time per host: a listing never interleaves with an assignable change."""
    return f"pci:{host.pk}"


def queue_list(host: Host, *, user: Any) -> Job:
    return enqueue(
        PCI_LIST,
        title=f"Read PCI devices on {host.name}",
        targets=[Target("host", host, lock=pci_key(host), label=f"{host.name} PCI")],
        user=user,
    )


def queue_assignable(host: Host, bdf: str, *, add: bool, user: Any) -> Job:
    verb = "Make {bdf} assignable on {host}" if add else "Give {bdf} back to the Dom0 of {host}"
    return enqueue(
        PCI_ASSIGNABLE,
        title=verb.format(bdf=bdf, host=host.name),
        targets=[Target("host", host, lock=pci_key(host), label=f"{host.name} {bdf}")],
        user=user,
        params={"bdf": bdf, "add": add},
    )
