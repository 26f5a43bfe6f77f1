"""A rollback takes back nothing another domU has now: a disk moved to another domU is refused
before anything changes (zfs would roll it back under that domU), MACs and PCI devices now held
elsewhere are replaced or left out of the restored config; the old VNC password never shows in
the log; a grown volume's size follows the rollback; a template's snapshot is never destroyed."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from dom0.sim import SimHost
from domains import cfg, records
from domains.models import Domain, DomainNic, DomainSnapshot, DomainTemplate
from domains.snapshots import actions
from jobs.models import Job
from storage.models import Volume
from tests.domains.snapshot_support import add_volume, argvs, disk, post, take
from tests.domains.support import act, create_via_form, job_log_text, refreshed_host
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)
GIB = 2**30
PCI = "0000:03:00.0"


def _stopped(client, host, name: str, **overrides) -> Domain:
    domain, job = create_via_form(client, host, name, **overrides)
    assert job.status == "succeeded", job.error
    job = act(client, domain, "destroy")  # the simulated guest has no PV drivers to shut down
    assert job.status == "succeeded", job.error
    domain.refresh_from_db()
    return domain


def _edit(domain: Domain, change) -> None:
    """Store a new config version of `domain` (what the edit page would write)."""
    text = records.current_text(domain)
    new = change(text)
    assert new != text
    records.add_version(domain, new, note="Edited")


def _add_disk(text: str, dataset: str, vdev: str) -> str:
    """Append a disk line to a config's `disk = [...]`."""
    line = f"    'format=raw, vdev={vdev}, access=rw, target=/dev/zvol/{dataset}',\n"
    start = text.index("disk = [\n")
    end = text.index("]", start)
    return text[:end] + line + text[end:]


def _drop_disk(text: str, dataset: str) -> str:
    return re.sub(rf"\n[^\n]*/dev/zvol/{re.escape(dataset)}'[^\n]*", "", text)


def _refused(job: Job, domain: Domain, versions: int) -> None:
    assert job.status == "failed"
    assert "nothing was rolled back" in job.error
    assert not any(a[:2] == ["zfs", "rollback"] for a in argvs(job))
    assert domain.versions.count() == versions


def test_a_disk_now_attached_to_another_domu_is_never_rolled_back(worker, admin_client, tmp_path):
    host = refreshed_host("xen-claim", tmp_path)
    a = _stopped(admin_client, host, "ca")
    moved = add_volume(host, a, "ca-data", a.owner)
    _edit(a, lambda t: _add_disk(t, moved.dataset, "xvdb"))
    snap, job = take(admin_client, a, "s1", "stopped")
    assert job.status == "succeeded", job.error
    assert moved.dataset in snap.datasets

    # The edit page detaches the volume from A and attaches it to B, which writes to it.
    _edit(a, lambda t: _drop_disk(t, moved.dataset))
    assert list(a.extra_volumes.all()) == []
    b = _stopped(admin_client, host, "cb")
    _edit(b, lambda t: _add_disk(t, moved.dataset, "xvdb"))
    assert list(b.extra_volumes.all()) == [moved]
    disk(host, moved.dataset).write_text("B's data")
    versions = a.versions.count()

    # The confirmation says why, the POST queues nothing...
    page = reverse("domains:snapshots", args=[a.code])
    body = admin_client.get(page, {"rollback": str(snap.code)}).content.decode()
    assert f"{moved.dataset} is now a disk of cb" in body
    assert 'name="confirm"' not in body
    before = Job.objects.on(a).count()
    url = reverse("domains:snapshot_rollback", args=[a.code, snap.code])
    response = admin_client.post(url, {"confirm": "s1"}, follow=True)
    assert Job.objects.on(a).count() == before
    assert "is now a disk of cb" in response.content.decode()

    # ...and the job checks again itself, before it changes anything on the host.
    job = wait_for_job(actions.queue_rollback(a, snap, user=None))
    _refused(job, a, versions)
    assert f"{moved.dataset} is now a disk of cb" in job.error
    assert disk(host, moved.dataset).read_text() == "B's data"
    assert list(Domain.objects.filter(extra_volumes=moved)) == [b]

    # Detached from B too, it belongs to nobody: the rollback takes it back to A.
    _edit(b, lambda t: _drop_disk(t, moved.dataset))
    job = post(admin_client, "snapshot_rollback", a, snap, confirm="s1")
    assert job.status == "succeeded", job_log_text(job)
    assert ["zfs", "rollback", "-r", f"{moved.dataset}@s1"] in argvs(job)
    assert list(Domain.objects.filter(extra_volumes=moved)) == [a]


def test_a_config_naming_a_disk_another_domu_has_is_not_restored(worker, admin_client, tmp_path):
    host = refreshed_host("xen-claim2", tmp_path)
    a = _stopped(admin_client, host, "da")
    moved = add_volume(host, a, "da-data", a.owner)
    _edit(a, lambda t: _add_disk(t, moved.dataset, "xvdb"))
    snap, job = take(admin_client, a, "s1", "stopped")
    assert job.status == "succeeded", job.error
    # Its @s1 on the moved volume was deleted; the config of that moment still names it.
    DomainSnapshot.objects.filter(pk=snap.pk).update(datasets=[a.volume.dataset])
    _edit(a, lambda t: _drop_disk(t, moved.dataset))
    b = _stopped(admin_client, host, "db")
    _edit(b, lambda t: _add_disk(t, moved.dataset, "xvdb"))
    versions = a.versions.count()

    job = wait_for_job(actions.queue_rollback(a, snap, user=None))
    _refused(job, a, versions)
    assert f"The config of @s1 names {moved.dataset}, now a disk of db" in job.error
    assert list(Domain.objects.filter(extra_volumes=moved)) == [b]


def _nic_mac(text: str) -> str:
    return cfg.summary(cfg.parse(text))["nics"][0][1]  # type: ignore[index]


def test_the_restored_config_keeps_its_secrets_and_takes_no_mac_or_device_of_another_domu(
    worker, admin_client, tmp_path
):
    host = refreshed_host("xen-claim3", tmp_path)
    a = _stopped(admin_client, host, "ea", vnc_password="oldPw471")
    b = _stopped(admin_client, host, "eb")
    _edit(a, lambda t: t + f"pci = ['{PCI}']\n")
    old_mac = _nic_mac(records.current_text(a))
    snap, job = take(admin_client, a, "s1", "stopped")
    assert job.status == "succeeded", job.error
    assert "oldPw471" in snap.config_text and PCI in snap.config_text
    original = Volume.objects.get(pk=a.volume.pk).size_bytes

    # Since then: A has a new VNC password and MAC and no device; B has A's old MAC and the
    # device; A's volume was grown.
    fresh = DomainNic.objects.get(domain=a).mac
    new_mac = "00:16:3e:7a:7a:7a"
    _edit(
        a,
        lambda t: (
            t.replace("oldPw471", "newPw081")
            .replace(old_mac, new_mac)
            .replace(f"pci = ['{PCI}']\n", "")
        ),
    )
    b_mac = DomainNic.objects.get(domain=b).mac
    _edit(b, lambda t: t.replace(b_mac, old_mac) + f"pci = ['{PCI}']\n")
    assert DomainNic.objects.get(domain=b).mac == old_mac
    grown = SimHost(host.sim_dir).run(["zfs", "set", f"volsize={original + GIB}", a.volume.dataset])
    assert grown.rc == 0, grown.stderr
    Volume.objects.filter(pk=a.volume.pk).update(size_bytes=original + GIB)
    Domain.objects.filter(pk=a.pk).update(restart_pending=True)

    job = post(admin_client, "snapshot_rollback", a, snap, confirm="s1")
    log = job_log_text(job)
    assert job.status == "succeeded", log
    assert "oldPw471" not in log and "newPw081" not in log and "********" in log

    text = records.current_text(a)
    assert "oldPw471" in text  # the password of that moment is the live one again
    mac = _nic_mac(text)
    assert mac not in (old_mac, new_mac, fresh) and mac.startswith("00:16:3e:")
    assert DomainNic.objects.get(domain=a).mac == mac
    assert DomainNic.objects.get(domain=b).mac == old_mac
    assert PCI not in text
    assert f"new MACs instead of {old_mac}" in job.message
    assert f"{PCI} (now eb)" in log
    config = SimHost(host.sim_dir).local(cfg.config_path(host.config_dir, a.name))
    assert config.read_text() == text

    a.refresh_from_db()
    assert a.pci == [] and not a.restart_pending and a.vnc_password == "oldPw471"
    assert ["zfs", "get", "-H", "-p", "-o", "property,value", "volsize", a.volume.dataset] in (
        argvs(job)
    )
    assert Volume.objects.get(pk=a.volume.pk).size_bytes == original


def test_the_rollback_waits_for_the_domu_lock(worker, admin_client, tmp_path):
    host = refreshed_host("xen-claim4", tmp_path)
    a = _stopped(admin_client, host, "fa")
    snap, job = take(admin_client, a, "s1", "stopped")
    assert job.status == "succeeded", job.error
    job = actions.queue_rollback(a, snap, user=None)
    assert a.lock_key in job.lock_keys  # one job at a time on the domU: no start mid-rollback
    assert wait_for_job(job).status == "succeeded"


def test_a_rollback_that_would_destroy_a_templates_snapshot_is_refused(
    worker, admin_client, tmp_path
):
    host = refreshed_host("xen-claim5", tmp_path)
    a = _stopped(admin_client, host, "ga")
    snap, job = take(admin_client, a, "s1", "stopped")
    assert job.status == "succeeded", job.error
    _, job = take(admin_client, a, "tpl", "stopped")
    assert job.status == "succeeded", job.error
    # The volume carries a template's snapshot made after @s1 (-r would destroy it).
    template = DomainTemplate.objects.create(
        host=host, name="base", config_text="", snapshot="tpl", memory_mb=1024, state="ready"
    )
    template.volumes.add(a.volume)
    versions = a.versions.count()

    job = wait_for_job(actions.queue_rollback(a, snap, user=None))
    _refused(job, a, versions)
    assert f"would destroy {a.volume.dataset}@tpl (template base)" in job.error
