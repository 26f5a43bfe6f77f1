"""Argv builders: exact argv, and every input refused before it can reach a host."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dom0 import commands as c
from dom0.errors import ValidationError

P = c.PathPolicy(config_dir="/cfg", iso_dir="/iso")


def test_it_builds_xl_reads() -> None:
    assert c.xl_list() == ["xl", "list"]
    assert c.xl_info() == ["xl", "info"]
    assert c.xl_list_long() == ["xl", "list", "-l"]
    assert c.xl_list_long("web1") == ["xl", "list", "-l", "web1"]
    assert c.xl_list_long(0) == ["xl", "list", "-l", "0"]
    assert c.xl_list_long("Domain-0") == ["xl", "list", "-l", "Domain-0"]


def test_it_builds_xl_create() -> None:
    assert c.xl_create("/cfg/vm1.cfg", policy=P) == ["xl", "create", "/cfg/vm1.cfg", "-q"]
    assert c.xl_create("/cfg/vm1.cfg", paused=True, quiet=False, policy=P) == [
        "xl",
        "create",
        "/cfg/vm1.cfg",
        "-p",
    ]
    assert c.xl_create(f"{c.DEFAULT_POLICY.config_dir}/a.cfg")[2].endswith("/a.cfg")


@pytest.mark.parametrize("path", ["vm1.cfg", "/etc/rc.conf", "/cfg/../etc/x", "/cfg/a=b.cfg"])
def test_it_refuses_config_paths_outside_the_config_dir(path: str) -> None:
    with pytest.raises(ValidationError) as info:
        c.xl_create(path, policy=P)
    assert info.value.field == "config"


def test_it_builds_xl_lifecycle_actions() -> None:
    assert c.xl_destroy("web1") == ["xl", "destroy", "web1"]
    assert c.xl_destroy(7) == ["xl", "destroy", "7"]
    assert c.xl_destroy("7") == ["xl", "destroy", "7"]
    assert c.xl_shutdown("web1") == ["xl", "shutdown", "web1"]
    assert c.xl_shutdown("web1", wait=True, force=True) == ["xl", "shutdown", "-w", "-F", "web1"]
    assert c.xl_reboot(3) == ["xl", "reboot", "3"]
    assert c.xl_reboot("web1", force=True) == ["xl", "reboot", "-F", "web1"]
    assert c.xl_pause("web1") == ["xl", "pause", "web1"]
    assert c.xl_unpause("web1") == ["xl", "unpause", "web1"]


@pytest.mark.parametrize(
    ("dom", "rule"),
    [
        (0, "Domain-0"),
        ("0", "Domain-0"),
        ("Domain-0", "host's own domain"),
        (-1, "negative"),
        (True, "name or id"),
        ("-f", "must start with a letter"),
        ("web1; reboot", "may contain only"),
    ],
)
def test_it_refuses_bad_domain_arguments(dom: object, rule: str) -> None:
    with pytest.raises(ValidationError) as info:
        c.xl_destroy(dom)  # type: ignore[arg-type]
    assert info.value.field == "domain"
    assert rule in info.value.rule


def test_it_builds_cdrom_commands() -> None:
    assert c.xl_cd_eject("web1", "hdc") == ["xl", "cd-eject", "web1", "hdc"]
    assert c.xl_cd_insert("web1", "hdc", "/iso/fb.iso", policy=P) == [
        "xl",
        "cd-insert",
        "web1",
        "hdc",
        "/iso/fb.iso",
    ]
    with pytest.raises(ValidationError) as info:
        c.xl_cd_insert("web1", "hdc", "/cfg/x.iso", policy=P)
    assert info.value.field == "iso"
    with pytest.raises(ValidationError):
        c.xl_cd_eject("web1", "hdc:cdrom")


def test_it_builds_zfs_create_volume() -> None:
    assert c.zfs_create_volume("zroot/xen/vm1", "20G") == [
        "zfs",
        "create",
        "-V",
        "20G",
        "-o",
        "volmode=dev",
        "zroot/xen/vm1",
    ]
    assert c.zfs_create_volume("tank/v", "1.5g", sparse=True, volmode="full") == [
        "zfs",
        "create",
        "-s",
        "-V",
        "1536M",
        "-o",
        "volmode=full",
        "tank/v",
    ]
    assert c.zfs_create_volume("tank/v", 4096)[3] == "4K"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dataset": "zroot", "size": "1G"}, "dataset"),
        ({"dataset": "zroot/a@b", "size": "1G"}, "dataset"),
        ({"dataset": "zroot/v", "size": "0"}, "size"),
        ({"dataset": "zroot/v", "size": "-1G"}, "size"),
        ({"dataset": "zroot/v", "size": "1G", "volmode": "bogus"}, "volmode"),
    ],
)
def test_it_refuses_bad_volumes(kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        c.zfs_create_volume(**kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_it_builds_zfs_reads_and_destroy() -> None:
    assert c.zfs_destroy("zroot/xen/vm1") == ["zfs", "destroy", "zroot/xen/vm1"]
    assert c.zfs_destroy("zroot/xen/vm1", recursive=True) == [
        "zfs",
        "destroy",
        "-r",
        "zroot/xen/vm1",
    ]
    with pytest.raises(ValidationError):
        c.zfs_destroy("zroot")
    cols = "name,volsize,used,referenced,available,refreservation,volmode"
    assert c.zfs_list_volumes() == ["zfs", "list", "-H", "-p", "-t", "volume", "-o", cols]
    assert c.zfs_list_volumes("zroot/xen")[-2:] == ["-r", "zroot/xen"]
    assert c.zfs_get("tank/v", ["volsize", "volmode"]) == [
        "zfs",
        "get",
        "-H",
        "-p",
        "-o",
        "property,value",
        "volsize,volmode",
        "tank/v",
    ]
    assert c.zfs_get("tank/v", ["org.xenpanel:owner"])[-2] == "org.xenpanel:owner"
    with pytest.raises(ValidationError) as info:
        c.zfs_get("tank/v", ["volsize,all"])
    assert info.value.field == "props"
    with pytest.raises(ValidationError):
        c.zfs_get("tank/v", [])
    assert c.zpool_list() == ["zpool", "list", "-H", "-p", "-o", "name,size,alloc,free,health"]


def test_it_builds_fetch_commands() -> None:
    url = "https://download.freebsd.org/x.iso"
    assert c.fetch_size(url, 30) == ["fetch", "-s", "-A", "-T", "30", url]
    assert c.fetch_to(url, "/iso/x.iso", 600, policy=P) == [
        "fetch",
        "-q",
        "-A",
        "-T",
        "600",
        "-o",
        "/iso/x.iso",
        url,
    ]
    with pytest.raises(ValidationError) as info:
        c.fetch_to(url, "/etc/x.iso", 600, policy=P)
    assert info.value.field == "path"
    with pytest.raises(ValidationError) as info:
        c.fetch_size("http://127.0.0.1/x", 30)
    assert info.value.field == "url"
    assert c.fetch_size("http://127.0.0.1/x", 30, allow_private=True)[-1] == "http://127.0.0.1/x"
    for bad in (0, -1, 86401, True, "30"):
        with pytest.raises(ValidationError) as info:
            c.fetch_size(url, bad)  # type: ignore[arg-type]
        assert info.value.field == "timeout"


def test_it_builds_host_fact_reads() -> None:
    assert c.sysctl_get("vm.max_user_wired", "kern.vm_guest") == [
        "sysctl",
        "-n",
        "vm.max_user_wired",
        "kern.vm_guest",
    ]
    assert c.sysctl_get("vm.max_wired", ignore_unknown=True) == [
        "sysctl",
        "-i",
        "-n",
        "vm.max_wired",
    ]
    assert c.sysrc_get("xencommons_enable") == ["sysrc", "-n", "xencommons_enable"]
    assert c.sysrc_get("xen_kernel", "xen_cmdline", file="/boot/loader.conf") == [
        "sysrc",
        "-f",
        "/boot/loader.conf",
        "-n",
        "xen_kernel",
        "xen_cmdline",
    ]
    assert c.sysrc_get("x", ignore_unknown=True) == ["sysrc", "-i", "-n", "x"]
    assert c.pkg_installed("xen-kernel", "xen-tools") == [
        "pkg",
        "info",
        "-e",
        "xen-kernel",
        "xen-tools",
    ]
    assert c.ifconfig("bridge0") == ["ifconfig", "bridge0"]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: c.sysctl_get(), "oid"),
        (lambda: c.sysctl_get("vm.max_wired=0"), "oid"),
        (lambda: c.sysctl_get("-a"), "oid"),
        (lambda: c.sysrc_get("xencommons_enable=YES"), "name"),
        (lambda: c.sysrc_get("x", file="/etc/passwd"), "file"),
        (lambda: c.pkg_installed("-a"), "package"),
        (lambda: c.pkg_installed("xen kernel"), "package"),
        (lambda: c.ifconfig("bridge0 destroy"), "interface"),
    ],
)
def test_it_refuses_bad_host_fact_reads(call, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        call()
    assert info.value.field == field


def test_it_builds_file_commands() -> None:
    assert c.sha_digest("/iso/x.iso", policy=P) == ["sha256", "-q", "/iso/x.iso"]
    assert c.sha_digest("/iso/x.iso", "sha512", policy=P) == ["sha512", "-q", "/iso/x.iso"]
    assert c.mkdir_p("/iso", policy=P) == ["mkdir", "-p", "/iso"]
    assert c.rm_f("/cfg/vm1.cfg", policy=P) == ["rm", "-f", "/cfg/vm1.cfg"]
    assert c.mv("/cfg/.vm1.cfg.tmp", "/cfg/vm1.cfg", policy=P) == [
        "mv",
        "-f",
        "/cfg/.vm1.cfg.tmp",
        "/cfg/vm1.cfg",
    ]
    with pytest.raises(ValidationError):
        c.sha_digest("/iso/x.iso", "md5", policy=P)
    with pytest.raises(ValidationError):
        c.rm_f("/iso", policy=P)
    with pytest.raises(ValidationError):
        c.rm_f("/dev/zvol/zroot/vm1", policy=P)
    with pytest.raises(ValidationError) as info:
        c.mv("/cfg/a", "/etc/rc.conf", policy=P)
    assert info.value.field == "destination"


@given(st.text(max_size=30))
def test_no_domain_argument_can_look_like_an_option(text: str) -> None:
    try:
        argv = c.xl_destroy(text)
    except ValidationError:
        return
    assert not argv[-1].startswith("-")
    assert argv[-1].isdigit() or argv[-1][0].isalpha()
