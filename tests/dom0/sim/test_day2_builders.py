"""The panel's day-2 argv builders, run against the simulator: every form they build is accepted."""

from __future__ import annotations

from dom0 import device_commands as dc
from dom0 import snapshot_commands as sc
from dom0.sim import SimHost
from dom0.xlcfg import DiskSpec, VifSpec

from .conftest import write_domu


def ok(host: SimHost, argv: list[str]) -> str:
    result = host.run(argv)
    assert result.rc == 0, (argv, result.stderr)
    return result.stdout


def test_snapshot_builders(host: SimHost) -> None:
    vols = ["zroot/xen/a", "zroot/xen/b"]
    for vol in vols:
        ok(host, ["zfs", "create", "-V", "1G", vol])
    ok(host, sc.zfs_snapshot([f"{v}@s1" for v in vols]))
    ok(host, sc.zfs_snapshot([f"{v}@s2" for v in vols]))
    rows = ok(host, sc.zfs_list_snapshots(vols)).splitlines()
    assert [r.split("\t")[0] for r in rows] == [
        "zroot/xen/a@s1", "zroot/xen/a@s2", "zroot/xen/b@s1", "zroot/xen/b@s2",
    ]  # fmt: skip
    ok(host, sc.zfs_rollback("zroot/xen/a@s1", destroy_later=True))
    ok(host, sc.zfs_clone("zroot/xen/b@s2", "zroot/xen/c", properties={"volmode": "dev"}))
    ok(host, sc.zfs_set_readonly("zroot/xen/b", True))
    ok(host, sc.zfs_set_volsize("zroot/xen/c", 2 * 2**30))
    ok(host, sc.zfs_promote("zroot/xen/c"))
    # Promote moved b's snapshots up to the origin (s1, s2) to the clone.
    ok(host, sc.zfs_destroy_snapshot("zroot/xen/c@s1"))
    assert host.run(sc.zfs_destroy_snapshot("zroot/xen/b@s1")).rc == 1


def test_device_builders(host: SimHost) -> None:
    cfg = write_domu(host, memory=1024)
    ok(host, ["xl", "create", cfg])
    ok(host, dc.xl_mem_max("freebsd", 2048))
    ok(host, dc.xl_mem_set("freebsd", 2048))
    ok(host, dc.xl_vcpu_set("freebsd", 1))
    ok(host, ["zfs", "create", "-V", "1G", "zroot/xen/extra"])
    disk = DiskSpec(vdev="xvdb", target="/dev/zvol/zroot/xen/extra")
    ok(host, dc.xl_block_attach("freebsd", disk))
    ok(host, dc.xl_block_detach("freebsd", "xvdb"))
    mac = "00:16:3e:11:22:33"
    ok(host, dc.xl_network_attach("freebsd", VifSpec(bridge="bridge0", mac=mac)))
    assert mac in ok(host, dc.xl_network_list("freebsd"))
    ok(host, dc.xl_network_detach("freebsd", mac))
    ok(host, dc.xl_pci_assignable_add("0000:03:00.0"))
    assert ok(host, dc.xl_pci_assignable_list()) == "0000:03:00.0 \n"
    ok(host, dc.xl_pci_list("freebsd"))
    ok(host, dc.xl_pci_assignable_remove("0000:03:00.0", rebind=True))
    assert "igb0@pci0:3:0:0:" in ok(host, dc.pciconf_list(verbose=True))
