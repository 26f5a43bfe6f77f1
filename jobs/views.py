"""Jobs list, detail, the live progress partial, cancel, and the worker self-check."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from accounts import access
from accounts.http import PanelRequest
from accounts.listing import Listing
from jobs import access as job_access
from jobs.cancel import cancel_for_user
from jobs.choices import JobStatus
from jobs.enqueue import Target, enqueue
from jobs.models import JobTarget
from jobs.registry import kinds, quiet_kinds, target_filters

#: The jobs list's sortable columns ("-created", newest first, unless asked otherwise).
JOB_SORTS = {
    "id": ("id",),
    "job": ("title",),
    "target": ("target_label",),
    "status": ("status", "created_at"),
    "by": ("requested_by__username", "created_at"),
    "created": ("created_at",),
}


def job_list(request: PanelRequest) -> HttpResponse:
    """Jobs a page at a time: status, kind, target filters and search, sort; all in the URL."""
    listing = Listing(
        request,
        filters=("status", "kind", "target", "polls", *(f.param for f in target_filters())),
        sorts=JOB_SORTS,
        default="-created",
    )
    jobs = job_access.jobs_for_user(request.user)
    status = listing.params["status"]
    if status in JobStatus.values:
        jobs = jobs.filter(status=status)
    kind = listing.params["kind"]
    if kind:
        jobs = jobs.filter(kind=kind)
    filters = []
    for spec in target_filters():
        chosen = listing.params[spec.param]
        if chosen:
            obj = (
                spec.model._default_manager.filter(code=chosen).first()
                if _is_uuid(chosen)
                else None
            )
            jobs = jobs.on(obj) if obj is not None else jobs.none()
        filters.append({"spec": spec, "chosen": chosen, "choices": spec.choices()})
    target = listing.params["target"]
    if target:
        jobs = jobs.filter(target_label__icontains=target)
    polls = listing.params["polls"] == "1"
    if not polls and kind not in quiet_kinds():
        # Beat polls every host each minute: those kinds are hidden unless asked for.
        jobs = jobs.exclude(kind__in=quiet_kinds())
    # The Host column: one query for the host targets of the whole page.
    hosts = Prefetch(
        "targets", queryset=JobTarget.objects.filter(role="host"), to_attr="host_targets"
    )
    page = listing.paginate(jobs.prefetch_related(hosts))
    context = {
        "page": page,
        "listing": listing,
        "statuses": JobStatus.choices,
        "status": status,
        "kinds": sorted(kinds()),
        "kind": kind,
        "filters": filters,
        "target": target,
        "polls": polls,
        "any_active": any(job.is_active for job in page),
        "is_admin": access.is_admin(request.user),
    }
    template = "jobs/_job_rows.html" if request.htmx else "jobs/list.html"
    return render(request, template, context)


def job_detail(request: HttpRequest, code: str) -> HttpResponse:
    job = job_access.get_job_for_user(request.user, code)
    context = {"job": job, "steps": job.steps.all(), "targets": job.targets.all()}
    return render(request, "jobs/detail.html", context)


def job_progress(request: HttpRequest, code: str) -> HttpResponse:
    """The partial the detail page polls; once the job has ended it carries no trigger."""
    job = job_access.get_job_for_user(request.user, code)
    context = {"job": job, "steps": job.steps.all()}
    if job.is_active:
        return render(request, "jobs/_progress.html", context)
    response = render(request, "jobs/_progress.html", context)
    # 286 also tells htmx to stop, should an older page still poll with `every`.
    return HttpResponseStopPolling(response.content)


@require_POST
def job_cancel(request: HttpRequest, code: str) -> HttpResponse:
    job = job_access.get_job_for_user(request.user, code)
    if cancel_for_user(request.user, job):
        messages.info(request, f"Asked job #{job.pk} to stop.")
    else:
        messages.warning(request, f"Job #{job.pk} has already ended.")
    return redirect(job)


@require_POST
def system_check(request: HttpRequest) -> HttpResponse:
    access.require_admin(request.user)
    with transaction.atomic():
        job = enqueue(
            "system.check",
            title="Check workers, database and Redis",
            targets=[Target("system", lock="system:check", label="Panel")],
            user=request.user,
        )
    return redirect(job)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
