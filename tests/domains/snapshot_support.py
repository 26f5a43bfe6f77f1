"""Steps the snapshot tests share: take one through the page, read the simulated disks."""

from __future__ import annotations

from pathlib import Path

from django.urls import reverse

from dom0.sim import SimHost
from domains.models import Domain, DomainSnapshot
from hosts.models import Host
from jobs.models import Job
from storage.models import Volume
from tests.domains.support import latest_job
from tests.support.jobs import wait_for_job


def take(client, domain: Domain, name: str, mode: str) -> tuple[DomainSnapshot | None, Job]:
    """POST the take-snapshot form and wait for its job."""
    before = Job.objects.on(domain).count()
    response = client.post(
        reverse("domains:snapshot_create", args=[domain.code]), {"name": name, "mode": mode}
    )
    assert response.status_code == 302
    assert Job.objects.on(domain).count() == before + 1, "no job was queued"
    job = wait_for_job(latest_job(domain), timeout=30)
    return DomainSnapshot.objects.filter(domain=domain, name=name).first(), job


def post(client, name: str, domain: Domain, snap: DomainSnapshot | None = None, **data) -> Job:
    """POST a snapshot action and wait for the job it queued."""
    args = [domain.code] if snap is None else [domain.code, snap.code]
    response = client.post(reverse(f"domains:{name}", args=args), data)
    assert response.status_code == 302
    return wait_for_job(latest_job(domain), timeout=30)


def disk(host: Host, dataset: str) -> Path:
    """The simulated volume's device node: its bytes stand for the guest's disk."""
    return SimHost(host.sim_dir).local(f"/dev/zvol/{dataset}")


def host_snapshots(host: Host, dataset: str) -> list[str]:
    """The snapshot names `zfs list -t snapshot` shows on the simulated host."""
    result = SimHost(host.sim_dir).run(
        ["zfs", "list", "-H", "-t", "snapshot", "-o", "name", "-d", "1", dataset]
    )
    assert result.rc == 0, result.stderr
    return [line.split("@", 1)[1] for line in result.stdout.splitlines() if "@" in line]


def add_volume(host: Host, domain: Domain, name: str, owner) -> Volume:
    """Make a second volume on the host and attach it to the domU (as the edit page would)."""
    dataset = f"{host.volumes_parent}/{name}"
    result = SimHost(host.sim_dir).run(["zfs", "create", "-V", "1G", dataset])
    assert result.rc == 0, result.stderr
    volume = Volume.objects.create(
        host=host, dataset=dataset, size_bytes=2**30, state=Volume.State.READY, owner=owner
    )
    domain.extra_volumes.add(volume)
    return volume


def argvs(job: Job) -> list[list[str]]:
    return [s.argv for s in job.steps.order_by("seq") if s.argv]
