"""A clone that fails cleans up everything of it, also what an earlier run made; clones get no
PCI device of their template (real worker, simulator)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from dom0.sim import SimHost
from domains import macs
from domains.clones import actions as clone_actions
from domains.clones import logic
from domains.models import Domain, DomainNic, DomainTemplate
from jobs.models import Job
from storage.models import Volume
from tests.domains.support import job_log_text, refreshed_host
from tests.domains.test_clones import TPL_SNAP, clone_batch
from tests.domains.test_templates import make_template, zfs
from tests.support.jobs import wait_for_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_failed_redelivered_clone_destroys_the_disk_an_earlier_run_cloned(
    worker, admin_client, tmp_path
):
    host = refreshed_host("xen-clundo", tmp_path)
    template, _ = make_template(admin_client, host)
    dataset = "zroot/xen/re-1-disk0"
    sim = SimHost(host.sim_dir)
    # The first run cloned the disk, marked it ready and died; xl create now fails.
    assert sim.run(["zfs", "clone", "-o", "volmode=dev", TPL_SNAP, dataset]).rc == 0
    sim.set_faults(fail={"xl create": (1, "libxl: error: out of memory")})
    source = logic.template_volumes(template)[0]
    with transaction.atomic():
        volume = Volume.objects.create(
            host=host, dataset=dataset, size_bytes=source.size_bytes, sparse=True,
            state=Volume.State.READY, origin=TPL_SNAP,
        )  # fmt: skip
        domain = Domain.objects.create(
            host=host, name="re-1", memory_mb=512, vcpus=1, volume=volume, template=template
        )
        DomainNic.objects.create(
            domain=domain, position=0, mac=macs.allocate_for_panel(1)[0], bridge="bridge0"
        )
        job = clone_actions.queue_clone(domain, template, user=None, batch="redo")
        Job.objects.filter(pk=job.pk).update(attempt=1)
    job = wait_for_job(job)
    assert job.status == "failed"
    log = job_log_text(job)
    assert ["zfs", "destroy", dataset] in [s.argv for s in job.steps.all()]
    assert f"Destroyed {dataset} (cloned by an earlier run of this job)" in log, log
    assert "Nothing of re-1 is left on the host" in log
    assert dataset not in zfs(host, "list", "-H", "-o", "name", "-t", "all")
    assert not Domain.objects.filter(name="re-1").exists()
    assert not Volume.objects.filter(dataset=dataset).exists()


def test_clones_get_none_of_the_templates_pci_devices(worker, admin_client, tmp_path):
    host = refreshed_host("xen-clpci", tmp_path)
    template, _ = make_template(admin_client, host)
    text = template.config_text + 'pci = ["0000:03:00.0"]\n'
    DomainTemplate.objects.filter(pk=template.pk).update(config_text=text)
    picker = admin_client.get(reverse("domains:clone_new") + f"?template={template.code}")
    page = picker.content.decode()
    assert "No PCI device" in page and "0000:03:00.0" in page
    _, jobs = clone_batch(admin_client, template, count=2)
    assert all(j.status == "succeeded" for j in jobs), [job_log_text(j) for j in jobs]
    for job in jobs:
        assert "PCI devices not cloned" in job_log_text(job)
    for domain in Domain.objects.filter(host=host):
        assert domain.pci == [] and "pci" not in domain.versions.get().text
