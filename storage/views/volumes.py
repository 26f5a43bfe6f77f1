"""Volume pages: create, detail, destroy, scan and import — each change is a job."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import access, quotas
from accounts.http import PanelRequest
from dom0 import validate
from dom0.errors import ValidationError as Dom0ValidationError
from hosts import access as host_access
from hosts.models import Host
from storage import flows
from storage.forms import VolumeForm
from storage.jobs import volumes as jobs
from storage.models import Volume
from storage.panel import attach_jobs, host_storage_context, volume_on_host
from storage.views.confirm import confirmed


def _host_storage_url(host: Host) -> str:
    return host.get_absolute_url() + "#storage"


def host_storage(request: HttpRequest, code: str) -> HttpResponse:
    """The storage card of a host page; it polls itself while a storage job runs."""
    host = host_access.get_host_for_user(request.user, code)
    return render(request, "storage/_host_panel.html", host_storage_context(request, host))


def volume_new(request: HttpRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code)
    access.require_operator(request.user)
    form = VolumeForm(request.POST or None, user=request.user, host=host)
    if request.method == "POST" and form.is_valid():
        made = flows.create_volume(form, request.user)
        if made is not None:
            volume, job = made
            messages.info(request, f"Creating {volume.dataset} (job #{job.pk}).")
            return redirect(_host_storage_url(host))
    return render(request, "storage/volume_form.html", {"form": form, "host": host})


def volume_detail(request: PanelRequest, code: str) -> HttpResponse:
    volume = access.get_owned_for_user(
        Volume.objects.select_related("host", "owner", "team"), request.user, code
    )
    # Any job that names it: a domU create that could not tell whether it made its disk too.
    attach_jobs([volume], None)
    on_host = volume.on_host = volume_on_host(volume)
    context = {
        "volume": volume,
        "in_use": jobs.volume_in_use(volume),
        "can_operate": access.can_operate(request.user),
        "on_host": on_host,
        "never_made": on_host == jobs.ON_HOST_NONE,
        "may_exist": on_host == jobs.ON_HOST_UNKNOWN,
        "busy": volume.job is not None and volume.job.is_active,
    }
    if request.htmx:
        return render(request, "storage/_volume_status.html", context)
    return render(request, "storage/volume_detail.html", context)


@require_POST
def volume_destroy(request: HttpRequest, code: str) -> HttpResponse:
    volume, back = confirmed(flows.DESTROY_CONFIRM, request, code)
    if back is not None:
        return back
    try:
        job = flows.destroy_volume(volume, request.user)
    except flows.Refused as exc:
        messages.error(request, str(exc))
        return redirect(volume)
    messages.info(request, f"Destroying {volume.dataset} (job #{job.pk}).")
    # The row goes away with the volume, so follow progress on the host page.
    return redirect(_host_storage_url(volume.host))


@require_POST
def volumes_scan(request: HttpRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code)
    access.require_operator(request.user)
    with transaction.atomic():
        job = jobs.queue_scan(host, request.user)
    messages.info(request, f"Scanning the volumes of {host.name} (job #{job.pk}).")
    return redirect(_host_storage_url(host))


@require_POST
def volume_import(request: HttpRequest, code: str) -> HttpResponse:
    """Adopt a volume found on the host (admins: it has no owner in the panel yet)."""
    host = host_access.get_host_for_user(request.user, code)
    access.require_admin(request.user)
    dataset = request.POST.get("dataset", "")
    try:
        dataset = validate.dataset_name(dataset, "dataset", require_child=True)
    except Dom0ValidationError as exc:
        messages.error(request, f"Cannot import {dataset!r}: {exc.rule}.")
        return redirect(_host_storage_url(host))
    with transaction.atomic():
        job = jobs.queue_import(host, dataset, request.user)
    messages.info(request, f"Importing {dataset} (job #{job.pk}).")
    return redirect(reverse("hosts:detail", args=[host.code]) + "#storage")


@require_POST
def volume_remove(request: HttpRequest, code: str) -> HttpResponse:
    """Forget a volume the panel did not finish making (failed, or never made); one click."""
    volume = access.get_owned_for_user(
        Volume.objects.select_related("host"), request.user, code, write=True
    )
    attach_jobs([volume], None)
    on_host = volume_on_host(volume)
    if on_host is None:
        messages.error(
            request,
            "Only a failed volume, or one that was never made, can be removed from the panel; "
            "Destroy removes a volume from its host.",
        )
        return redirect(volume)
    if volume.job is not None and volume.job.is_active:
        messages.error(request, f"Job #{volume.job.pk} is still working on {volume.dataset}.")
        return redirect(volume)
    reason = jobs.volume_in_use(volume)
    if reason:
        messages.error(
            request,
            f"{volume.dataset} cannot be removed: {reason}. Delete that domU (or retry its "
            "create) first.",
        )
        return redirect(volume)
    host = volume.host
    Volume.objects.filter(pk=volume.pk, state=volume.state).delete()
    if on_host == jobs.ON_HOST_NONE:
        messages.info(
            request, f"Removed {volume.dataset} from the panel; nothing of it was on {host.name}."
        )
    else:
        messages.warning(
            request,
            f"Removed {volume.dataset} from the panel. It may still exist on {host.name}: scan "
            "the host's volumes to find it, then import or destroy it.",
        )
    return redirect(_host_storage_url(host))


@require_POST
def volume_retry(request: HttpRequest, code: str) -> HttpResponse:
    """Queue the create of a failed volume again (it checks the host first)."""
    volume = access.get_owned_for_user(
        Volume.objects.select_related("host"), request.user, code, write=True
    )
    attach_jobs([volume], None)
    if volume.state != Volume.State.FAILED:
        messages.error(request, "Only a failed volume can be created again.")
        return redirect(volume)
    if volume.job is not None and volume.job.is_active:
        messages.error(request, f"Job #{volume.job.pk} is still working on {volume.dataset}.")
        return redirect(volume)
    reason = jobs.volume_in_use(volume)
    if reason:
        # A domU's disk is made by the domU's create job: retry that instead.
        messages.error(request, f"{volume.dataset} is the disk of a domU: {reason}.")
        return redirect(volume)
    try:
        with transaction.atomic():
            if not Volume.objects.filter(pk=volume.pk, state=Volume.State.FAILED).update(
                state=Volume.State.CREATING
            ):
                messages.error(request, f"{volume.dataset} changed meanwhile; look again.")
                return redirect(volume)
            job = jobs.queue_create(volume, request.user, retry=True)
    except quotas.QuotaExceeded as exc:
        messages.error(request, str(exc))
        return redirect(volume)
    messages.info(request, f"Creating {volume.dataset} again (job #{job.pk}).")
    return redirect(volume)
