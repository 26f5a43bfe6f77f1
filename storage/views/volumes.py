"""Volume pages: create, detail, destroy, scan and import — each change is a job."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import access, quotas
from dom0 import validate
from dom0.errors import ValidationError as Dom0ValidationError
from hosts import access as host_access
from hosts.models import Host
from storage.forms import VolumeForm
from storage.jobs import volumes as jobs
from storage.models import Volume
from storage.panel import VOLUME_KINDS, attach_jobs, host_storage_context


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
        try:
            with transaction.atomic():
                volume = Volume.objects.create(
                    host=host,
                    dataset=form.dataset,
                    size_bytes=form.cleaned_data["size"],
                    sparse=form.cleaned_data["sparse"],
                    owner=request.user,
                    team=form.cleaned_data.get("team"),
                )
                job = jobs.queue_create(volume, request.user)
        except quotas.QuotaExceeded as exc:
            form.add_error("size", str(exc))
        else:
            messages.info(request, f"Creating {volume.dataset} (job #{job.pk}).")
            return redirect(_host_storage_url(host))
    return render(request, "storage/volume_form.html", {"form": form, "host": host})


def volume_detail(request: HttpRequest, code: str) -> HttpResponse:
    volume = access.get_owned_for_user(
        Volume.objects.select_related("host", "owner", "team"), request.user, code
    )
    attach_jobs([volume], VOLUME_KINDS)
    context = {
        "volume": volume,
        "in_use": jobs.volume_in_use(volume),
        "can_operate": access.can_operate(request.user),
    }
    if request.htmx:
        return render(request, "storage/_volume_status.html", context)
    return render(request, "storage/volume_detail.html", context)


@require_POST
def volume_destroy(request: HttpRequest, code: str) -> HttpResponse:
    volume = access.get_owned_for_user(
        Volume.objects.select_related("host"), request.user, code, write=True
    )
    if request.POST.get("confirm", "").strip() != volume.name:
        messages.error(request, f"Type the volume name ({volume.name}) to destroy it.")
        return redirect(volume)
    reason = jobs.volume_in_use(volume)
    if reason:
        messages.error(request, f"{volume.dataset} cannot be destroyed: {reason}.")
        return redirect(volume)
    with transaction.atomic():
        job = jobs.queue_destroy(volume, request.user)
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
