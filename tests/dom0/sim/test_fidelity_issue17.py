"""Issue 17 item 17: the simulator prints what the real tools print, and the panel reads it."""

from __future__ import annotations

import json

from dom0 import errors
from dom0 import parsers as p
from dom0.sim import SimHost
from dom0.sim.xlcfg import PYTHON_WARNING

from .conftest import write_domu


def test_zpool_list_right_aligns_numbers_and_health_in_zfs_widths(host: SimHost) -> None:
    # cmd/zpool/zpool_main.c `collect_pool`; widths from zprop_common.c `zprop_width`.
    assert host.run(["zpool", "list"]).stdout == (
        "NAME    SIZE  ALLOC   FREE  CKPOINT  EXPANDSZ   FRAG    CAP  DEDUP    HEALTH  ALTROOT\n"
        "zroot   500G  9.00G   491G        -         -     1%     1%  1.00x    ONLINE  -\n"
    )
    assert host.run(["zpool", "list", "-o", "name,health"]).stdout == (
        "NAME     HEALTH\nzroot    ONLINE\n"
    )


def test_a_recursive_destroy_removes_the_free_volumes_and_reports_each_busy_one(
    host: SimHost,
) -> None:
    assert host.run(["zfs", "create", "zroot/xen/vms"]).rc == 0
    for name in ("a", "b", "c"):
        assert host.run(["zfs", "create", "-V", "1G", f"zroot/xen/vms/{name}"]).rc == 0
    assert host.run(["zfs", "snapshot", "zroot/xen/vms/c@s"]).rc == 0
    for name in ("a", "c"):
        cfg = write_domu(host, name)
        text = host.path(cfg).read_text()
        host.path(cfg).write_text(text.replace(f"zroot/xen/{name}-disk0", f"zroot/xen/vms/{name}"))
        assert host.run(["xl", "create", "-q", cfg]).rc == 0
    result = host.run(["zfs", "destroy", "-r", "zroot/xen/vms"])
    assert (result.rc, result.stdout, result.stderr) == (
        1,
        "",
        "cannot destroy 'zroot/xen/vms/a': dataset is busy\n"
        "cannot destroy 'zroot/xen/vms/c': dataset is busy\n"
        "cannot destroy 'zroot/xen/vms': dataset already exists\n",
    )
    listed = host.run(["zfs", "list", "-H", "-r", "-t", "all", "-o", "name", "zroot/xen/vms"])
    # b is gone, and so is c's snapshot: snapshots go in a batch before their volume.
    assert listed.stdout == "zroot/xen/vms\nzroot/xen/vms/a\nzroot/xen/vms/c\n"
    err = p.classify_error(["zfs", "destroy", "-r", "zroot/xen/vms"], 1, "", result.stderr)
    assert isinstance(err, errors.DatasetBusy) and "'zroot/xen/vms/a'" in err.message


def test_xl_create_out_of_memory_prints_the_clean_up_cascade(host: SimHost) -> None:
    cfg = write_domu(host, "toobig", memory=30000)
    result = host.run(["xl", "create", cfg, "-q"])
    assert result.rc == 3
    assert [line.split(": ", 2)[2].split(":")[0] for line in result.stderr.splitlines()] == [
        "panic",
        "libxl_dom.c",
        "libxl_create.c",
        "libxl_domain.c",
        "libxl_domain.c",
        "libxl_domain.c",
    ]
    assert result.stderr.startswith("xc: error: panic: xg_dom_boot.c:120: xc_dom_boot_mem_init:")
    assert "Domain 1:Non-existant domain\n" in result.stderr
    err = p.classify_error(["xl", "create", cfg, "-q"], result.rc, "", result.stderr)
    assert isinstance(err, errors.OutOfMemory)
    assert "can't allocate low memory for domain: Out of memory" in err.message


def test_a_config_parse_error_warns_about_python_only_where_libxlu_does(host: SimHost) -> None:
    host.path("/root/py.cfg").write_text('name = "x"\nmemory = 1024M\nvcpus = len(cpus)\n')
    result = host.run(["xl", "create", "py.cfg"])
    assert (result.rc, result.stderr) == (
        1,
        "Parsing config from py.cfg\n"
        "py.cfg:2: config parsing error near `M': lexical error\n"
        + "".join(f"{w}\n" for w in PYTHON_WARNING)
        + "Failed to parse config: Invalid argument\n",
    )
    host.path("/root/plain.cfg").write_text('name = "x"\nmemory = 1024M\nkernel = "/a.b:c"\n')
    plain = host.run(["xl", "create", "plain.cfg"])
    assert "Python" not in plain.stderr and plain.rc == 1
    host.path("/root/tail.cfg").write_text('name = "x"\n# no newline after this comment')
    tail = host.run(["xl", "create", "-q", "tail.cfg"])
    assert tail.stderr == (
        "tail.cfg:2: config parsing error near `#': lexical error\n"
        "Failed to parse config: Invalid argument\n"
    )


def test_xl_list_long_has_the_members_libxl_always_emits(host: SimHost) -> None:
    cfg = write_domu(host)
    host.path(cfg).write_text(host.path(cfg).read_text() + 'vga = "stdvga"\n')
    assert host.run(["xl", "create", "-q", cfg]).rc == 0
    text = host.run(["xl", "list", "-l", "freebsd"]).stdout
    config = json.loads(text)[0]["config"]
    assert config["b_info"]["sched_params"] == {}
    hvm = config["b_info"]["type.hvm"]
    assert (hvm["vga"], hvm["sdl"], hvm["spice"], hvm["rdm"]) == ({"kind": "std"}, {}, {}, {})
    assert config["nics"][0]["devid"] == 0
    (detail,) = p.parse_xl_list_long(text)
    assert detail.nics[0].devid == 0 and detail.vnc is not None and detail.vnc.enable


def test_an_unknown_vga_is_refused_as_xl_does(host: SimHost) -> None:
    cfg = write_domu(host)
    host.path(cfg).write_text(host.path(cfg).read_text() + 'vga = "vmware"\n')
    result = host.run(["xl", "create", "-q", cfg])
    assert (result.rc, result.stderr) == (1, 'Unknown vga "vmware" specified\n')
