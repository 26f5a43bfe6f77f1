"""Parsers against the facts file's formats, and the error classifier against its texts."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dom0 import errors
from dom0 import parsers as p
from dom0.parsers import DomainState as S

ANY = "0.0.0.0"  # noqa: S104 (a vnclisten value, not a bind)
HEADER_TABS = "Name                                        ID   Mem VCPUs\tState\tTime(s)"
HEADER_SPACES = "Name                                        ID   Mem VCPUs      State   Time(s)"


def xl_row(name: str, domid: int, mem: int, vcpus: int, state: str, secs: float) -> str:
    """Print a row exactly as xl_info.c `list_domains()` does."""
    return "%-40s %5d %5d %5d     %s  %8.1f" % (name, domid, mem, vcpus, state, secs)  # noqa: UP031


def test_it_parses_the_handbooks_xl_list() -> None:
    text = (
        f"{HEADER_SPACES}\n"
        "Domain-0                                     0  8192     4     r-----  1653.4\n"
        "freebsd                                      1  1024     1     -b----   663.9\n"
    )
    dom0, domu = p.parse_xl_list(text)
    assert dom0 == p.DomainRow("Domain-0", 0, 8192, 4, "r-----", S.RUNNING, None, 1653.4)
    assert (domu.name, domu.domid, domu.mem_mib, domu.state) == ("freebsd", 1, 1024, S.BLOCKED)
    assert domu.cpu_seconds == pytest.approx(663.9)


def test_it_parses_the_tabbed_header_and_the_workflow_sample() -> None:
    text = (
        "Name                                        ID   Mem VCPUs\tState\tTime(s)\n"
        "Domain-0                                     0  8192     4     r-----     962.0\n"
    )
    (row,) = p.parse_xl_list(text)
    assert (row.name, row.cpu_seconds) == ("Domain-0", 962.0)


def test_it_parses_long_names_and_names_with_spaces() -> None:
    long_name = "a-very-long-domain-name-that-is-longer-than-forty-chars"
    text = "\n".join(
        [
            HEADER_TABS,
            xl_row(long_name, 12, 512, 2, "--p---", 1.25),
            xl_row("my vm  two", 13, 256, 1, "------", 123456.7),
            xl_row("Name", 14, 256, 1, "-b----", 0),
            "",
        ]
    )
    rows = p.parse_xl_list(text)
    assert [r.name for r in rows] == [long_name, "my vm  two", "Name"]
    assert rows[0].state == S.PAUSED
    assert rows[1].state == S.RUNNABLE
    assert rows[1].cpu_seconds == 123456.7


def test_it_parses_an_empty_listing() -> None:
    assert p.parse_xl_list("") == []
    assert p.parse_xl_list(HEADER_TABS + "\n") == []


@pytest.mark.parametrize(
    "line",
    [
        "garbage",
        # Extra columns right of Time(s) are kept (issue 17), but not words in place of one.
        "vm1 1 1024 1 r----- extra",
        "vm1                                          1  1024     1     rx----     1.0",
        "vm1                                          1  1024     1     r----      1.0",
    ],
)
def test_it_refuses_unknown_xl_list_lines(line: str) -> None:
    with pytest.raises(errors.ParseError):
        p.parse_xl_list(f"{HEADER_TABS}\n{line}\n")


@pytest.mark.parametrize(
    ("letters", "state", "reason"),
    [
        ("r-----", S.RUNNING, None),
        ("-b----", S.BLOCKED, None),
        ("--p---", S.PAUSED, None),
        ("-bp---", S.PAUSED, None),
        ("------", S.RUNNABLE, None),
        ("---s--", S.SHUTDOWN, "poweroff"),
        ("---sr-", S.SHUTDOWN, "reboot"),
        ("---ss-", S.SHUTDOWN, "suspend"),
        ("---sc-", S.CRASHED, "crash"),
        ("---sw-", S.SHUTDOWN, "watchdog"),
        ("---sS-", S.SHUTDOWN, "soft_reset"),
        ("---s?-", S.SHUTDOWN, "unknown"),
        ("-----d", S.DYING, None),
        ("---scd", S.DYING, "crash"),
    ],
)
def test_it_decodes_state_letters(letters: str, state: S, reason: str | None) -> None:
    assert p.decode_state(letters) == (state, reason)
    (row,) = p.parse_xl_list(xl_row("vm", 5, 128, 1, letters, 2.0))
    assert (row.state_letters, row.state, row.shutdown_reason) == (letters, state, reason)


def test_it_decodes_every_letter_combination() -> None:
    for combo in itertools.product("r-", "b-", "p-", "s-", "-rscwS?", "d-"):
        letters = "".join(combo)
        state, reason = p.decode_state(letters)
        assert (reason is not None) == (letters[3] == "s")
        if letters[5] == "d":
            assert state == S.DYING


@given(
    name=st.from_regex(r"[A-Za-z][A-Za-z0-9_. -]{0,60}[A-Za-z0-9]", fullmatch=True),
    domid=st.integers(0, 32000),
    mem=st.integers(0, 10**7),
    vcpus=st.integers(1, 512),
    secs=st.floats(0, 10**9, allow_nan=False),
)
def test_it_reads_back_any_printed_row(
    name: str, domid: int, mem: int, vcpus: int, secs: float
) -> None:
    (row,) = p.parse_xl_list(HEADER_TABS + "\n" + xl_row(name, domid, mem, vcpus, "-b----", secs))
    assert (row.name, row.domid, row.mem_mib, row.vcpus) == (name, domid, mem, vcpus)
    assert row.cpu_seconds == float("%.1f" % secs)  # noqa: UP031


LONG = [
    {
        "domid": 1,
        "config": {
            "c_info": {
                "type": "hvm",
                "name": "freebsd",
                "uuid": "1c6f1b1e-0d8f-4a43-9a7c-0a1b2c3d4e5f",
            },
            "b_info": {
                "max_vcpus": 2,
                "avail_vcpus": [0, 1],
                "max_memkb": 1048576,
                "target_memkb": 1048576,
                "type.hvm": {
                    "vnc": {"enable": "True", "listen": ANY, "findunused": "True"},
                    "serial": "pty",
                    "usbdevice": "tablet",
                },
            },
            "disks": [
                {
                    "pdev_path": "/dev/zvol/tank/xendisk0",
                    "vdev": "hda",
                    "format": "raw",
                    "readwrite": 1,
                },
                {
                    "pdev_path": "/root/freebsd.iso",
                    "vdev": "hdc",
                    "format": "raw",
                    "removable": 1,
                    "is_cdrom": 1,
                },
            ],
            "nics": [{"mac": "00:16:3e:74:34:32", "bridge": "bridge0", "nictype": "vif_ioemu"}],
            "on_reboot": "restart",
        },
    },
    {"domid": 2, "config": {"c_info": {"type": "pvh", "name": "bare"}, "b_info": {}}},
]


def test_it_parses_xl_list_long() -> None:
    vm, bare = p.parse_xl_list_long(json.dumps(LONG, indent=4))
    assert (vm.domid, vm.name, vm.type, vm.max_vcpus, vm.memory_mib) == (
        1,
        "freebsd",
        "hvm",
        2,
        1024,
    )
    assert vm.uuid == "1c6f1b1e-0d8f-4a43-9a7c-0a1b2c3d4e5f"
    assert vm.disks[0] == p.DiskInfo("/dev/zvol/tank/xendisk0", "hda", "raw", True, False, False)
    assert vm.disks[1] == p.DiskInfo("/root/freebsd.iso", "hdc", "raw", False, True, True)
    assert vm.nics == [p.NicInfo("00:16:3e:74:34:32", "bridge0", None, 0)]
    assert vm.vnc == p.VncInfo(True, ANY, 0, True, False)
    assert vm.config["on_reboot"] == "restart"
    assert (bare.memory_mib, bare.disks, bare.nics, bare.vnc) == (0, [], [], None)


def test_it_parses_the_dry_run_config_and_empty_output() -> None:
    (detail,) = p.parse_xl_list_long(json.dumps(LONG[0]["config"]))
    assert (detail.domid, detail.name) == (None, "freebsd")
    assert p.parse_xl_list_long("") == []
    assert p.parse_xl_list_long("[]") == []
    with pytest.raises(errors.ParseError):
        p.parse_xl_list_long("(domain (domid 1))")
    with pytest.raises(errors.ParseError):
        p.parse_xl_list_long("[1, 2]")
    with pytest.raises(errors.ParseError):
        p.parse_xl_list_long('[{"domid": 1, "config": {"b_info": {"max_vcpus": "many"}}}]')


XL_INFO = """\
host                   : xen1
release                : 14.1-RELEASE
version                : FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC
machine                : amd64
nr_cpus                : 8
max_cpu_id             : 7
cpu_mhz                : 2893.202
hw_caps                : bfebfbff:77fafbff:2c100800:00000121:0000000f:009c6fbf:00000000:00000100
virt_caps              : pv hvm hvm_directio pv_directio hap shadow iommu_hap_pt_share
total_memory           : 32661
free_memory            : 23950
sharing_freed_memory   : 0
free_cpus              : 0
xen_major              : 4
xen_minor              : 18
xen_extra              : .2
xen_version            : 4.18.2
xen_commandline        : dom0_mem=8192M dom0_max_vcpus=4 dom0=pvh console=com1,vga
xend_config_format     : 4
"""


def test_it_parses_xl_info() -> None:
    info = p.parse_xl_info(XL_INFO)
    assert (info.host, info.release, info.nr_cpus) == ("xen1", "14.1-RELEASE", 8)
    assert (info.total_memory_mib, info.free_memory_mib) == (32661, 23950)
    assert info.xen_version == "4.18.2"
    assert info.xen_commandline == "dom0_mem=8192M dom0_max_vcpus=4 dom0=pvh console=com1,vga"
    assert info.hvm and info.hap and info.iommu
    assert info.values["xend_config_format"] == "4"
    assert info.values["cpu_mhz"] == "2893.202"


def test_it_reads_empty_and_short_virt_caps() -> None:
    info = p.parse_xl_info("virt_caps              :\nnr_cpus : 2\n")
    assert info.virt_caps == frozenset()
    assert not (info.hvm or info.hap or info.iommu)
    assert info.total_memory_mib is None
    old = p.parse_xl_info("host : scarlett\nvirt_caps : hvm hvm_directio\n")
    assert old.hvm and old.iommu and not old.hap
    with pytest.raises(errors.ParseError):
        p.parse_xl_info("")


def test_it_parses_zfs_list() -> None:
    text = (
        "zroot/xen/vm1\t21474836480\t22145925120\t4096\t120000000000\t22145925120\tdev\n"
        "tank/sparse\t1073741824\t57344\t57344\t5000\t-\tfull\n"
    )
    vm1, sparse = p.parse_zfs_list(text)
    assert vm1 == p.ZfsVolume(
        "zroot/xen/vm1", 21474836480, 22145925120, 4096, 120000000000, 22145925120, "dev"
    )
    assert (sparse.refreservation, sparse.volmode) == (None, "full")
    assert p.parse_zfs_list("") == []
    assert p.parse_zfs_list("a/b\t10\n", columns=("name", "volsize")) == [p.ZfsVolume("a/b", 10)]


@pytest.mark.parametrize("text", ["a/b 1 2 3 4 5 dev\n", "a/b\tx\t1\t1\t1\t1\tdev\n", "a\tb\n"])
def test_it_refuses_bad_zfs_list(text: str) -> None:
    with pytest.raises(errors.ParseError):
        p.parse_zfs_list(text)


def test_it_parses_zpool_zfs_get_fetch_sysctl_sysrc() -> None:
    pools = p.parse_zpool_list("zroot\t1000204886016\t400000000000\t600204886016\tONLINE\n")
    assert pools == [p.ZpoolRow("zroot", 1000204886016, 400000000000, 600204886016, "ONLINE")]
    assert p.parse_zfs_get("volsize\t21474836480\nvolmode\tdev\norigin\t-\n") == {
        "volsize": "21474836480",
        "volmode": "dev",
        "origin": None,
    }
    with pytest.raises(errors.ParseError):
        p.parse_zfs_get("volsize 1\n")
    assert p.parse_fetch_size("1073741824\n") == 1073741824
    assert p.parse_fetch_size("Unknown\n") is None
    with pytest.raises(errors.ParseError):
        p.parse_fetch_size("fetch: x: Not Found")
    assert p.parse_sysctl("18446744073709551615\nxen\n") == ["18446744073709551615", "xen"]
    assert p.parse_sysrc("YES\n\n") == ["YES", ""]


# --- errors ------------------------------------------------------------------------------------


def classify(argv: list[str], stderr: str, rc: int = 1) -> errors.Dom0Error:
    err = p.classify_error(argv, rc, "", stderr)
    assert (err.argv, err.rc, err.stderr) == (argv, rc, stderr)
    assert err.message and not err.message.endswith(".")
    return err


@pytest.mark.parametrize(
    ("argv", "stderr", "kind", "words"),
    [
        (
            ["xl", "list"],
            "xencall: error: Could not obtain handle on privileged command interface "
            "/dev/xen/privcmd: No such file or directory\n"
            "libxl: error: libxl.c:102:libxl_ctx_alloc: cannot open libxc handle: No such file\n"
            "cannot init xl context\n",
            errors.XenNotRunning,
            "Xen is not running",
        ),
        (
            ["xl", "destroy", "web1"],
            "web1 is an invalid domain identifier (rc=-6)\n",
            errors.DomainNotFound,
            "Domain 'web1' does not exist on the host",
        ),
        (
            ["xl", "list", "99"],
            "Error: Domain '99' does not exist.\n",
            errors.DomainNotFound,
            "Domain '99' does not exist",
        ),
        (
            ["xl", "destroy", "42"],
            "libxl: error: libxl_domain.c:1575:libxl__destroy_domid: "
            "Domain 42:Non-existant domain\n"
            "destroy failed (rc=-21)\n",
            errors.DomainNotFound,
            "Domain '42'",
        ),
        (
            ["xl", "create", "/cfg/web1.cfg"],
            "libxl: error: libxl_domain.c:512:libxl__domain_rename: Domain 7:Domain with name "
            '"web1" already exists.\n'
            "libxl: error: libxl_create.c:700:initiate_domain_create: "
            "Domain 7:cannot make domain: -6\n",
            errors.DomainNameInUse,
            "named 'web1' already exists",
        ),
        (
            ["xl", "create", "/c"],
            "failed to free memory for the domain\n",
            errors.OutOfMemory,
            "memory",
        ),
        (
            ["xl", "create", "/c"],
            "libxl: error: libxl_create.c:1500:domcreate_rebuild_done: Domain 3:cannot (re-)build "
            "domain: -5\n",
            errors.OutOfMemory,
            "memory",
        ),
        (
            ["xl", "create", "/c"],
            "xc: error: panic: xc_dom_boot.c:120: xc_dom_boot_mem_init: can't allocate low memory "
            "for domain: Cannot allocate memory\n",
            errors.OutOfMemory,
            "memory",
        ),
        (
            ["xl", "create", "/cfg/x.cfg"],
            "Failed to read config file: /cfg/x.cfg: No such file or directory\n",
            errors.RemoteFileMissing,
            "/cfg/x.cfg",
        ),
        (
            ["xl", "cd-insert", "web1", "hdc", "/iso/x.iso"],
            "Cannot stat file: /iso/x.iso\n",
            errors.RemoteFileMissing,
            "/iso/x.iso",
        ),
        (
            ["xl", "shutdown", "web1"],
            "Shutting down domain 3\nPV control interface not available: external graceful "
            'shutdown not possible.\nUse "-F" to fallback to ACPI power event.\n'
            "shutdown failed (rc=-10)\n",
            errors.CommandFailed,
            "no PV drivers",
        ),
        (
            ["xl", "create", "/c"],
            "Parsing config from /c\n/c:3: config parsing error near `M': lexical error\n"
            "Failed to parse config: Invalid argument\n",
            errors.CommandFailed,
            "/c:3: config parsing error",
        ),
        (
            ["zfs", "create", "-V", "20G", "tank/v"],
            "cannot create 'tank/v': dataset already exists\n",
            errors.DatasetExists,
            "'tank/v' already exists",
        ),
        (
            ["zfs", "destroy", "tank/v"],
            "cannot destroy 'tank/v': dataset is busy\n",
            errors.DatasetBusy,
            "'tank/v' is in use",
        ),
        (
            ["zfs", "get", "volsize", "tank/x"],
            "cannot open 'tank/x': dataset does not exist\n",
            errors.DatasetMissing,
            "'tank/x'",
        ),
        (
            ["zfs", "create", "-V", "1G", "nopool/v"],
            "cannot open 'nopool': no such pool\n",
            errors.DatasetMissing,
            "no such pool",
        ),
        (
            ["zfs", "create", "-V", "1G", "tank/a/v"],
            "cannot create 'tank/a/v': parent does not exist\n",
            errors.DatasetMissing,
            "parent does not exist",
        ),
        (
            ["zfs", "create", "-V", "9T", "tank/v"],
            "cannot create 'tank/v': out of space\n",
            errors.PoolFull,
            "no room",
        ),
        (
            ["fetch", "-q", "-o", "/iso/x.iso", "https://www.freebsd.org/bad.html"],
            "fetch: https://www.freebsd.org/bad.html: Not Found\n",
            errors.FetchFailed,
            "Could not download https://www.freebsd.org/bad.html: Not Found",
        ),
        (
            ["fetch", "-s", "-T", "5", "http://nx.example/x"],
            "fetch: http://nx.example/x: No address record\n",
            errors.FetchFailed,
            "No address record",
        ),
        (
            ["fetch", "-q", "-o", "/iso/x", "http://example.com/x"],
            "fetch: transfer timed out\n/iso/x appears to be truncated: 10/20 bytes\n",
            errors.FetchFailed,
            "transfer timed out",
        ),
        (
            ["sysctl", "-n", "vm.nope"],
            "sysctl: unknown oid 'vm.nope'\n",
            errors.CommandFailed,
            "vm.nope",
        ),
        (["xl", "pause", "web1"], "something odd\n", errors.CommandFailed, "exit code 1"),
    ],
)
def test_it_classifies_tool_errors(argv: list[str], stderr: str, kind: type, words: str) -> None:
    err = classify(argv, stderr)
    assert type(err) is kind
    assert words in err.message
    assert err.hint


def test_it_explains_missing_tools_and_keeps_secrets_out() -> None:
    err = classify(["xl", "list"], "sh: xl: command not found\n", rc=127)
    assert "not installed" in err.message
    err = classify(
        ["fetch", "-s", "https://u:pw@example.com/x"],
        "fetch: https://u:pw@example.com/x: Forbidden\n",
    )
    assert "pw" not in err.message


def test_check_raises_only_on_failure() -> None:
    assert p.check(["xl", "list"], 0, "out", "") == "out"
    with pytest.raises(errors.DomainNotFound):
        p.check(["xl", "destroy", "x"], 1, "", "x is an invalid domain identifier (rc=-6)\n")

    class Result:
        rc, stdout, stderr = 3, "", "cannot init xl context\n"

    with pytest.raises(errors.XenNotRunning):
        p.check_result(["xl", "info"], Result())
