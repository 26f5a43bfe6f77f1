"""Where the panel's PCI facts come from: the last PCI listing job of a host, and the domUs whose
configs name a device. Also the contexts of the host-page section and the domU-page card."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Subquery
from django.http import HttpRequest

from accounts import access
from dom0.errors import ParseError
from domains import actions, cfg, records
from domains.access import domains_for_user, may_operate
from domains.models import Domain, DomainConfigVersion
from domains.pci import logic
from hosts import readiness
from hosts.models import Host
from jobs.choices import ACTIVE_JOB_STATUSES, JobStatus
from jobs.models import Job

PCI_KINDS = (actions.PCI_LIST, actions.PCI_ASSIGNABLE)
#: How a holder the viewer may not see is named on the host page.
HIDDEN = "another domU"


def last_listing_job(host: Host) -> Job | None:
    """The latest finished PCI job on the host that stored a listing (a failed make-assignable
    reads the devices again, so its listing is the newest truth too)."""
    finished = (JobStatus.SUCCEEDED, JobStatus.FAILED)
    for job in (
        Job.objects.on(host)
        .filter(kind__in=PCI_KINDS, status__in=finished)
        .order_by("-finished_at", "-id")[:10]
    ):
        if isinstance(job.result, dict) and isinstance(job.result.get("devices"), list):
            return job
    return None


def last_listing(host: Host) -> dict[str, Any] | None:
    job = last_listing_job(host)
    return dict(job.result) if job is not None else None


def domain_pci(domain: Domain, text: str | None = None) -> list[str]:
    """The BDFs the domU's current config names (the config is the record; `Domain.pci` is a
    copy kept by records.sync_fields, which may lag behind an imported or restored file).
    `text` is that config when the caller already read it (a list reads all in one query)."""
    try:
        if text is None:
            text = records.current_text(domain)
        parsed = logic.config_pci(cfg.parse(text))
    except ParseError:
        parsed = []
    for bdf in domain.pci or []:
        try:
            canonical = logic.canonical_bdf(str(bdf))
        except logic.PciRefused:
            continue
        if canonical not in parsed:
            parsed.append(canonical)
    return parsed


def holders(host: Host, *, exclude: Domain | None = None) -> dict[str, list[str]]:
    """BDF -> names of the host's domUs whose config names it."""
    out: dict[str, list[str]] = {}
    # Each domU's current config in the same query, not one query per domU (issue 16).
    latest = DomainConfigVersion.objects.filter(domain=OuterRef("pk")).order_by("-number")
    domains = Domain.objects.filter(host=host).annotate(config=Subquery(latest.values("text")[:1]))
    if exclude is not None:
        domains = domains.exclude(pk=exclude.pk)
    for domain in domains:
        # No stored config reads as an empty one (as its ParseError does): Domain.pci still counts.
        for bdf in domain_pci(domain, domain.config or ""):
            out.setdefault(bdf, []).append(domain.name)
    return out


def _shown_holders(host: Host, user: Any) -> dict[str, list[str]]:
    """Holders by name where the user may see the domU; the others stay anonymous."""
    visible = set(domains_for_user(user).filter(host=host).values_list("name", flat=True))
    return {
        bdf: [name if name in visible else HIDDEN for name in names]
        for bdf, names in holders(host).items()
    }


def pci_job_active(host: Host) -> Job | None:
    return (
        Job.objects.on(host)
        .filter(kind__in=PCI_KINDS, status__in=ACTIVE_JOB_STATUSES)
        .order_by("created_at")
        .first()
    )


def host_pci_context(request: HttpRequest, host: Host) -> dict[str, Any]:
    """Context of the host page's "PCI devices" section."""
    job = last_listing_job(host)
    listing = dict(job.result) if job is not None else None
    rows = (
        logic.device_rows(listing, _shown_holders(host, request.user))
        if listing is not None
        else []
    )
    facts = host.facts or {}
    caps = facts.get("virt_caps")
    return {
        "pci_rows": rows,
        "pci_listing_job": job,
        "pci_listing_error": (listing or {}).get("assignable_error", ""),
        "pci_active_job": pci_job_active(host),
        "pci_advisory": readiness.passthrough_advisory(set(caps) if caps is not None else None),
        "pci_can_read": access.can_operate(request.user),
        "pci_is_admin": access.is_admin(request.user),
    }


def domain_pci_context(domain: Domain, user: Any) -> dict[str, Any]:
    """Context of the domU page's PCI card."""
    listing = last_listing(domain.host)
    current = domain_pci(domain)
    others = holders(domain.host, exclude=domain)
    choices: list[logic.DeviceRow] = []
    if listing is not None:
        choices = [
            row
            for row in logic.device_rows(listing, others)
            if row.assignable and not row.holders and row.bdf not in current
        ]
    described = {row.bdf: row for row in logic.device_rows(listing or {}, {})}
    return {
        "devices": [(bdf, described.get(bdf)) for bdf in current],
        "choices": choices,
        "listed": listing is not None,
        "running": domain.is_present,
        "pvh": domain.guest_type == "pvh",
        "can_change": may_operate(user, domain),
    }
