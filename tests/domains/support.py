"""Shared steps for the domU tests: a refreshed simulated host, an ISO on it, the form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.urls import reverse

from domains.models import Domain
from hosts.dom0.sim import SimHost
from hosts.jobs.host_refresh import queue_refresh
from hosts.models import Host, IsoImage, Job
from hosts.simhosts import create_sim_host
from tests.support.jobs import wait_for_job


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
        "vnc_listen": "0.0.0.0",  # noqa: S104 (a vnclisten value)
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
    job = Job.objects.filter(target_key=domain.target_key).latest("created_at")
    return domain, wait_for_job(job, timeout=30)


def act(client, domain: Domain, action: str) -> Job:
    response = client.post(reverse("domains:action", args=[domain.code, action]))
    assert response.status_code == 302
    job = Job.objects.filter(target_key=domain.target_key).latest("created_at")
    return wait_for_job(job, timeout=30)


def latest_job(domain: Domain) -> Job:
    return Job.objects.filter(target_key=domain.target_key).latest("created_at")


def _errors(response: Any) -> str:
    form = (response.context or {}).get("form")
    return str(form.errors) if form is not None else response.content.decode()[:500]
