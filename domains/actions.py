"""Queue domU jobs (called from views inside `transaction.atomic()`, and from observe.py)."""

from __future__ import annotations

from typing import Any

from domains import quotas as domain_quotas
from domains.models import Domain
from hosts.models import Host
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.enqueue import enqueue_on, enqueue_on_host
from jobs.models import Job

CREATE = "domain.create"
START = "domain.start"
SHUTDOWN = "domain.shutdown"
REBOOT = "domain.reboot"
PAUSE = "domain.pause"
UNPAUSE = "domain.unpause"
DESTROY = "domain.destroy"
DELETE = "domain.delete"
FINISH_INSTALL = "domain.finish_install"
CD_INSERT = "domain.cd_insert"
CD_EJECT = "domain.cd_eject"
AUTOSTART = "domain.autostart"
IMPORT = "domain.import"
# Day 2 (issue 13): each kind's handler lives in domains/jobs/<concern>.py.
APPLY = "domain.apply"  # apply an edited config to the running domU (mem-set, block-attach...)
VOLUME_GROW = "domain.volume_grow"  # zfs set volsize= on one of its volumes (never smaller)
SNAPSHOT = "domain.snapshot"
SNAPSHOT_ROLLBACK = "domain.snapshot_rollback"
SNAPSHOT_DELETE = "domain.snapshot_delete"
MAKE_TEMPLATE = "domain.make_template"
CLONE = "domain.clone"  # create one domU from a template (a batch is one job per domU)
PROMOTE = "domain.promote"  # zfs promote its clone volumes: cut the template dependency
TEMPLATE_DELETE = "template.delete"
PCI_ASSIGNABLE = "host.pci_assignable"  # xl pci-assignable-add/-remove on a host (admins)
PCI_LIST = "host.pci_list"  # read pciconf -l and xl pci-assignable-list
# Moving domUs (issue 14): domains/migration/ and domains/jobs/migrate.py, evacuate.py.
MIGRATE = "domain.migrate"  # live (xl migrate, shared storage) or storage (zfs send/recv)
MIGRATION_CLEANUP = "domain.migration_cleanup"  # destroy superseded source volumes
EVACUATE = "host.evacuate"  # parent job: migrate every running domU away, then maintenance

#: The lifecycle buttons: action name -> (job kind, title verb, extra params).
LIFECYCLE: dict[str, tuple[str, str, dict[str, Any]]] = {
    "start": (START, "Start", {}),
    "shutdown": (SHUTDOWN, "Shut down", {}),
    "power_button": (SHUTDOWN, "ACPI power button for", {"force": True}),
    "reboot": (REBOOT, "Reboot", {}),
    "force_reboot": (REBOOT, "ACPI reset for", {"force": True}),
    "pause": (PAUSE, "Pause", {}),
    "unpause": (UNPAUSE, "Unpause", {}),
    "destroy": (DESTROY, "Destroy", {}),
    "cd_eject": (CD_EJECT, "Eject the ISO from", {}),
}


def queue(
    domain: Domain, kind: str, title: str, *, user: Any = None, params: dict[str, Any] | None = None
) -> Job:
    """Queue a job on one domU (its lock keeps two actions on it from running at once).

    Creating and starting take memory and vCPUs from the owner's quotas: QuotaExceeded if short.
    """
    if kind in (CREATE, START):
        domain_quotas.check_domain(
            domain.owner,
            domain,
            creating=kind == CREATE,
            new_volume=bool((params or {}).get("new_volume")),
        )
    return enqueue_on(kind, "domain", domain, title=title, user=user, params=params)


def autostart_key(host: Host) -> str:
    return f"autostart:{host.pk}"


def queue_autostart(host: Host, domain_ids: list[int], *, reason: str) -> Job:
    """Queue one job that starts these domUs in this order, with their delays between them."""
    title, params = f"Autostart domUs on {host.name}", {"domain_ids": domain_ids, "reason": reason}
    return enqueue_on_host(AUTOSTART, host, key=autostart_key(host), title=title, params=params)


def queue_import(host: Host, name: str, *, user: Any) -> Job:
    key, title = f"import:{host.pk}:{name}", f"Import {name} from {host.name}"
    params = {"name": name}
    return enqueue_on_host(IMPORT, host, key=key, title=title, label=name, user=user, params=params)


def active_job(domain: Domain) -> Job | None:
    return (
        Job.objects.on(domain).filter(status__in=ACTIVE_JOB_STATUSES).order_by("created_at").first()
    )
