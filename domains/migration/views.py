"""The migration dialog: pick a target, see the checklist, queue the move; and the clean-up of
the source volumes a storage migration left behind."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from domains.access import get_domain_for_user
from domains.flows import Refused
from domains.forms import host_by_code
from domains.migration import checks, placement
from domains.migration.actions import queue_cleanup, queue_migration, superseded_volumes
from domains.migration.forms import DOWNTIME_CHOICES, CleanupForm, MigrateForm
from domains.models import Domain
from hosts.models import Host
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import Job


def _problems(form: Any) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def _chosen(form: MigrateForm, wanted: str | None, domain: Domain, user: Any) -> Host | None:
    """The target to show: the one asked for (if offered), else the suggested one, else the
    first offered."""
    offered = form.fields["target"].queryset  # type: ignore[attr-defined]
    host = host_by_code(wanted) if wanted else None
    if host is not None and offered.filter(pk=host.pk).exists():
        return host
    suggested = _suggested(domain, user)
    return suggested or offered.first()


def _suggested(domain: Domain, user: Any) -> Host | None:
    return placement.pick_target(domain, placement.placeable(user, exclude=[domain.host_id]))


def _context(request: HttpRequest, domain: Domain, form: MigrateForm, target: Host | None) -> dict:
    plan = checks.plan(domain, target) if target is not None else None
    busy = Job.objects.on(domain).filter(status__in=ACTIVE_JOB_STATUSES).first()
    return {
        "domain": domain,
        "form": form,
        "target": target,
        "suggested": _suggested(domain, request.user),
        "plan": plan,
        "busy": busy,
        "downtime_choices": DOWNTIME_CHOICES,
        "downtime": form.data.get("downtime") or "shutdown",
        "running": domain.state in checks.RUNS,
    }


@require_http_methods(["GET", "POST"])
def migrate(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    if request.method == "POST":
        return _queue(request, domain)
    form = MigrateForm(domain=domain, user=request.user)
    target = _chosen(form, request.GET.get("target"), domain, request.user)
    form.initial["target"] = target.code if target else None
    return render(request, "domains/migrate.html", _context(request, domain, form, target))


def migrate_checks(request: HttpRequest, code: str) -> HttpResponse:
    """The plan and checklist for the target the dialog's select now shows (htmx)."""
    domain = get_domain_for_user(request.user, code, write=True)
    form = MigrateForm(request.GET or None, domain=domain, user=request.user)
    target = _chosen(form, request.GET.get("target"), domain, request.user)
    return render(request, "domains/_migrate_plan.html", _context(request, domain, form, target))


def _queue(request: HttpRequest, domain: Domain) -> HttpResponse:
    form = MigrateForm(request.POST, domain=domain, user=request.user)
    back = reverse("domains:migrate", args=[domain.code])
    if not form.is_valid():
        messages.error(request, f"{domain.name} was not moved. {_problems(form)}")
        return redirect(back)
    target: Host = form.cleaned_data["target"]
    back += f"?target={target.code}"
    try:
        job, plan = queue_move(domain, target, form.cleaned_data["downtime"], request.user)
    except Refused as exc:
        messages.error(request, str(exc))
        return redirect(back)
    how = "Live-migrating" if plan.mode == checks.LIVE else "Moving"
    messages.info(
        request, f"{how} {domain.name} from {domain.host.name} to {target.name} (job #{job.pk})."
    )
    return redirect(job.get_absolute_url())


def queue_move(domain: Domain, target: Host, downtime: str, user: Any) -> tuple[Job, checks.Plan]:
    """Queue the move if the checklist allows it (the dialog and the API); Refused says why not."""
    # Never trust the page: plan again from what the panel knows now.
    plan = checks.plan(domain, target)
    if plan.blocking:
        failed = " ".join(c.message for c in plan.failed)
        raise Refused(f"{domain.name} was not moved to {target.name}: {failed}")
    with transaction.atomic():
        job = queue_migration(domain, target, mode=plan.mode, downtime=downtime, user=user)
    return job, plan


@require_POST
def migration_cleanup(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    left = superseded_volumes(domain)
    back = f"{domain.get_absolute_url()}#migration"
    if not left:
        messages.error(request, f"{domain.name} has no source volumes left by a migration.")
        return redirect(back)
    form = CleanupForm(request.POST, domain=domain)
    if not form.is_valid():
        messages.error(request, f"Nothing was destroyed. {_problems(form)}")
        return redirect(back)
    with transaction.atomic():
        job = queue_cleanup(domain, user=request.user)
    shown = ", ".join(f"{v.dataset} on {v.host.name}" for v in left)
    messages.info(request, f"Destroying the source volumes {shown} (job #{job.pk}).")
    return redirect(job.get_absolute_url())
