"""Snapshot pages and actions: the list, take, roll back, delete, schedule, refresh sizes."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.http import PanelRequest
from domains import records
from domains.access import get_domain_for_user, may_operate
from domains.flows import Refused
from domains.models import Domain, DomainSnapshot
from domains.snapshots import actions, claims
from domains.snapshots.context import busy_snapshots
from domains.snapshots.forms import ScheduleForm, SnapshotForm
from jobs.models import Job

READY = DomainSnapshot.State.READY


def _page(domain: Domain, **query: str) -> str:
    url = reverse("domains:snapshots", args=[domain.code])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def _back(request: HttpRequest, domain: Domain) -> HttpResponse:
    """Go back to where the form was: the snapshots page or the domU page."""
    if request.POST.get("back") == "snapshots":
        return redirect(_page(domain))
    return redirect(f"{domain.get_absolute_url()}#snapshots")


def _snapshot(domain: Domain, code: str) -> DomainSnapshot:
    try:
        key = uuid.UUID(str(code))
    except ValueError:
        raise Http404("No such snapshot") from None
    snap = domain.snapshots.filter(code=key).first()
    if snap is None:
        raise Http404("No such snapshot")
    return snap


def snapshot_list(request: PanelRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code)
    context: dict[str, Any] = {"domain": domain, "can_operate": may_operate(request.user, domain)}
    if request.htmx:  # the card polls itself while a snapshot job runs
        return render(request, "domains/_snapshots.html", {**context, "full": True})
    wanted = request.GET.get("rollback", "")
    if wanted:
        context |= _confirmation(domain, wanted, request.user)
    return render(request, "domains/snapshots.html", context)


def _confirmation(domain: Domain, wanted: str, user: Any) -> dict[str, Any]:
    """What a rollback to `wanted` would do: later snapshots destroyed, volumes left alone."""
    try:
        snap = _snapshot(domain, wanted)
    except Http404:
        return {"wanted": True, "confirm": None}
    current = records.current_version(domain)
    return {
        "wanted": True,
        "confirm": snap,
        "later": domain.snapshots.filter(state=READY, created_at__gt=snap.created_at).order_by(
            "created_at"
        ),
        "unheld": [v.dataset for v in actions.volumes_of(domain) if v.dataset not in snap.datasets],
        "current_number": current.number if current else None,
        "claimed": claims.refusal(domain, snap, user),
    }


def take_snapshot(domain: Domain, form: SnapshotForm, user: Any) -> tuple[DomainSnapshot, Job]:
    """Queue taking a snapshot from a valid form (the page and the API); Refused says why not."""
    if not actions.volumes_of(domain):
        raise Refused(f"{domain.name} has no volumes: there is nothing to snapshot.")
    name, mode = form.cleaned_data["name"], form.cleaned_data["mode"]
    try:
        with transaction.atomic():
            return actions.queue_snapshot(domain, name, mode, user=user)
    except IntegrityError:
        raise Refused(f"{domain.name} has a snapshot named {name} already.") from None


@require_POST
def snapshot_create(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    form = SnapshotForm(request.POST, domain=domain)
    if not form.is_valid():
        messages.error(request, f"No snapshot was taken. {_problems(form)}")
        return _back(request, domain)
    try:
        snap, job = take_snapshot(domain, form, request.user)
    except Refused as exc:
        messages.error(request, str(exc))
        return _back(request, domain)
    messages.info(request, f"Taking the snapshot {domain.name}@{snap.name} (job #{job.pk}).")
    return _back(request, domain)


def rollback_refusal(domain: Domain, snapshot: DomainSnapshot, user: Any) -> str:
    """Why the domU cannot be rolled back to `snapshot` now ('' if it can)."""
    if snapshot.state != READY:
        return f"@{snapshot.name} is {snapshot.get_state_display().lower()}."
    if domain.is_present:
        return (
            f"{domain.name} is {domain.get_state_display()}: roll back only a shut-down domU. "
            "Shut it down first."
        )
    # The job checks again: a disk can move while the job waits for its turn.
    return claims.refusal(domain, snapshot, user)


def rollback_snapshot(domain: Domain, snapshot: DomainSnapshot, *, confirm: str, user: Any) -> Job:
    """Queue the rollback once the snapshot's name is typed as `confirm`; Refused says why not."""
    refused = rollback_refusal(domain, snapshot, user)
    if refused:
        raise Refused(refused)
    if confirm != snapshot.name:
        raise Refused(f"Type the snapshot's name ({snapshot.name}) to roll back.")
    with transaction.atomic():
        return actions.queue_rollback(domain, snapshot, user=user)


@require_POST
def snapshot_rollback(request: HttpRequest, code: str, snap: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    snapshot = _snapshot(domain, snap)
    try:
        job = rollback_snapshot(
            domain, snapshot, confirm=request.POST.get("confirm", ""), user=request.user
        )
    except Refused as exc:
        messages.error(request, str(exc))
        if snapshot.state != READY:
            return redirect(_page(domain))
        return redirect(_page(domain, rollback=str(snapshot.code)))
    messages.info(request, f"Rolling {domain.name} back to @{snapshot.name} (job #{job.pk}).")
    return redirect(domain)


def delete_snapshot(domain: Domain, snapshot: DomainSnapshot, user: Any) -> Job:
    """Queue destroying the snapshot unless a job of it runs; Refused says why not."""
    if snapshot.pk in busy_snapshots(domain):
        raise Refused(
            f"@{snapshot.name} is {snapshot.get_state_display().lower()}; wait for its job."
        )
    with transaction.atomic():
        return actions.queue_delete(domain, snapshot, user=user)


@require_POST
def snapshot_delete(request: HttpRequest, code: str, snap: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    snapshot = _snapshot(domain, snap)
    try:
        job = delete_snapshot(domain, snapshot, request.user)
    except Refused as exc:
        messages.error(request, str(exc))
        return _back(request, domain)
    messages.info(request, f"Deleting the snapshot {domain.name}@{snapshot.name} (job #{job.pk}).")
    return _back(request, domain)


@require_POST
def snapshot_schedule(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"The schedule was not changed. {_problems(form)}")
        return _back(request, domain)
    hourly = form.cleaned_data["snapshot_keep_hourly"]
    daily = form.cleaned_data["snapshot_keep_daily"]
    Domain.objects.filter(pk=domain.pk).update(
        snapshot_keep_hourly=hourly, snapshot_keep_daily=daily
    )
    kept = [f"the last {n} {what}" for n, what in ((hourly, "hourly"), (daily, "daily")) if n]
    if kept:
        said = f"scheduled snapshots on; keeping {' and '.join(kept)}."
    else:
        said = "no scheduled snapshots; the ones taken so far stay."
    messages.success(request, f"{domain.name}: {said}")
    return _back(request, domain)


def _problems(form: Any) -> str:
    return " ".join(
        f"{form.fields[name].label or name}: {error}"
        for name, errors in form.errors.items()
        for error in errors
    )


@require_POST
def snapshot_sizes(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    with transaction.atomic():
        job = actions.queue_sizes(domain, user=request.user)
    messages.info(request, f"Reading the snapshots' space on {domain.host.name} (job #{job.pk}).")
    return _back(request, domain)
