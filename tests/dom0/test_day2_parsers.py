"""Day-2 parsers and error classification (issue 13), on the tools' real formats.

Formats, each with its source ("derived" = worked out from the printf in the source, not a
captured run; libxl's `file.c:NNN:` changes between versions):

- `zfs list -H -p -t snapshot -o name,creation,used,referenced -d 1 <ds>...`: one line per
  snapshot, fields separated by a single TAB, `-p` prints exact integers, so `creation` is seconds
  since the epoch and `used`/`referenced` are bytes (openzfs/zfs man/man8/zfs-list.8,
  cmd/zfs/zfs_main.c `print_dataset`; derived).
- `xl pci-assignable-list [-n]`: `"%04x:%02x:%02x.%01x %s\\n"` with an empty name unless `-n`,
  so each line ends in a space (xen tools/xl/xl_pci.c `pciassignable_list`, same in 4.18).
- `xl pci-list <dom>`: `Vdev Device` then `"%02x.%01x %04x:%02x:%02x.%01x\\n"` (xl_pci.c
  `pcilist`).
- `xl network-list <dom>`: header `"%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\\n"`, rows
  `"%-3d %-2d "` + MAC (`LIBXL_MAC_FMT`, `%02hhx:` x6) + `"%6d %5d %6d %5d/%-11d %-30s\\n"`
  (xen tools/xl/xl_nic.c `main_networklist`, same in RELEASE-4.18.0; derived).
- FreeBSD `pciconf -l`: `"%s%d@pci%d:%d:%d:%d:\\tclass=0x%06x rev=0x%02x hdr=0x%02x
  vendor=0x%04x device=0x%04x subvendor=0x%04x subdevice=0x%04x\\n"` (usr.sbin/pciconf/pciconf.c
  `list_devs`; pciconf(8) of FreeBSD 14.3). Older releases printed `class=0x%06x card=0x%08x
  chip=0x%08x rev=0x%02x hdr=0x%02x` with chip = device << 16 | vendor and card = subdevice << 16
  | subvendor (pciconf(8) of FreeBSD 9.1; sys/dev/pci/pci.c DDB `show pciregs`), and the oldest
  had no PCI domain in the selector (`fxp0@pci0:8:0:`, pciconf(8) of 4.5; a captured listing in
  Stormshield's GETPCI documentation). Selectors are decimal. `-v` adds `    vendor     = '%s'`,
  `    device     = '%s'`, `    class      = %s`, `    subclass   = %s` (pciconf.c
  `list_verbose`).
- zfs errors (openzfs/zfs be7657e3f2): `cannot destroy '<snap>': snapshot has dependent clones`
  + `use '-R' to destroy the following datasets:` + one name a line (zfs_main.c
  `destroy_check_dependent`); `cannot rollback to '<snap>': more recent snapshots or bookmarks
  exist` + `use '-r' to force deletion of the following snapshots and bookmarks:` + names, at most
  32 (zfs_main.c `rollback_check`); with -r and clones: `clones of previous snapshots exist` +
  `use '-R' to force deletion of the following clones and dependents:` (`rollback_check_dependent`);
  `cannot create snapshot '<snap>': dataset already exists`, and `no snapshots were created` when
  several were asked for (libzfs_dataset.c `zfs_snapshot_nvl`, zfs_main.c `zfs_do_snapshot`);
  `cannot destroy snapshot <snap>: snapshot is cloned` / `dataset is busy` / `it's being held.
  Run 'zfs holds -r <snap>' to see holders.` (no quotes; `zfs_destroy_snaps_nvl`);
  `cannot destroy '<ds>': dataset is busy` (libzfs_util.c `zfs_standard_error_fmt`);
  `could not find any snapshots to destroy; check snapshot names.` (`zfs_do_destroy`);
  `cannot set property for '<ds>': size is greater than available space` (`zfs_setprop_error`).
- xl errors: libxl logs `libxl: error: <file>:<line>:<func>: Domain <id>:<message>` (libxl
  libxl_internal.c `libxl__logv`, toollog xtl_logger_stdio.c adds `: <strerror>` for LOGE*);
  xl then prints its own line: `cannot set domid %u dynamic max memory to : %s` (xl_mem.c),
  `libxl_set_vcpuonline failed domid=%u max_vcpus=%ld, rc: %d` and `You are overcommmitting! ...`
  (xl_vcpu.c), `libxl_device_disk_add failed.` (xl_block.c), `libxl_device_nic_add failed.`,
  `Unknown device %s.` (xl_nic.c), `Error: Device %s not connected.` (xl_block.c).
"""

from __future__ import annotations

import pytest

from dom0 import errors
from dom0 import parsers as p
from dom0.errors import ParseError

# --- zfs list -t snapshot ----------------------------------------------------------------------

SNAPSHOTS = (
    "tank/xen/vm1@s1\t1755781200\t1134592\t2147483648\n"
    "tank/xen/vm1@s2\t1755784800\t0\t2148532224\n"
    "tank/xen/vm1-data@s1\t1755781200\t4096\t10737418240\n"
)


def test_it_parses_zfs_snapshot_lists() -> None:
    rows = p.parse_zfs_snapshots(SNAPSHOTS)
    assert rows[0] == p.SnapshotRow(
        name="tank/xen/vm1@s1",
        dataset="tank/xen/vm1",
        snapshot="s1",
        creation=1755781200,
        used=1134592,
        referenced=2147483648,
    )
    assert [(r.dataset, r.snapshot, r.used) for r in rows[1:]] == [
        ("tank/xen/vm1", "s2", 0),
        ("tank/xen/vm1-data", "s1", 4096),
    ]
    assert p.parse_zfs_snapshots("") == []


@pytest.mark.parametrize(
    "text",
    [
        "tank/v@s\t1755781200\t0\n",  # a column short
        "tank/v\t1755781200\t0\t0\n",  # not a snapshot
        "tank/v@s\tThu Aug 21 13:00 2025\t0\t0\n",  # without -p
        "tank/v@s\t1755781200\t1.08M\t2G\n",
        "NAME\tCREATION\tUSED\tREFER\n",  # a header: -H was left out
    ],
)
def test_it_refuses_other_snapshot_lists(text: str) -> None:
    with pytest.raises(ParseError):
        p.parse_zfs_snapshots(text)


# --- xl pci-assignable-list, pci-list ----------------------------------------------------------


def test_it_parses_pci_assignable_lists() -> None:
    assert p.parse_pci_assignable_list("0000:03:00.0 \n0000:03:00.1 \n") == [
        "0000:03:00.0",
        "0000:03:00.1",
    ]
    assert p.parse_pci_assignable_list("0000:0a:00.0 nic1\n") == ["0000:0a:00.0"]
    assert p.parse_pci_assignable_list("") == []
    with pytest.raises(ParseError):
        p.parse_pci_assignable_list("pci0:3:0:0\n")


def test_it_parses_xl_pci_list() -> None:
    assert p.parse_xl_pci_list("Vdev Device\n04.0 0000:03:00.0\n05.0 0000:03:00.1\n") == [
        "0000:03:00.0",
        "0000:03:00.1",
    ]
    assert p.parse_xl_pci_list("") == []
    with pytest.raises(ParseError):
        p.parse_xl_pci_list("Vdev Device\n0000:03:00.0\n")


# --- pciconf -l --------------------------------------------------------------------------------

PCICONF_14 = (
    "hostb0@pci0:0:0:0:\tclass=0x060000 rev=0x09 hdr=0x00 vendor=0x8086 device=0x0154 "
    "subvendor=0x17aa subdevice=0x21f3\n"
    "em0@pci0:0:25:0:\tclass=0x020000 rev=0x04 hdr=0x00 vendor=0x8086 device=0x1502 "
    "subvendor=0x17aa subdevice=0x21f3\n"
    "none2@pci0:3:0:0:\tclass=0x020000 rev=0x01 hdr=0x00 vendor=0x8086 device=0x10d3 "
    "subvendor=0x8086 subdevice=0xa01f\n"
    "ppt0@pci0:4:0:1:\tclass=0x010802 rev=0x00 hdr=0x00 vendor=0x144d device=0xa808 "
    "subvendor=0x144d subdevice=0xa801\n"
)


def test_it_parses_pciconf_as_freebsd_14_prints_it() -> None:
    devices = p.parse_pciconf_list(PCICONF_14)
    assert [(d.driver, d.bdf) for d in devices] == [
        ("hostb0", "0000:00:00.0"),
        ("em0", "0000:00:19.0"),  # decimal 25 is device 0x19
        ("none2", "0000:03:00.0"),
        ("ppt0", "0000:04:00.1"),
    ]
    em0 = devices[1]
    assert (em0.class_code, em0.vendor, em0.device) == (0x020000, 0x8086, 0x1502)
    assert (em0.subvendor, em0.subdevice, em0.revision) == (0x17AA, 0x21F3, 0x04)
    assert em0.description == "network" and em0.class_name == "network"
    assert em0.attached and not devices[2].attached
    assert devices[3].class_name == "mass storage"


def test_it_parses_the_card_and_chip_layout_of_older_releases() -> None:
    # pciconf(8) of FreeBSD 9.1: the vendor is chip's low half, the device its high half.
    old = (
        "em0@pci0:0:25:0:\tclass=0x020000 card=0x21f317aa chip=0x15028086 rev=0x04 hdr=0x00\n"
        "none0@pci0:0:6:0: class=0x020000 card=0x00000000 chip=0x802910ec rev=0x00 hdr=0x00\n"
    )
    em0, none0 = p.parse_pciconf_list(old)
    assert (em0.bdf, em0.vendor, em0.device, em0.subvendor, em0.subdevice) == (
        "0000:00:19.0",
        0x8086,
        0x1502,
        0x17AA,
        0x21F3,
    )
    assert (none0.driver, none0.bdf, none0.vendor, none0.device) == (
        "none0",
        "0000:00:06.0",
        0x10EC,
        0x8029,
    )


def test_it_parses_selectors_without_a_pci_domain() -> None:
    # A captured listing from an old release (Stormshield GETPCI docs): pci<bus>:<dev>:<func>.
    oldest = (
        "fxp0@pci0:8:0: class=0x020000 card=0x020011d6 chip=0x12098086 rev=0x10 hdr=0x00\n"
        "none1@pci1:0:0: class=0x030000 card=0x85001023 chip=0x85001023 rev=0x6a hdr=0x00\n"
    )
    fxp0, none1 = p.parse_pciconf_list(oldest)
    assert (fxp0.bdf, fxp0.vendor, fxp0.device) == ("0000:00:08.0", 0x8086, 0x1209)
    assert (none1.bdf, none1.class_name, none1.attached) == ("0000:01:00.0", "display", False)


def test_it_reads_names_from_pciconf_v() -> None:
    verbose = (
        "em0@pci0:0:25:0:\tclass=0x020000 rev=0x04 hdr=0x00 vendor=0x8086 device=0x1502 "
        "subvendor=0x17aa subdevice=0x21f3\n"
        "    vendor     = 'Intel Corporation'\n"
        "    device     = '82579LM Gigabit Network Connection (Lewisville)'\n"
        "    class      = network\n"
        "    subclass   = ethernet\n"
        "none0@pci0:0:26:0:\tclass=0x0c0320 rev=0x04 hdr=0x00 vendor=0x8086 device=0x1c2d "
        "subvendor=0x17aa subdevice=0x21f3\n"
        "    class      = serial bus\n"
        "    subclass   = USB\n"
        "    bar   [10] = type Memory, range 32, base 0xf252a000, size 1024, enabled\n"
    )
    em0, usb = p.parse_pciconf_list(verbose)
    assert em0.description == "Intel Corporation 82579LM Gigabit Network Connection (Lewisville)"
    assert (usb.bdf, usb.description) == ("0000:00:1a.0", "serial bus")


@pytest.mark.parametrize(
    "text",
    [
        "em0 pci0:0:25:0: class=0x020000\n",
        "em0@pci0:0:25:0:\trev=0x04 vendor=0x8086 device=0x1502\n",  # no class
        "em0@pci0:0:25:0:\tclass=0x020000 rev=0x04\n",  # no ids
        "em0@pci0:0:32:0:\tclass=0x020000 vendor=0x8086 device=0x1502\n",  # device > 31
    ],
)
def test_it_refuses_other_pciconf_output(text: str) -> None:
    with pytest.raises(ParseError):
        p.parse_pciconf_list(text)


# --- xl network-list ---------------------------------------------------------------------------

NETWORK_LIST = (
    "Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref "
    "BE-path                       \n"
    "0   0  00:16:3e:74:34:32     0     4     19   768/769         "
    "/local/domain/0/backend/vif/3/0\n"
    "1   0  00:16:3e:0a:bc:01     1     4     20  1280/1281        "
    "/local/domain/0/backend/vif/3/1\n"
)


def test_it_parses_xl_network_list() -> None:
    first, second = p.parse_xl_network_list(NETWORK_LIST)
    assert first == p.VifRow(
        devid=0,
        backend_id=0,
        mac="00:16:3e:74:34:32",
        handle=0,
        state=4,
        evtch=19,
        tx_ring_ref=768,
        rx_ring_ref=769,
        backend_path="/local/domain/0/backend/vif/3/0",
    )
    assert first.connected and first.state_name == "connected"
    assert (second.devid, second.mac, second.rx_ring_ref) == (1, "00:16:3e:0a:bc:01", 1281)
    header_only = NETWORK_LIST.splitlines(keepends=True)[0]
    assert p.parse_xl_network_list(header_only) == []
    with pytest.raises(ParseError):
        p.parse_xl_network_list("0 0 not-a-mac 0 4 19 768/769 /x\n")


# --- errors ------------------------------------------------------------------------------------


def classify(argv: list[str], stderr: str, rc: int = 1) -> errors.Dom0Error:
    err = p.classify_error(argv, rc, "", stderr)
    assert (err.argv, err.rc, err.stderr) == (argv, rc, stderr)
    assert err.message and not err.message.endswith(".")
    return err


def test_a_snapshot_with_clones_is_not_destroyed() -> None:
    stderr = (
        "cannot destroy 'tank/tpl/web@template': snapshot has dependent clones\n"
        "use '-R' to destroy the following datasets:\n"
        "tank/xen/web-1\n"
        "tank/xen/web-2\n"
    )
    err = classify(["zfs", "destroy", "tank/tpl/web@template"], stderr)
    assert isinstance(err, errors.HasClones) and err.code == "has_clones"
    assert err.datasets == ("tank/xen/web-1", "tank/xen/web-2")
    assert "the snapshot 'tank/tpl/web@template'" in err.message
    assert "tank/xen/web-1, tank/xen/web-2" in err.message
    assert "Nothing was destroyed" in err.hint


def test_a_template_volume_with_clones_is_not_destroyed() -> None:
    stderr = (
        "cannot destroy 'tank/tpl/web': volume has dependent clones\n"
        "use '-R' to destroy the following datasets:\n"
        "tank/xen/web-1\n"
    )
    err = classify(["zfs", "destroy", "-r", "tank/tpl/web"], stderr)
    assert isinstance(err, errors.HasClones) and err.datasets == ("tank/xen/web-1",)
    assert "'tank/tpl/web'" in err.message


def test_a_volume_with_snapshots_is_not_destroyed() -> None:
    stderr = (
        "cannot destroy 'tank/xen/vm1': volume has children\n"
        "use '-r' to destroy the following datasets:\n"
        "tank/xen/vm1@s1\n"
    )
    err = classify(["zfs", "destroy", "tank/xen/vm1"], stderr)
    assert isinstance(err, errors.HasChildren) and err.datasets == ("tank/xen/vm1@s1",)


def test_a_rollback_past_later_snapshots_needs_r() -> None:
    stderr = (
        "cannot rollback to 'tank/xen/vm1@s1': more recent snapshots or bookmarks exist\n"
        "use '-r' to force deletion of the following snapshots and bookmarks:\n"
        "tank/xen/vm1@s2\n"
        "tank/xen/vm1#b1\n"
    )
    err = classify(["zfs", "rollback", "tank/xen/vm1@s1"], stderr)
    assert isinstance(err, errors.RollbackBlocked) and err.code == "rollback_blocked"
    assert err.datasets == ("tank/xen/vm1@s2", "tank/xen/vm1#b1") and not err.clones
    assert "zfs rollback -r" in err.hint and "Nothing was changed" in err.hint


def test_a_rollback_past_cloned_snapshots_is_refused() -> None:
    stderr = (
        "cannot rollback to 'tank/xen/vm1@s1': clones of previous snapshots exist\n"
        "use '-R' to force deletion of the following clones and dependents:\n"
        "tank/xen/web-1\n"
    )
    err = classify(["zfs", "rollback", "-r", "tank/xen/vm1@s1"], stderr)
    assert isinstance(err, errors.RollbackBlocked) and err.clones
    assert err.datasets == ("tank/xen/web-1",) and "never rolls back with -R" in err.hint


def test_a_rollback_that_lost_a_race_is_blocked() -> None:
    stderr = (
        "cannot rollback 'tank/xen/vm1': there is a snapshot or bookmark more recent than "
        "'tank/xen/vm1@s1'\n"
    )
    err = classify(["zfs", "rollback", "tank/xen/vm1@s1"], stderr)
    assert isinstance(err, errors.RollbackBlocked) and err.datasets == ()


def test_a_snapshot_name_in_use_makes_no_snapshot() -> None:
    stderr = (
        "cannot create snapshot 'tank/xen/vm1@s1': dataset already exists\n"
        "no snapshots were created\n"
    )
    err = classify(["zfs", "snapshot", "tank/xen/vm1@s1", "tank/xen/vm1-data@s1"], stderr)
    assert isinstance(err, errors.SnapshotExists) and isinstance(err, errors.DatasetExists)
    assert "'tank/xen/vm1@s1' already exists" in err.message and "all or nothing" in err.hint


@pytest.mark.parametrize(
    ("stderr", "kind", "words"),
    [
        ("cannot destroy 'tank/xen/vm1': dataset is busy\n", errors.DatasetBusy, "in use"),
        (
            "cannot destroy snapshot tank/xen/vm1@s1: dataset is busy\n",
            errors.DatasetBusy,
            "snapshot 'tank/xen/vm1@s1' is in use",
        ),
        (
            "cannot destroy snapshot tank/xen/vm1@s1: it's being held. Run 'zfs holds -r "
            "tank/xen/vm1@s1' to see holders.\n",
            errors.DatasetBusy,
            "being held",
        ),
        (
            "cannot destroy snapshot tank/tpl/web@template: snapshot is cloned\n",
            errors.HasClones,
            "clones depend on it",
        ),
        (
            "could not find any snapshots to destroy; check snapshot names.\n",
            errors.DatasetMissing,
            "'tank/xen/vm1@gone' does not exist",
        ),
    ],
)
def test_snapshot_destroy_failures(stderr: str, kind: type, words: str) -> None:
    err = classify(["zfs", "destroy", "tank/xen/vm1@gone"], stderr)
    assert type(err) is kind and words in err.message


def test_volsize_failures() -> None:
    full = "cannot set property for 'tank/xen/vm1': size is greater than available space\n"
    err = classify(["zfs", "set", "volsize=107374182400", "tank/xen/vm1"], full)
    assert isinstance(err, errors.PoolFull) and "'tank/xen/vm1'" in err.message
    blocks = (
        "cannot set property for 'tank/v': 'volsize' must be a multiple of volume block size "
        "(16K)\n"
    )
    err = classify(["zfs", "set", "volsize=1000", "tank/v"], blocks)
    assert type(err) is errors.CommandFailed and "multiple of volume block size" in err.message


def test_a_promote_of_a_non_clone_says_so() -> None:
    err = classify(
        ["zfs", "promote", "tank/v"], "cannot promote 'tank/v': not a cloned filesystem\n"
    )
    assert type(err) is errors.CommandFailed and "not a cloned filesystem" in err.message


@pytest.mark.parametrize(
    ("argv", "stderr", "words", "hint"),
    [
        (
            ["xl", "mem-set", "vm1", "8192m"],
            "libxl: error: libxl_mem.c:279:libxl_set_memory_target: Domain 3:memory_dynamic_max "
            "must be less than or equal to memory_static_max\n\n"
            "cannot set domid 3 dynamic max memory to : 8192m\n",
            "memory_dynamic_max must be less than or equal to memory_static_max; cannot set "
            "domid 3 dynamic max memory to : 8192m",
            "maxmem",
        ),
        (
            ["xl", "vcpu-set", "vm1", "8"],
            "libxl: error: libxl_domain.c:1873:libxl_set_vcpuonline: Domain 3:Requested 8 VCPUs, "
            "however maxcpus is 4!: No error: 0\n"
            "libxl_set_vcpuonline failed domid=3 max_vcpus=8, rc: -3\n",
            "Requested 8 VCPUs, however maxcpus is 4!; libxl_set_vcpuonline failed",
            "maxvcpus",
        ),
        (
            ["xl", "vcpu-set", "vm1", "64"],
            "You are overcommmitting! You have 4 physical CPUs and want 64 vCPUs! Aborting, use "
            "--ignore-host to continue\n",
            "You are overcommmitting!",
            "maxvcpus",
        ),
        (
            ["xl", "block-attach", "vm1", "format=raw, vdev=xvdb, access=rw, target=/dev/zvol/t/v"],
            "libxl: error: libxl_disk.c:377:device_disk_add: Domain 3:device already exists in "
            "xenstore\nlibxl_device_disk_add failed.\n",
            "device already exists in xenstore; libxl_device_disk_add failed",
            "not attached",
        ),
        (
            ["xl", "block-detach", "vm1", "xvdc"],
            "Error: Device xvdc not connected.\n",
            "Error: Device xvdc not connected",
            "still attached",
        ),
        (
            ["xl", "network-attach", "vm1", "bridge=bridge9", "mac=00:16:3e:00:00:01"],
            "libxl_device_nic_add failed.\n",
            "libxl_device_nic_add failed",
            "bridge exists",
        ),
        (
            ["xl", "network-detach", "vm1", "00:16:3e:00:00:09"],
            "Unknown device 00:16:3e:00:00:09.\n",
            "Unknown device 00:16:3e:00:00:09",
            "still attached",
        ),
        (
            ["xl", "pci-assignable-add", "0000:03:00.0"],
            # On FreeBSD libxl's SYSFS_PCI_DEV is /dev/null (libxl_osdeps.h), so the lstat in
            # libxl__device_pci_assignable_add fails with ENOTDIR (derived).
            "libxl: error: libxl_pci.c:796:libxl__device_pci_assignable_add: Couldn't lstat "
            "/dev/null/0000:03:00.0: Not a directory\n",
            "Couldn't lstat /dev/null/0000:03:00.0: Not a directory",
            "IOMMU",
        ),
    ],
)
def test_xl_device_failures_are_plain_command_failures_in_xls_words(
    argv: list[str], stderr: str, words: str, hint: str
) -> None:
    err = classify(argv, stderr)
    assert type(err) is errors.CommandFailed
    assert err.message.startswith(f"'xl {argv[1]}' failed with exit code 1: ")
    assert words in err.message and hint in err.hint


def test_a_vcpu_set_on_a_gone_domain_is_domain_not_found() -> None:
    err = classify(["xl", "vcpu-set", "3", "2"], "Domain 3 does not exist.\n")
    assert isinstance(err, errors.DomainNotFound) and "'3'" in err.message
