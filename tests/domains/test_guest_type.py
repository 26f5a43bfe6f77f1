"""Guest type: HVM by default, PVH with a kernel on the host (checked by the create job)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dom0.sim import SimHost
from domains import cfg, records
from domains.models import Domain, GuestType
from storage.models import Volume
from tests.domains.support import create_via_form, form_data, job_log_text, refreshed_host

KERNEL = "/usr/local/lib/grub-pvh/grub-i386-xen_pvh.bin"


def test_a_pvh_config_boots_a_kernel_on_pv_disks_without_emulated_devices():
    settings = cfg.Settings(
        "p1", 512, 1, "/dev/zvol/zroot/xen/p1-disk0", "/var/isos/x.iso", "bridge0",
        vnc_display=3, vnc_password="Ab3dEf7h", guest_type="pvh", kernel=KERNEL,
        extra_disks=("/dev/zvol/zroot/xen/p1-disk1",),
    )  # fmt: skip
    text = cfg.render(cfg.build(settings))
    assert 'type = "pvh"' in text and f'kernel = "{KERNEL}"' in text
    assert "vdev=xvda" in text and "vdev=xvdb" in text
    for absent in ("hda", "cdrom", "vnc", "serial", "usbdevice"):
        assert absent not in text
    summary = cfg.summary(cfg.parse(text))
    assert (summary["guest_type"], summary["kernel"]) == ("pvh", KERNEL)
    assert 'type = "hvm"' in cfg.render(cfg.build(cfg.Settings("h", 512, 1, None, None, "")))


@pytest.mark.django_db
def test_the_form_asks_for_a_kernel_and_refuses_an_iso_for_pvh(admin_client, tmp_path):
    from hosts.models import Host

    host = Host.objects.create(name="xen-gt0", transport="sim", sim_dir=str(tmp_path))
    data = form_data(host, "p0", guest_type="pvh", kernel="")
    response = admin_client.post(reverse("domains:new"), data)
    assert response.status_code == 200
    assert "needs a kernel or a PVH boot loader" in response.content.decode()
    response = admin_client.post(reverse("domains:new"), {**data, "kernel": "boot/kernel"})
    assert "absolute path" in response.content.decode()
    assert not Domain.objects.exists()
    page = admin_client.get(reverse("domains:new"), {"host": host.code}).content.decode()
    assert "PVH boot loader" in page and "docs/guest-types.md" in page


@pytest.mark.django_db(transaction=True)
def test_the_create_job_fails_clearly_when_the_kernel_is_not_on_the_host(
    worker, admin_client, tmp_path
):
    host = refreshed_host("xen-gt1", tmp_path)
    domain, job = create_via_form(admin_client, host, "p1", guest_type="pvh", kernel=KERNEL)
    assert job.status == "failed"
    assert f"{KERNEL} is not on xen-gt1: nothing was created" in job.error
    assert "no such file" in job_log_text(job)
    assert "xl create" not in " ".join(" ".join(s.argv or []) for s in job.steps.all())
    assert not Volume.objects.filter(dataset__endswith="p1-disk0").exists()
    assert Domain.objects.get(pk=domain.pk).guest_type == GuestType.PVH


@pytest.mark.django_db(transaction=True)
def test_a_pvh_domu_with_its_kernel_on_the_host_is_created(worker, admin_client, tmp_path):
    host = refreshed_host("xen-gt2", tmp_path)
    path = SimHost(host.sim_dir).path(KERNEL)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF pvh")
    domain, job = create_via_form(admin_client, host, "p2", guest_type="pvh", kernel=KERNEL)
    assert job.status == "succeeded", job.error
    text = records.current_text(domain)
    assert 'type = "pvh"' in text and "vnc" not in text
    domain.refresh_from_db()
    assert domain.guest_type == GuestType.PVH and domain.kernel == KERNEL
    assert not domain.vnc_enabled
    page = admin_client.get(reverse("domains:edit", args=[domain.code])).content.decode()
    assert "no emulated graphics" in page and 'name="kernel"' in page and 'name="cdrom"' not in page
