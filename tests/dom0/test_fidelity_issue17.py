"""Issue 17 items 12–15: what a real Dom0 prints, read correctly (pure, no I/O).

The xl create cascade is the one RELEASE-4.18.0 prints for a domain whose memory the hypervisor
cannot populate: the cause (tools/libs/guest/xg_dom_boot.c, libxl_dom.c, libxl_create.c), then
xl's second destroy of the domain libxl already removed (tools/xl/xl_vmcontrol.c `error_out:`,
libxl_domain.c).
"""

from __future__ import annotations

import pytest

from dom0 import errors, libxl_log
from dom0 import parsers as p

OOM_CASCADE = (
    "xc: error: panic: xg_dom_boot.c:120: xc_dom_boot_mem_init: can't allocate low memory for "
    "domain: Out of memory\n"
    "libxl: error: libxl_dom.c:581:libxl__build_dom: xc_dom_boot_mem_init failed: Cannot "
    "allocate memory\n"
    "libxl: error: libxl_create.c:1653:domcreate_rebuild_done: Domain 5:cannot (re-)build "
    "domain: -3\n"
    "libxl: error: libxl_domain.c:1179:libxl__destroy_domid: Domain 5:Non-existant domain\n"
    "libxl: error: libxl_domain.c:1133:domain_destroy_callback: Domain 5:Unable to destroy guest\n"
    "libxl: error: libxl_domain.c:1060:domain_destroy_cb: Domain 5:Destruction of domain failed\n"
)
CREATE = ["xl", "create", "/usr/local/etc/xen/web1.cfg", "-q"]


@pytest.mark.parametrize("spelling", ["Non-existant", "Non-existent"])
def test_a_failed_create_is_classified_by_its_first_error_not_the_clean_up(spelling: str) -> None:
    err = p.classify_error(CREATE, 3, "", OOM_CASCADE.replace("Non-existant", spelling))
    assert isinstance(err, errors.OutOfMemory)
    assert not isinstance(err, errors.DomainNotFound)
    assert "can't allocate low memory for domain: Out of memory" in err.message
    assert "Destruction" not in err.message and "'-q'" not in err.message


def test_the_low_memory_panic_alone_is_out_of_memory() -> None:
    line = OOM_CASCADE.splitlines()[0] + "\n"
    assert isinstance(p.classify_error(CREATE, 3, "", line), errors.OutOfMemory)


def test_another_create_failure_quotes_its_cause() -> None:
    stderr = (
        "libxl: error: libxl_device.c:356:libxl__device_disk_set_backend: Disk vdev=hda failed "
        "to stat: /dev/zvol/tank/gone: No such file or directory\n"
        "libxl: error: libxl_create.c:1857:domcreate_launch_dm: Domain 2:unable to add disk "
        "devices\n" + "\n".join(OOM_CASCADE.splitlines()[3:]).replace("Domain 5", "Domain 2")
    )
    err = p.classify_error(CREATE, 3, "", stderr)
    assert type(err) is errors.CommandFailed
    assert err.message == (
        "'xl create' failed with exit code 3: Disk vdev=hda failed to stat: "
        "/dev/zvol/tank/gone: No such file or directory"
    )


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["xl", "destroy", "42"], "42"),
        (["xl", "-v", "destroy", "42"], "42"),
        (["xl", "shutdown", "-w", "42"], "42"),
    ],
)
def test_a_missing_domid_is_named_from_the_domain_argument(argv: list[str], name: str) -> None:
    stderr = (
        "libxl: error: libxl_domain.c:1179:libxl__destroy_domid: Domain 42:Non-existent domain\n"
        "destroy failed (rc=-21)\n"
    )
    err = p.classify_error(argv, 1, "", stderr)
    assert isinstance(err, errors.DomainNotFound)
    assert err.message == f"Domain '{name}' does not exist on the host"


def test_libxl_lines_lose_their_prefixes() -> None:
    lines = libxl_log.error_lines(OOM_CASCADE)
    assert len(lines) == 6 and [libxl_log.is_cleanup(x) for x in lines][2:4] == [False, True]
    assert libxl_log.message(lines[0]) == (
        "xc_dom_boot_mem_init: can't allocate low memory for domain: Out of memory"
    )
    assert libxl_log.message(lines[2]) == "cannot (re-)build domain: -3"
    assert libxl_log.message("libxl: error: libxl.c:1:f: x failed: Success") == "x failed"
    assert libxl_log.domain_arg(["xl", "console", "-t", "pv", "web1"]) == "web1"
    assert libxl_log.domain_arg(["xl", "list"]) is None


# --- zfs: every "cannot <verb>" line ---------------------------------------------------------


def test_a_recursive_destroy_is_classified_by_the_busy_child() -> None:
    stderr = (
        "cannot destroy 'tank/vm/a-disk0': dataset is busy\n"
        "cannot destroy 'tank/vm': dataset already exists\n"
    )
    err = p.classify_error(["zfs", "destroy", "-r", "tank/vm"], 1, "", stderr)
    assert isinstance(err, errors.DatasetBusy) and "'tank/vm/a-disk0'" in err.message


def test_a_later_zfs_line_is_examined_when_the_first_is_unknown() -> None:
    stderr = (
        "cannot mount 'tank/x': something zfs only says here\n"
        "cannot open 'tank/y': dataset does not exist\n"
    )
    err = p.classify_error(["zfs", "list", "tank/y"], 1, "", stderr)
    assert isinstance(err, errors.DatasetMissing) and "'tank/y'" in err.message


# --- xl list extra columns, xl info continuation lines ---------------------------------------

HEADER = "Name                                        ID   Mem VCPUs\tState\tTime(s)"
ROW = "web1                                         3  1024     2     -b----    12.5"


@pytest.mark.parametrize(
    ("header_extra", "row_extra", "extra"),
    [
        (
            "   UUID                            Reason-Code\tSecurity Label",
            " 6f1c2a3e-1111-2222-3333-444455556666        -                -",
            ("6f1c2a3e-1111-2222-3333-444455556666", "-", "-"),
        ),
        ("   Security Label", "                -", ("-",)),
        ("         Cpupool", "        Pool-0", ("Pool-0",)),
        (" NODE Affinity", " all", ("all",)),
        ("  Claimed", "        0", ("0",)),
    ],
)
def test_xl_list_rows_with_extra_columns_keep_the_known_ones(
    header_extra: str, row_extra: str, extra: tuple[str, ...]
) -> None:
    (row,) = p.parse_xl_list(f"{HEADER}{header_extra}\n{ROW}{row_extra}\n")
    assert (row.name, row.domid, row.mem_mib, row.vcpus) == ("web1", 3, 1024, 2)
    assert (row.state, row.cpu_seconds, row.extra) == (p.DomainState.BLOCKED, 12.5, extra)


def test_an_indented_xl_info_line_continues_the_value_above() -> None:
    info = p.parse_xl_info(
        "host                   : xen1\n"
        "xen_commandline        : dom0_mem=8192M dom0_max_vcpus=4 dom0=pvh\n"
        "                         console=com1,vga com1=115200,8n1\n"
        "cc_compiler            : clang\n"
    )
    assert info.xen_commandline == (
        "dom0_mem=8192M dom0_max_vcpus=4 dom0=pvh console=com1,vga com1=115200,8n1"
    )
    assert info.values["cc_compiler"] == "clang"
