"""Day-2 argv builders and validators (issue 13): exact argv, and every refusal names the field
and the rule.

Sources of the argv forms:
- `zfs snapshot ds@s...` (atomic, one pool): openzfs/zfs man/man8/zfs-snapshot.8 ("Snapshots are
  created atomically"); lib/libzfs_core/libzfs_core.c `lzc_snapshot` ("They must all be in the
  same pool"); libzfs_dataset.c `zfs_snapshot_nvl` ("multiple snapshots of same fs not allowed").
- `zfs set volsize=`: libzfs_dataset.c `zfs_valid_proplist` refuses a volsize that is not a
  multiple of volblocksize ("'volsize' must be a multiple of volume block size (16K)").
- Snapshot names: module/zcommon/zfs_namecheck.c `valid_char`, `entity_namecheck`
  (ZFS_MAX_DATASET_NAME_LEN 256 with the NUL); `zfs destroy` reads `,` as a list and `%` as a
  range (zfs-destroy.8).
- xl: xen tools/xl/xl_cmdtable.c synopses (`mem-set <Domain> <MemMB['b'|'k'|'m'|'g'|'t']>`,
  `vcpu-set <Domain> <vCPUs>`, `block-attach <Domain> <disk-spec-component(s)>...`,
  `block-detach <Domain> <DevId>`, `network-attach <Domain> [type=] [mac=] [bridge=] [ip=]
  [script=] [backend=] [vifname=] [rate=] [model=] [accel=] [mtu=]`, `network-detach <Domain>
  <DevId|mac>`, `pci-assignable-add <BDF>`, `pci-assignable-remove [-r] <BDF>`); BDF rules from
  tools/libs/util/libxlu_pci.c `parse_bdf` (device <= 0x1f, function <= 7).
- `pciconf -l [-v]`: FreeBSD usr.sbin/pciconf/pciconf.c usage.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dom0 import commands as c
from dom0 import validate
from dom0.errors import ValidationError
from dom0.xlcfg import DiskSpec, VifSpec

P = c.PathPolicy(config_dir="/cfg", iso_dir="/iso", zvol_dir="/dev/zvol")


def refused(fn: object, *args: object, **kwargs: object) -> ValidationError:
    assert callable(fn)
    with pytest.raises(ValidationError) as info:
        fn(*args, **kwargs)
    return info.value


# --- validators --------------------------------------------------------------------------------


def test_snapshot_names_follow_zfs_rules() -> None:
    assert validate.snapshot_name("before-upgrade_2.0:x") == "before-upgrade_2.0:x"
    assert validate.snapshot("zroot/xen/vm1@s1") == "zroot/xen/vm1@s1"
    assert validate.snapshot(" tank@daily ") == "tank@daily"
    longest = "z/" + "v" * (255 - 2 - 2) + "@s"
    assert len(longest) == 255 and validate.snapshot(longest) == longest


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("", "must not be empty"),
        ("a/b", "may contain only letters"),
        ("a@b", "may contain only letters"),
        ("a#b", "may contain only letters"),
        ("a,b", "no '/', '@', '#', ',', '%' or spaces"),
        ("a%b", "'%'"),
        ("a b", "spaces"),
        (".", "must not be '.' or '..'"),
        ("..", "must not be '.' or '..'"),
        ("x" * 254, "at most 253 characters"),
        (7, "must be text"),
    ],
)
def test_snapshot_name_refusals(value: object, rule: str) -> None:
    err = refused(validate.snapshot_name, value)
    assert err.field == "snapshot" and rule in err.rule


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("zroot/xen/vm1", "must be a snapshot name such as"),
        ("zroot/xen/vm1@a@b", "exactly one '@'"),
        ("zroot/xen/vm1@", "must not be empty"),
        ("@s", "must not be empty"),
        ("zroot//vm1@s", "empty components"),
        ("mirror/v@s", "reserved by ZFS"),
        ("z/" + "v" * 250 + "@snap", "at most 255 characters with the dataset name"),
    ],
)
def test_full_snapshot_refusals(value: str, rule: str) -> None:
    err = refused(validate.snapshot, value, "snap")
    assert err.field == "snap" and rule in err.rule


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("03:00.0", "0000:03:00.0"),
        ("0000:03:00.0", "0000:03:00.0"),
        ("0001:ff:1f.7", "0001:ff:1f.7"),
        ("3:0.1", "0000:03:00.1"),
        (" 0000:0A:1B.3 ", "0000:0a:1b.3"),
    ],
)
def test_pci_bdf_is_canonical(value: str, canonical: str) -> None:
    assert validate.pci_bdf(value) == canonical


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("03:20.0", "device number must be at most 1f"),
        ("03:00.8", "function number must be at most 7"),
        ("03:00", "must be a PCI address"),
        ("00000:03:00.0", "must be a PCI address"),
        ("03:00.0,permissive=1", "must be a PCI address"),
        ("pci0:3:0:0", "must be a PCI address"),
        (None, "must be text"),
    ],
)
def test_pci_bdf_refusals(value: object, rule: str) -> None:
    err = refused(validate.pci_bdf, value)
    assert err.field == "pci" and rule in err.rule


def test_macs_are_unicast_and_come_back_lower_case_with_colons() -> None:
    assert validate.mac("00-16-3E-74-34-32") == "00:16:3e:74:34:32"
    assert refused(validate.mac, "01:16:3e:74:34:32", "nic").field == "nic"
    assert "unicast" in refused(validate.mac, "01:16:3e:74:34:32").rule
    assert "six hex octets" in refused(validate.mac, "00:16:3e:74:34").rule


# --- zfs ---------------------------------------------------------------------------------------


def test_it_snapshots_several_volumes_in_one_command() -> None:
    assert c.zfs_snapshot(["tank/xen/vm1@s1", "tank/xen/vm1-data@s1"]) == [
        "zfs",
        "snapshot",
        "tank/xen/vm1@s1",
        "tank/xen/vm1-data@s1",
    ]


@pytest.mark.parametrize(
    ("snapshots", "rule"),
    [
        ([], "at least one snapshot"),
        ("tank/v@s", "at least one snapshot"),
        (["tank/v@a", "tank/v@b"], "each dataset once"),
        (["tank/v@s", "zroot/v@s"], "one pool"),
        (["tank/v"], "must be a snapshot name"),
    ],
)
def test_zfs_snapshot_refusals(snapshots: object, rule: str) -> None:
    err = refused(c.zfs_snapshot, snapshots)
    assert err.field == "snapshots" and rule in err.rule


def test_it_lists_snapshots_of_the_named_datasets_only() -> None:
    assert c.zfs_list_snapshots(["tank/v1", "tank/v2"]) == [
        "zfs",
        "list",
        "-H",
        "-p",
        "-t",
        "snapshot",
        "-o",
        "name,creation,used,referenced",
        "-d",
        "1",
        "tank/v1",
        "tank/v2",
    ]
    assert refused(c.zfs_list_snapshots, []).field == "datasets"
    assert refused(c.zfs_list_snapshots, ["tank/v@s"]).field == "datasets"


def test_it_rolls_back_and_destroys_later_snapshots_only_when_asked() -> None:
    assert c.zfs_rollback("tank/v@s1") == ["zfs", "rollback", "tank/v@s1"]
    assert c.zfs_rollback("tank/v@s1", destroy_later=True) == ["zfs", "rollback", "-r", "tank/v@s1"]
    assert refused(c.zfs_rollback, "tank/v").field == "snapshot"


def test_it_clones_with_properties_inside_the_pool() -> None:
    assert c.zfs_clone("tank/tpl/web@template", "tank/xen/web-1") == [
        "zfs",
        "clone",
        "tank/tpl/web@template",
        "tank/xen/web-1",
    ]
    assert c.zfs_clone(
        "tank/tpl/web@template",
        "tank/xen/web-1",
        properties={"volmode": "dev", "org.xenpanel:template": "t1"},
    ) == [
        "zfs",
        "clone",
        "-o",
        "volmode=dev",
        "-o",
        "org.xenpanel:template=t1",
        "tank/tpl/web@template",
        "tank/xen/web-1",
    ]


@pytest.mark.parametrize(
    ("args", "kwargs", "field", "rule"),
    [
        (("tank/tpl/web", "tank/xen/w"), {}, "snapshot", "must be a snapshot name"),
        (("tank/tpl/web@t", "tank"), {}, "target", "inside a pool"),
        (("tank/tpl/web@t", "zroot/xen/w"), {}, "target", "must be in the pool 'tank'"),
        (("tank/t@t", "tank/w"), {"properties": {"Bad": "x"}}, "properties", "property names"),
        (("tank/t@t", "tank/w"), {"properties": {"a": "x\ny"}}, "properties", "printable text"),
    ],
)
def test_zfs_clone_refusals(
    args: tuple[str, str], kwargs: dict[str, object], field: str, rule: str
) -> None:
    err = refused(c.zfs_clone, *args, **kwargs)
    assert err.field == field and rule in err.rule


def test_it_promotes_and_destroys_one_snapshot() -> None:
    assert c.zfs_promote("tank/xen/web-1") == ["zfs", "promote", "tank/xen/web-1"]
    assert c.zfs_destroy_snapshot("tank/v@s1") == ["zfs", "destroy", "tank/v@s1"]
    assert refused(c.zfs_promote, "tank").field == "dataset"
    # A plain dataset, a list or a range would destroy more than one snapshot.
    for value in ("tank/v", "tank/v@a,b", "tank/v@a%b"):
        assert refused(c.zfs_destroy_snapshot, value).field == "snapshot"


def test_it_sets_volsize_in_whole_blocks() -> None:
    assert c.zfs_set_volsize("tank/v", 20 << 30) == ["zfs", "set", "volsize=21474836480", "tank/v"]
    assert c.zfs_set_volsize("tank/v", 8192, volblocksize=8192) == [
        "zfs",
        "set",
        "volsize=8192",
        "tank/v",
    ]
    err = refused(c.zfs_set_volsize, "tank/v", (20 << 30) + 512)
    assert err.field == "size" and "multiple of the volume's block size (16K)" in err.rule
    assert "greater than zero" in refused(c.zfs_set_volsize, "tank/v", 0).rule
    assert "whole number of bytes" in refused(c.zfs_set_volsize, "tank/v", "20G").rule
    assert "whole number of bytes" in refused(c.zfs_set_volsize, "tank/v", True).rule
    assert "at most" in refused(c.zfs_set_volsize, "tank/v", 1 << 60).rule
    assert refused(c.zfs_set_volsize, "tank", 16384).field == "dataset"


def test_it_sets_readonly() -> None:
    assert c.zfs_set_readonly("tank/tpl/web", True) == ["zfs", "set", "readonly=on", "tank/tpl/web"]
    assert c.zfs_set_readonly("tank/v", False) == ["zfs", "set", "readonly=off", "tank/v"]
    assert refused(c.zfs_set_readonly, "tank/v", "yes").field == "readonly"


def test_origin_is_read_with_zfs_get() -> None:
    assert c.zfs_get("tank/xen/web-1", ["origin"]) == [
        "zfs",
        "get",
        "-H",
        "-p",
        "-o",
        "property,value",
        "origin",
        "tank/xen/web-1",
    ]


# --- xl memory and vCPUs -----------------------------------------------------------------------


def test_it_sets_memory_and_vcpus() -> None:
    assert c.xl_mem_set("web1", 2048) == ["xl", "mem-set", "web1", "2048m"]
    assert c.xl_mem_set(7, "512") == ["xl", "mem-set", "7", "512m"]
    assert c.xl_mem_max("web1", 4096) == ["xl", "mem-max", "web1", "4096m"]
    assert c.xl_vcpu_set("web1", 4) == ["xl", "vcpu-set", "web1", "4"]


@pytest.mark.parametrize(
    ("fn", "args", "field", "rule"),
    [
        (c.xl_mem_set, ("web1", 16), "memory", "at least 32 MiB"),
        (c.xl_mem_set, ("web1", 1.5), "memory", "whole number"),
        (c.xl_mem_set, ("web1", (16 << 20) + 1), "memory", "at most"),
        (c.xl_mem_max, ("web1", 0), "maxmem", "at least 32 MiB"),
        (c.xl_vcpu_set, ("web1", 0), "vcpus", "at least 1"),
        (c.xl_vcpu_set, ("web1", 129), "vcpus", "at most 128"),
        (c.xl_mem_set, (0, 1024), "domain", "Domain-0"),
        (c.xl_vcpu_set, ("Domain-0", 2), "domain", "host's own domain"),
        (c.xl_mem_set, ("bad name", 1024), "domain", "may contain only"),
    ],
)
def test_memory_and_vcpu_refusals(
    fn: object, args: tuple[object, ...], field: str, rule: str
) -> None:
    err = refused(fn, *args)
    assert err.field == field and rule in err.rule


# --- xl block devices --------------------------------------------------------------------------


def test_it_attaches_a_volume_as_one_disk_spec_word() -> None:
    disk = DiskSpec(vdev="xvdb", target="/dev/zvol/tank/xen/vm1-data")
    assert c.xl_block_attach("vm1", disk, policy=P) == [
        "xl",
        "block-attach",
        "vm1",
        "format=raw, vdev=xvdb, access=rw, target=/dev/zvol/tank/xen/vm1-data",
    ]
    cd = DiskSpec(vdev="hdc", target="/iso/fbsd.iso", access="r", cdrom=True)
    assert c.xl_block_attach(3, cd, policy=P)[3] == (
        "format=raw, vdev=hdc, access=r, devtype=cdrom, target=/iso/fbsd.iso"
    )
    assert c.xl_block_detach("vm1", "xvdb") == ["xl", "block-detach", "vm1", "xvdb"]


@pytest.mark.parametrize(
    ("disk", "rule"),
    [
        (DiskSpec(vdev="xvdb", target="/etc/master.passwd"), "must be inside one of"),
        (DiskSpec(vdev="xvdb", target="/dev/zvol/../../etc/x"), "must not contain '..'"),
        (DiskSpec(vdev="xvdb", target=""), "absolute path"),
        (DiskSpec(vdev="xvdb", target="/dev/zvol/t/v", options=(("script", "/x"),)), "script="),
        (DiskSpec(vdev="xvdb", target="/dev/zvol/t/v", format="vmdk"), "unknown disk format"),
        ("format=raw, vdev=xvdb, target=/etc/x", "must be a disk spec"),
    ],
)
def test_block_attach_refusals(disk: object, rule: str) -> None:
    err = refused(c.xl_block_attach, "vm1", disk, policy=P)
    assert err.field == "disk" and rule in err.rule


def test_block_attach_refuses_a_bad_vdev_and_detach_a_bad_one() -> None:
    err = refused(c.xl_block_attach, "vm1", DiskSpec(vdev="xvd1", target="/dev/zvol/t/v"))
    assert err.field == "vdev"
    assert refused(c.xl_block_detach, "vm1", "51712").field == "vdev"


# --- xl network devices ------------------------------------------------------------------------


def test_it_attaches_a_nic_with_separate_key_value_words() -> None:
    vif = VifSpec(bridge="bridge0", mac="00:16:3E:74:34:32")
    assert c.xl_network_attach("vm1", vif) == [
        "xl",
        "network-attach",
        "vm1",
        "bridge=bridge0",
        "mac=00:16:3e:74:34:32",
    ]
    full = VifSpec(
        bridge="bridge1",
        mac="00:16:3e:00:00:01",
        model="e1000",
        type="vif",
        options=(("ip", "192.0.2.5"), ("vifname", "vm1net0"), ("rate", "10Mb/s"), ("mtu", "9000")),
    )
    assert c.xl_network_attach(4, full) == [
        "xl",
        "network-attach",
        "4",
        "bridge=bridge1",
        "mac=00:16:3e:00:00:01",
        "model=e1000",
        "type=vif",
        "ip=192.0.2.5",
        "vifname=vm1net0",
        "rate=10Mb/s",
        "mtu=9000",
    ]
    assert c.xl_network_detach("vm1", "00-16-3E-74-34-32") == [
        "xl",
        "network-detach",
        "vm1",
        "00:16:3e:74:34:32",
    ]
    assert c.xl_network_list("vm1") == ["xl", "network-list", "vm1"]


MAC = "00:16:3e:00:00:01"


@pytest.mark.parametrize(
    ("vif", "field", "rule"),
    [
        (VifSpec(mac=MAC), "bridge", "is required"),
        (VifSpec(bridge="bridge0"), "mac", "is required"),
        (VifSpec(bridge="br 0", mac=MAC), "bridge", "interface name"),
        (VifSpec(bridge="bridge0,script=/x", mac=MAC), "bridge", "interface name"),
        (VifSpec(bridge="bridge0", mac="01:00:5e:00:00:01"), "mac", "unicast"),
        (VifSpec(bridge="bridge0", mac=MAC, model="e1000 x"), "model", "device model"),
        (VifSpec(bridge="bridge0", mac=MAC, type="tap"), "type", "one of vif, ioemu"),
        (VifSpec(bridge="bridge0", mac=MAC, flags=("trusted",)), "vif", "flags are not allowed"),
        (VifSpec(bridge="bridge0", mac=MAC, options=(("script", "/tmp/x"),)), "vif", "script="),
        (VifSpec(bridge="bridge0", mac=MAC, options=(("backend", "1"),)), "vif", "backend="),
        (VifSpec(bridge="bridge0", mac=MAC, options=(("ip", "10.0.0.300"),)), "ip", "IP addr"),
        (VifSpec(bridge="bridge0", mac=MAC, options=(("rate", "fast"),)), "rate", "10Mb/s"),
        (VifSpec(bridge="bridge0", mac=MAC, options=(("mtu", "20"),)), "mtu", "68 to 65535"),
        (VifSpec(bridge="bridge0", mac=MAC, options=(("vifname", "A b"),)), "vifname", "interface"),
        ("bridge=bridge0,mac=" + MAC, "vif", "must be a vif spec"),
    ],
)
def test_network_attach_refusals(vif: object, field: str, rule: str) -> None:
    err = refused(c.xl_network_attach, "vm1", vif)
    assert err.field == field and rule in err.rule


def test_network_detach_takes_only_a_mac() -> None:
    assert refused(c.xl_network_detach, "vm1", "0").field == "mac"


# --- PCI ---------------------------------------------------------------------------------------


def test_it_builds_pci_commands() -> None:
    assert c.xl_pci_assignable_list() == ["xl", "pci-assignable-list"]
    assert c.xl_pci_assignable_add("03:00.0") == ["xl", "pci-assignable-add", "0000:03:00.0"]
    assert c.xl_pci_assignable_remove("0000:03:00.0") == [
        "xl",
        "pci-assignable-remove",
        "0000:03:00.0",
    ]
    assert c.xl_pci_assignable_remove("03:00.0", rebind=True) == [
        "xl",
        "pci-assignable-remove",
        "-r",
        "0000:03:00.0",
    ]
    assert c.xl_pci_list("vm1") == ["xl", "pci-list", "vm1"]
    assert c.pciconf_list() == ["pciconf", "-l"]
    assert c.pciconf_list(verbose=True) == ["pciconf", "-l", "-v"]
    err = refused(c.xl_pci_assignable_add, "03:00.0 -n x")
    assert err.field == "pci" and "PCI address" in err.rule


# --- properties --------------------------------------------------------------------------------

snap_parts = st.from_regex(r"[A-Za-z0-9_.:-]{1,40}", fullmatch=True).filter(
    lambda s: s not in (".", "..")
)
datasets = st.from_regex(r"[a-z][a-z0-9]{0,8}(/[A-Za-z0-9_.:-]{1,20}){1,3}", fullmatch=True).filter(
    lambda s: (
        all(p not in (".", "..") for p in s.split("/"))
        and s.split("/")[0] not in ("mirror", "raidz", "draid", "spare", "log", "cache", "special")
        and not s.split("/")[0].startswith(("c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"))
        and not s.split("/")[0].startswith(("c9", "raidz", "draid"))
    )
)


@given(datasets, snap_parts)
def test_every_valid_snapshot_goes_through_every_snapshot_builder(ds: str, name: str) -> None:
    snap = f"{ds}@{name}"
    assert c.zfs_snapshot([snap])[-1] == snap
    assert c.zfs_rollback(snap)[-1] == snap
    assert c.zfs_destroy_snapshot(snap) == ["zfs", "destroy", snap]


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFF), st.integers(0, 0x1F), st.integers(0, 7))
def test_pci_bdf_reads_back_what_xl_prints(domain: int, bus: int, dev: int, func: int) -> None:
    printed = f"{domain:04x}:{bus:02x}:{dev:02x}.{func:01x}"
    assert validate.pci_bdf(printed) == printed
    if domain == 0:
        assert validate.pci_bdf(printed[5:]) == printed
