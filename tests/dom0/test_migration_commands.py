"""Argv builders for moving domUs between Dom0s (issue 14): `zfs send`/`recv` and `xl migrate`.

The forms follow docs/migration-cli-facts.md: zfs_main.c `zfs_do_send` (getopt
`:i:I:RsDpVvnPLeht:cwbd:SX:U`), `zfs_do_receive` (`:o:x:dehMnuvFsAc`; `recv` is an alias of
`receive`), xl_migrate.c `main_migrate` (`FC:s:epD`, `--debug`) and the shell line xl builds:
`exec <sshcommand> <host> xl migrate-receive`.
"""

from __future__ import annotations

import shlex
import subprocess

import pytest

from dom0 import commands as c
from dom0.errors import ValidationError
from dom0.migration_commands import migration_host, resume_token

# A real token, from a captured `zfs send -t` (jimsalterjrs/sanoid issue #1067); its hex payload
# inflates to the 0x110 bytes the header announces.
TOKEN = (
    "1-115ce4602b-110-789c636064000310a501c49c50360710a715e5e7a69766a63040c11359eea8adcb1b0c1480"
    "6c762475f94959a9c9250c0ccbe521ea30e4d3d28a534b18e00024cf86249f5459925a0ca43bf6ec717762c2d45f"
    "920f7145d996e3999b576fb28a4092e704cbe725e6a6323014e4e7e7183a1457e625e767a6c417241b99e89665e8"
    "16a71695a516e91ac61b191899e91a18ea1a1a58190091a1958185aebb6f08886d00771b0021ff2d72"
)
KEY = "/usr/local/etc/xenpanel/migrate_ed25519"
KNOWN = "/usr/local/etc/xenpanel/migrate_known_hosts"
SSH = (
    f"ssh -i {KEY} -o BatchMode=yes -o StrictHostKeyChecking=yes "
    f"-o UserKnownHostsFile={KNOWN} -o GlobalKnownHostsFile=/dev/null -p 22 -l root"
)


def refused(field: str, call: object, *args: object, **kwargs: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    assert info.value.field == field, info.value
    assert info.value.rule
    return info.value


# --- zfs send ----------------------------------------------------------------------------------


def test_zfs_send_puts_options_before_the_snapshot() -> None:
    assert c.zfs_send("tank/xen/vm1@m1") == ["zfs", "send", "-c", "tank/xen/vm1@m1"]
    assert c.zfs_send("tank/xen/vm1@m1", compressed=False) == ["zfs", "send", "tank/xen/vm1@m1"]
    assert c.zfs_send("tank/xen/vm1@m2", incremental_from="@m1", verbose=True, parsable=True) == [
        "zfs", "send", "-c", "-v", "-P", "-i", "@m1", "tank/xen/vm1@m2",
    ]  # fmt: skip
    assert c.zfs_send("tank/xen/vm1@m1", verbose=True, parsable=True, dry_run=True) == [
        "zfs", "send", "-c", "-v", "-P", "-n", "tank/xen/vm1@m1",
    ]  # fmt: skip
    assert c.zfs_send("tank/xen/vm1@m2", incremental_from="tank/xen/vm1@m1")[-3:] == [
        "-i", "tank/xen/vm1@m1", "tank/xen/vm1@m2",
    ]  # fmt: skip
    # A clone may send an increment from its origin's snapshot, in the same pool.
    assert "tank/xen/tpl@base" in c.zfs_send(
        "tank/xen/vm2@m1", incremental_from="tank/xen/tpl@base"
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"snapshot": "tank/xen/vm1"}, "snapshot"),
        ({"snapshot": "tank/xen/vm1@m1; reboot"}, "snapshot"),
        ({"snapshot": "-R@x"}, "snapshot"),
        ({"snapshot": "tank/xen/vm1@m2", "incremental_from": "m1"}, "incremental_from"),
        ({"snapshot": "tank/xen/vm1@m2", "incremental_from": "#book"}, "incremental_from"),
        ({"snapshot": "tank/xen/vm1@m2", "incremental_from": "tank/xen/vm1#b"}, "incremental_from"),
        ({"snapshot": "tank/xen/vm1@m2", "incremental_from": "@m2"}, "incremental_from"),
        ({"snapshot": "tank/xen/vm1@m2", "incremental_from": "other/vm1@m1"}, "incremental_from"),
        ({"snapshot": "tank/xen/vm1@m2", "incremental_from": "@a b"}, "incremental_from"),
        ({"snapshot": "tank/xen/vm1@m2", "incremental_from": 3}, "incremental_from"),
        ({"snapshot": "tank/xen/vm1@m2", "verbose": "yes"}, "verbose"),
        ({"snapshot": "tank/xen/vm1@m2", "compressed": 1}, "compressed"),
    ],
)
def test_zfs_send_refuses_bad_input(kwargs: dict[str, object], field: str) -> None:
    snapshot = kwargs.pop("snapshot")
    refused(field, c.zfs_send, snapshot, **kwargs)


def test_zfs_send_resume_takes_only_a_real_token() -> None:
    assert c.zfs_send_resume(TOKEN) == ["zfs", "send", "-t", TOKEN]
    assert c.zfs_send_resume(f" {TOKEN}\n", verbose=True, parsable=True) == [
        "zfs", "send", "-v", "-P", "-t", TOKEN,
    ]  # fmt: skip
    assert resume_token(TOKEN) == TOKEN
    for bad in ("", "-", "2-1-2-abcd", "1-xyz-1-00", "1-1-1-abc", "1-1-1-00;ls", "1-1-1-0A0B"):
        refused("token", c.zfs_send_resume, bad)
    refused("token", c.zfs_send_resume, "1-1-1-" + "00" * 5000)
    refused("token", c.zfs_send_resume, None)


# --- zfs recv ----------------------------------------------------------------------------------


def test_zfs_recv_and_its_resume_token() -> None:
    assert c.zfs_recv("tank/xen/vm1") == ["zfs", "recv", "-s", "tank/xen/vm1"]
    assert c.zfs_recv("tank/xen/vm1", force=True) == ["zfs", "recv", "-F", "-s", "tank/xen/vm1"]
    assert c.zfs_recv("tank/xen/vm1", resumable=False) == ["zfs", "recv", "tank/xen/vm1"]
    assert c.zfs_recv_abort("tank/xen/vm1") == ["zfs", "recv", "-A", "tank/xen/vm1"]
    assert c.zfs_receive_resume_token("tank/xen/vm1") == [
        "zfs", "get", "-H", "-p", "-o", "value", "receive_resume_token", "tank/xen/vm1",
    ]  # fmt: skip
    refused("dataset", c.zfs_recv, "tank")  # a volume cannot be a pool's root
    refused("dataset", c.zfs_recv, "tank/xen/vm1@m1")
    refused("dataset", c.zfs_recv, "tank/a b")
    refused("force", c.zfs_recv, "tank/xen/vm1", force="yes")
    refused("dataset", c.zfs_receive_resume_token, "../etc")
    refused("dataset", c.zfs_recv_abort, "tank")


# --- xl migrate --------------------------------------------------------------------------------


def test_migrate_ssh_command_is_the_documented_line() -> None:
    assert c.migrate_ssh_command("root", KEY, KNOWN, 22) == SSH
    line = c.migrate_ssh_command("xen_migrate", "/root/.ssh/id+x", "/var/db/k.hosts", 2222)
    assert line.endswith("-p 2222 -l xen_migrate")


def test_the_ssh_line_is_plain_words_for_sh() -> None:
    """sh splits xl's rune into exactly the words we built: nothing is quoted or expanded."""
    argv = c.xl_migrate("vm1", "xen-b.example.org", ssh_command=SSH, paused=True)
    rune = f"exec {argv[3]} {argv[-1]} xl migrate-receive -p"
    words = shlex.split(rune)
    assert all(shlex.quote(w) == w for w in words)
    # The same line through a real sh, with `exec` swapped for printing the words.
    shown = subprocess.run(
        ["/bin/sh", "-c", "printf '%s\\n' " + rune.removeprefix("exec ")],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.splitlines()
    assert shown == words[1:]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("root", "relative/key", KNOWN, 22), "key_path"),
        (("root", "/root/my key", KNOWN, 22), "key_path"),
        (("root", "/root/$(id)", KNOWN, 22), "key_path"),
        (("root", "/root/k;id", KNOWN, 22), "key_path"),
        (("root", "/root/../etc/k", KNOWN, 22), "key_path"),
        (("root", "/root/~k", KNOWN, 22), "key_path"),
        (("root", KEY, "/tmp/k'h", 22), "known_hosts_path"),
        (("root", KEY, "/tmp/k`h`", 22), "known_hosts_path"),
        (("root", KEY, "/tmp/kh\n", 22), "known_hosts_path"),
        (("root", KEY, "/tmp/k=h", 22), "known_hosts_path"),
        (("-oProxyCommand=x", KEY, KNOWN, 22), "user"),
        (("ro ot", KEY, KNOWN, 22), "user"),
        (("root@h", KEY, KNOWN, 22), "user"),
        (("", KEY, KNOWN, 22), "user"),
        (("root", KEY, KNOWN, 0), "port"),
        (("root", KEY, KNOWN, 65536), "port"),
        (("root", KEY, KNOWN, "22"), "port"),
        (("root", KEY, KNOWN, True), "port"),
    ],
)
def test_migrate_ssh_command_refuses_shell_characters(args: tuple[object, ...], field: str) -> None:
    refused(field, c.migrate_ssh_command, *args)


def test_xl_migrate_argv_in_xls_order() -> None:
    assert c.xl_migrate("vm1", "xen-b") == ["xl", "migrate", "vm1", "xen-b"]
    assert c.xl_migrate(
        7,
        "192.0.2.10",
        ssh_command=SSH,
        config_path="/usr/local/etc/xen/xenpanel/vm1.cfg",
        paused=True,
        no_wait=True,
        debug=True,
    ) == [
        "xl", "migrate", "-C", "/usr/local/etc/xen/xenpanel/vm1.cfg", "-s", SSH, "-e", "-p",
        "--debug", "7", "192.0.2.10",
    ]  # fmt: skip
    assert c.xl_migrate("vm1", "2001:db8::1")[-1] == "2001:db8::1"
    assert c.xl_migrate_receive() == ["xl", "migrate-receive"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"host": "xen-b; reboot"}, "host"),
        ({"host": "-oProxyCommand=id"}, "host"),
        ({"host": "root@xen-b"}, "host"),
        ({"host": "xen-b:22"}, "host"),
        ({"host": "fe80::1%em0"}, "host"),
        ({"host": ""}, "host"),
        ({"host": "a" * 64 + ".example"}, "host"),
        ({"dom": 0}, "domain"),
        ({"dom": "Domain-0"}, "domain"),
        ({"dom": "vm1--incoming"}, "domain"),
        ({"ssh_command": ""}, "ssh_command"),
        ({"ssh_command": "ssh"}, "ssh_command"),
        ({"ssh_command": SSH + "; reboot"}, "ssh_command"),
        ({"ssh_command": SSH.replace("-p 22", "-p 022")}, "ssh_command"),
        ({"ssh_command": SSH.replace("BatchMode=yes", "BatchMode=no")}, "ssh_command"),
        ({"ssh_command": SSH.replace(KEY, "/root/$(id)")}, "key_path"),
        ({"config_path": "/etc/rc.conf"}, "config"),
        ({"config_path": "/usr/local/etc/xen/xenpanel/../../rc.conf"}, "config"),
        ({"paused": "yes"}, "paused"),
        ({"no_wait": 1}, "no_wait"),
        ({"debug": None}, "debug"),
    ],
)
def test_xl_migrate_refuses_bad_input(kwargs: dict[str, object], field: str) -> None:
    args: dict[str, object] = {"dom": "vm1", "host": "xen-b", **kwargs}
    refused(field, c.xl_migrate, args.pop("dom"), args.pop("host"), **args)


def test_migration_host_forms() -> None:
    assert migration_host(" xen-b.example.org ") == "xen-b.example.org"
    assert migration_host("10.0.0.2") == "10.0.0.2"
    refused("target", migration_host, 5, "target")
