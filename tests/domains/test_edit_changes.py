"""Pure logic of the edit: which changes apply live and which wait, the configs it builds
(no DB, no I/O)."""

from __future__ import annotations

import dataclasses

from dom0.xlcfg import DiskSpec, VifSpec
from domains import cfg
from domains.editing import changes

MAC0, MAC1 = "00:16:3e:00:00:01", "00:16:3e:00:00:02"
SETTINGS = cfg.Settings(
    name="web1",
    memory_mb=1024,
    vcpus=1,
    disk_path="/dev/zvol/zroot/xen/web1-disk0",
    iso_path="/var/lib/xenpanel/isos/fb.iso",
    bridge="bridge0",
    vnc_display=2,
    vnc_password="Ab3dEf7h",
    maxmem_mb=4096,
    maxvcpus=4,
    nics=(cfg.Nic("bridge0", MAC0),),
)
BASE = cfg.build(SETTINGS)


def _plan(**changed: object) -> changes.Plan:
    return changes.plan(BASE, dataclasses.replace(BASE, **changed))  # type: ignore[arg-type]


def test_it_applies_memory_and_vcpus_live_within_their_ceilings():
    plan = _plan(memory=2048, vcpus=3)
    assert plan.all_live
    assert [(c.op, c.arg) for c in plan.live] == [("mem-set", "2048"), ("vcpu-set", "3")]


def test_it_waits_for_a_start_above_the_ceilings_or_when_they_change():
    plan = _plan(memory=8192, vcpus=8)
    assert not plan.live and len(plan.later) == 2
    assert "ceiling" in plan.later[0].why and "maxvcpus" in plan.later[1].why
    plan = _plan(maxmem=8192)
    assert not plan.all_live and plan.later[0].what == "maxmem 4096 → 8192 MiB"


def test_without_maxmem_the_ceiling_is_the_memory_it_started_with():
    base = dataclasses.replace(BASE, maxmem=None, maxvcpus=None)
    assert changes.plan(base, dataclasses.replace(base, memory=512)).all_live
    assert not changes.plan(base, dataclasses.replace(base, memory=2048)).all_live
    assert not changes.plan(base, dataclasses.replace(base, vcpus=2)).all_live


def test_it_attaches_and_detaches_pv_disks_and_nics_live():
    extra = DiskSpec(vdev="xvdb", target="/dev/zvol/zroot/xen/web1-disk1")
    plan = _plan(disks=(*BASE.disks, extra), vifs=(*BASE.vifs, VifSpec(bridge="bridge1", mac=MAC1)))
    assert plan.all_live
    assert {(c.op, c.arg) for c in plan.live} == {
        ("block-attach", "xvdb"),
        ("network-attach", MAC1),
    }
    back = changes.plan(dataclasses.replace(BASE, disks=(*BASE.disks, extra)), BASE)
    assert [(c.op, c.arg) for c in back.live] == [("block-detach", "xvdb")]
    assert [(c.op, c.arg) for c in _plan(vifs=()).live] == [("network-detach", MAC0)]


def test_the_boot_disk_ide_disks_bridges_and_macless_nics_wait():
    assert not _plan(disks=BASE.disks[1:]).all_live  # the boot disk (and the cdrom drive) go
    ide = DiskSpec(vdev="hdb", target="/dev/zvol/zroot/xen/x")
    assert _plan(disks=(*BASE.disks, ide)).later[0].why.startswith("an emulated IDE disk")
    assert not _plan(vifs=(VifSpec(bridge="bridge1", mac=MAC0),)).live
    assert not _plan(vifs=(*BASE.vifs, VifSpec(bridge="bridge1"))).all_live


def test_it_inserts_and_ejects_the_cdrom_live_but_not_adding_a_drive():
    cd = BASE.disks[1]
    plan = _plan(disks=(BASE.disks[0], dataclasses.replace(cd, target="")))
    assert [(c.op, c.arg) for c in plan.live] == [("cd-eject", "hdc")]
    other = dataclasses.replace(cd, target="/var/lib/xenpanel/isos/other.iso")
    assert [c.op for c in _plan(disks=(BASE.disks[0], other)).live] == ["cd-insert"]
    without = dataclasses.replace(BASE, disks=BASE.disks[:1])
    assert not changes.plan(without, BASE).all_live


def test_other_settings_wait_for_the_next_start():
    plan = _plan(boot="dc", on_crash="preserve", vncpasswd="Zz9yXw8v")
    assert not plan.live
    assert [c.what for c in plan.later] == [
        "boot order default → dc",
        "on_crash default → preserve",
        "VNC password changed",
    ]
    assert not _plan() and not _plan().all_live


def test_it_builds_a_config_with_macs_ceilings_and_extra_disks():
    settings = dataclasses.replace(
        SETTINGS, extra_disks=("/dev/zvol/zroot/xen/a", "/dev/zvol/zroot/xen/b"), boot="dc"
    )
    text = cfg.render(cfg.build(settings))
    for line in ("maxmem = 4096", "maxvcpus = 4", f"'bridge=bridge0,mac={MAC0}',", 'boot = "dc"'):
        assert line in text
    assert "vdev=hda" in text and "vdev=xvdb" in text and "vdev=xvdd" in text  # hdc: the cdrom
    summary = cfg.summary(cfg.parse(text))
    assert summary["nics"] == [(0, MAC0, "bridge0")]
    assert summary["extra_disk_paths"] == ["/dev/zvol/zroot/xen/a", "/dev/zvol/zroot/xen/b"]
    assert (summary["maxmem_mb"], summary["maxvcpus"]) == (4096, 4)


def test_finish_install_keeps_the_macs():
    text = cfg.render(cfg.build(SETTINGS))
    assert f"mac={MAC0}" in cfg.without_cdrom(text)


def test_vdev_names_and_indexes():
    assert cfg.disk_vdevs("hvm", 4) == ["hda", "xvdb", "xvdd", "xvde"]
    assert cfg.disk_vdevs("pvh", 2) == ["xvda", "xvdb"]
    assert [cfg.vdev_index(v) for v in ("hda", "hdc", "xvdb", "sdd", "xvdz", "ide0")] == [
        0, 2, 1, 3, 25, None,
    ]  # fmt: skip
