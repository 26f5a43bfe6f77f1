"""Queue the host PCI jobs (called from views inside `transaction.atomic()`)."""

from __future__ import annotations

from typing import Any

from domains.actions import PCI_ASSIGNABLE, PCI_LIST
from hosts.models import Host
from jobs.enqueue import enqueue_on_host
from jobs.models import Job


def pci_key(host: Host) -> str:
    """One PCI job at a time per host: a listing never interleaves with an assignable change."""
    return f"pci:{host.pk}"


def queue_list(host: Host, *, user: Any) -> Job:
    title, label = f"Read PCI devices on {host.name}", f"{host.name} PCI"
    return enqueue_on_host(PCI_LIST, host, key=pci_key(host), title=title, label=label, user=user)


def queue_assignable(host: Host, bdf: str, *, add: bool, user: Any) -> Job:
    verb = "Make {bdf} assignable on {host}" if add else "Give {bdf} back to the Dom0 of {host}"
    title, label = verb.format(bdf=bdf, host=host.name), f"{host.name} {bdf}"
    return enqueue_on_host(
        PCI_ASSIGNABLE,
        host,
        key=pci_key(host),
        title=title,
        label=label,
        user=user,
        params={"bdf": bdf, "add": add},
    )
