"""Shared steps for the domU tests: a refreshed simulated host, an ISO on it, the form, a create
job queued by hand, and what a job's log shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.urls import reverse

from dom0 import commands
from dom0.sim import SimHost
from domains import actions, cfg, records
from domains.models import Domain
from hosts.jobs import queue_refresh
from hosts.models import Host
from hosts.simhosts import create_sim_host
from jobs.models import Job, JobStep
from storage.models import IsoImage, Volume
from tests.support.jobs import wait_for_job

GIB = 2**30


def refreshed_host(name: str, tmp_path: Path, *, full: bool = False, **seed: Any) -> Host:
    host = create_sim_host(name, state_dir=tmp_path / name, **seed)
    poll(host, full=full)
    host.refresh_from_db()
    return host


def poll(host: Host, *, full: bool = False) -> Job:
    with transaction.atomic():
        job = queue_refresh(host, full=full)
    job = wait_for_job(job, timeout=30)
    assert job.status == "succeeded", job.error
    return job


def put_iso(host: Host, file_name: str = "FreeBSD-14.2-RELEASE-amd64-bootonly.iso") -> IsoImage:
    """Put an ISO file into the simulated host's ISO dir and list it as READY."""
    path = SimHost(host.sim_dir).path(f"{host.iso_dir}/{file_name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"CD001" + b"\0" * 2048)
    return IsoImage.objects.create(
        host=host,
        file_name=file_name,
        size_bytes=path.stat().st_size,
        source=IsoImage.Source.FOUND,
        state=IsoImage.State.READY,
    )


def form_data(host: Host, name: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "host": str(host.code),
        "name": name,
        "memory_mb": 1024,
        "vcpus": 1,
        "disk": "new",
        "disk_gib": 20,
        "volume": "",
        "iso": "",
        "bridge": "bridge0",
        "vnc_enabled": "on",
        # Loopback: beyond it only an admin on a host that allows it (issue 18, item 1).
        "vnc_listen": "127.0.0.1",
        "vnc_password": "s3cretPw",
        "serial_pty": "on",
        "tablet": "on",
        "autostart_order": 10,
        "autostart_delay": 0,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def create_via_form(client, host: Host, name: str, **overrides: Any) -> tuple[Domain, Job]:
    """POST the new-domU form, then wait for the create job the worker runs."""
    response = client.post(reverse("domains:new"), form_data(host, name, **overrides))
    assert response.status_code == 302, _errors(response)
    domain = Domain.objects.get(host=host, name=name)
    job = Job.objects.on(domain).latest("created_at")
    return domain, wait_for_job(job, timeout=30)


def act(client, domain: Domain, action: str) -> Job:
    response = client.post(reverse("domains:action", args=[domain.code, action]))
    assert response.status_code == 302
    job = Job.objects.on(domain).latest("created_at")
    return wait_for_job(job, timeout=30)


def latest_job(domain: Domain) -> Job:
    return Job.objects.on(domain).latest("created_at")


def _errors(response: Any) -> str:
    form = (response.context or {}).get("form")
    return str(form.errors) if form is not None else response.content.decode()[:500]


def job_log_text(job: Job) -> str:
    """Everything a job's log shows: every step's argv and output, and the job's messages."""
    parts = [job.error, job.message]
    for step in job.steps.all():
        parts += [step.label, " ".join(step.argv or []), step.output]
    return "\n".join(parts)


def queued_create(
    host: Host,
    name: str,
    user: Any,
    *,
    cancel: bool = False,
    redelivered: bool = False,
    earlier_zfs_create: bool = False,
) -> tuple[Domain, Job]:
    """Make what the new-domU form makes (domU, CREATING volume, config, create job) by hand.

    `cancel`: the job was cancelled while queued. `redelivered`: a worker ran it before and died.
    `earlier_zfs_create`: that first delivery had started `zfs create` when its worker died.
    """
    dataset = f"{host.volumes_parent}/{name}-disk0"
    with transaction.atomic():
        volume = Volume.objects.create(host=host, dataset=dataset, size_bytes=20 * GIB, owner=user)
        domain = Domain.objects.create(
            host=host, name=name, owner=user, memory_mb=512, volume=volume, vnc_display=None
        )
        settings = cfg.Settings(name, 512, 1, volume.device_path, None, "bridge0")
        records.add_version(domain, cfg.render(cfg.build(settings)), author=user, note="Created")
        job = actions.queue(domain, actions.CREATE, f"Create {name}", params={"new_volume": True})
        if cancel:
            Job.objects.filter(pk=job.pk).update(status="cancelled", cancel_requested=True)
        if redelivered:
            Job.objects.filter(pk=job.pk).update(attempt=1)
        if earlier_zfs_create:
            JobStep.objects.create(
                job=job,
                seq=1,
                label=f"Create volume {dataset}",
                argv=commands.zfs_create_volume(dataset, 20 * GIB),
            )
    job.refresh_from_db()
    return domain, job
