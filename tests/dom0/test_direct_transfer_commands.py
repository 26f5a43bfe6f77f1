"""The direct Dom0 -> Dom0 pipeline and the migration access files: pure builders (no I/O)."""

from __future__ import annotations

import base64
import shlex
import subprocess

import pytest

from dom0 import migration_access as acc
from dom0 import migration_commands as m
from dom0.errors import ValidationError

SEND = m.zfs_send("zroot/xen/db1-disk0@migrate-7", verbose=True, parsable=True)
RECV = m.zfs_recv("zroot/xen/db1-disk0")
KEY = "ssh-ed25519 " + base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519" + bytes(36)).decode()


def words(host: str = "xen-b", port: int = 22) -> list[str]:
    return m.direct_ssh_words("root", acc.MIGRATE_KEY, acc.MIGRATE_KNOWN_HOSTS, port, host)


def test_direct_send_is_one_plain_pipeline_that_sh_splits_into_exactly_these_words():
    argv = m.direct_send(SEND, words(), RECV)
    assert argv[:2] == ["sh", "-c"]
    left, right = argv[2].split(" | ")
    assert shlex.split(left) == SEND
    assert shlex.split(right) == [*words(), *RECV]
    # A real sh agrees: print the words of each half instead of running them.
    probe = subprocess.run(
        ["sh", "-c", "printf '%s\\n' " + left], capture_output=True, text=True, check=True
    )
    assert probe.stdout.splitlines() == SEND
    assert "StrictHostKeyChecking=yes" in right and "BatchMode=yes" in right


def test_resume_and_ipv6_targets_compose():
    token = "1-abc-12-" + "00ff" * 4
    argv = m.direct_send(
        m.zfs_send_resume(token, verbose=True, parsable=True), words("fd00::2", 2222), RECV
    )
    assert "-t " + token in argv[2] and "-p 2222 -l root fd00::2 zfs recv -s" in argv[2]


@pytest.mark.parametrize(
    "send,ssh,recv",
    [
        (["zfs", "send", "a@b;reboot"], None, None),
        (["zfs", "send", "$(id)"], None, None),
        (["zfs", "destroy", "zroot/xen/x"], None, None),
        (["zfs", "send"], None, None),
        (None, ["ssh", "-o", "ProxyCommand=sh", "xen-b"], None),
        (None, "ssh xen-b", None),
        (None, None, ["zfs", "recv", "-s", "a b"]),
        (None, None, ["sh", "-c", "zfs recv x"]),
    ],
)
def test_direct_send_refuses_anything_not_built_by_the_builders(send, ssh, recv):
    with pytest.raises(ValidationError):
        m.direct_send(send or SEND, ssh if ssh is not None else words(), recv or RECV)


def test_direct_ssh_words_refuse_bad_parts():
    for bad in ("xen-b;id", "-oProxyCommand=x", "a b", ""):
        with pytest.raises(ValidationError):
            words(bad)
    with pytest.raises(ValidationError):
        m.direct_ssh_words("root;id", acc.MIGRATE_KEY, acc.MIGRATE_KNOWN_HOSTS, 22, "xen-b")
    with pytest.raises(ValidationError):
        m.direct_ssh_words("root", "/tmp/a key", acc.MIGRATE_KNOWN_HOSTS, 22, "xen-b")


def test_keygen_argv_and_comment():
    assert acc.ssh_keygen_migrate("xen-a") == [
        "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "xenpanel-migrate@xen-a",
        "-f", "/usr/local/etc/xenpanel/migrate_key",
    ]  # fmt: skip
    with pytest.raises(ValidationError):
        acc.ssh_keygen_migrate("a;b")


def test_public_key_line_accepts_one_ed25519_line_only():
    assert acc.public_key_line(KEY + " xenpanel-migrate@xen-a\n") == KEY + " xenpanel-migrate@xen-a"
    for bad in (
        f'command="id" {KEY}',
        KEY + "\n" + KEY,
        "ssh-rsa AAAAB3NzaC1yc2E= x",
        "ssh-ed25519 AAAAB3NzaC1yc2E= x",
        KEY + " bad;comment",
    ):
        with pytest.raises(ValidationError):
            acc.public_key_line(bad)


def test_authorized_keys_hold_one_restricted_line_per_key():
    line = acc.authorized_key_line(KEY + " c", "10.0.0.1")
    assert line == f'from="10.0.0.1",restrict {KEY} c'
    # sshd matches a host name in from= only with UseDNS yes: a name gives `restrict` alone.
    assert acc.authorized_key_line(KEY + " c", "xen-a.example.org") == f"restrict {KEY} c"
    assert acc.authorized_key_line(KEY, "fd00::1") == f'from="fd00::1",restrict {KEY}'
    first, added = acc.with_authorized_key("ssh-rsa AAAA other@x", line)
    assert added and first == f"ssh-rsa AAAA other@x\n{line}\n"
    again, added = acc.with_authorized_key(first, line)
    assert not added and again == first
    # An older, unrestricted line of the same key (by its blob) is replaced, not kept beside.
    upgraded, added = acc.with_authorized_key(f"{KEY} c\nssh-rsa AAAA other@x\n", line)
    assert added and upgraded == f"ssh-rsa AAAA other@x\n{line}\n"
    with pytest.raises(ValidationError):
        acc.authorized_key_line(f'command="id" {KEY}', "10.0.0.1")


def test_home_is_read_with_getent_and_parsed():
    assert acc.getent_passwd("xen") == ["getent", "passwd", "xen"]
    with pytest.raises(ValidationError):
        acc.getent_passwd("-x")
    assert acc.parse_home("root:*:0:0:Charlie &:/root:/bin/sh\n", "root") == "/root"
    assert acc.parse_home("xen:*:1001:1001:x:/usr/home/xen:/bin/sh\n", "xen") == "/usr/home/xen"
    assert acc.authorized_keys_path("/usr/home/xen") == "/usr/home/xen/.ssh/authorized_keys"
    assert acc.authorized_keys_path("/root") == "/root/.ssh/authorized_keys"
    for bad in ("", "other:*:1:1::/home/other:/bin/sh", "xen:*:1:1::/home/x y:/bin/sh",
                "xen:*:1:1::/home/../etc:/bin/sh", "xen:*:1:1::home:/bin/sh"):  # fmt: skip
        with pytest.raises(ValidationError):
            acc.parse_home(bad, "xen")


def test_the_simulator_answers_getent_passwd(tmp_path):
    from dom0.sim import seed_host

    host = seed_host(tmp_path / "xen-a", hostname="xen-a")
    assert host.run(["getent", "passwd", "root"]).stdout.split(":")[5] == "/root"
    result = host.run(acc.getent_passwd("xen"))
    assert result.rc == 0 and acc.parse_home(result.stdout, "xen") == "/home/xen"
    assert host.run(["getent", "hosts", "x"]).rc == 1


def test_only_the_pinned_key_counts():
    assert "-o GlobalKnownHostsFile=/dev/null" in " ".join(words())
    assert "-o GlobalKnownHostsFile=/dev/null -p 22 -l root" in m.migrate_ssh_command(
        "root", acc.MIGRATE_KEY, acc.MIGRATE_KNOWN_HOSTS, 22
    )


@pytest.mark.parametrize(
    "send",
    [
        ["zfs", "send", "-n", "-v", "-P", "zroot/xen/db1-disk0@m"],  # a dry run sends nothing
        ["zfs", "send", "-R", "zroot/xen/db1-disk0@m"],  # a flag the builder never writes
        ["zfs", "send", "-c", "-c", "zroot/xen/db1-disk0@m"],
        ["zfs", "send", "-P", "-c", "zroot/xen/db1-disk0@m"],  # another order
        ["zfs", "send", "-c", "zroot/xen/db1-disk0@m", "zroot/xen/other@m"],
        ["zfs", "send", "-c", "-i", "@a", "-i", "@b", "zroot/xen/db1-disk0@m"],
        ["zfs", "send", "-t", "1-ab-12-00ff", "-v"],
        ["zfs", "send", "-c", "-t", "1-ab-12-00ff"],
        ["zfs", "send", "-c", "zroot/xen/db1-disk0"],  # not a snapshot
    ],
)
def test_direct_send_takes_only_the_send_shapes_the_builders_make(send):
    with pytest.raises(ValidationError):
        m.direct_send(send, words(), RECV)


@pytest.mark.parametrize(
    "recv",
    [
        ["zfs", "recv", "-s", "-F", "zroot/xen/db1-disk0"],
        ["zfs", "recv", "-u", "zroot/xen/db1-disk0"],
        ["zfs", "recv", "-o", "mountpoint=/x", "zroot/xen/db1-disk0"],
        ["zfs", "recv", "zroot"],
        ["zfs", "recv", "-A", "zroot/xen/db1-disk0"],
    ],
)
def test_direct_send_takes_only_the_recv_shapes_the_builder_makes(recv):
    with pytest.raises(ValidationError):
        m.direct_send(SEND, words(), recv)


def test_direct_send_takes_every_shape_the_migration_builds():
    for send in (
        SEND,
        m.zfs_send(
            "zroot/xen/db1-disk0@m-final", incremental_from="@m", verbose=True, parsable=True
        ),  # fmt: skip
        m.zfs_send("zroot/xen/db1-disk0@m", compressed=False),
        m.zfs_send_resume("1-ab-12-00ff"),
    ):
        for recv in (RECV, m.zfs_recv("zroot/xen/db1-disk0", force=True)):
            assert m.direct_send(send, words(), recv)[2].startswith(" ".join(send) + " | ssh ")


def test_known_hosts_lines_pin_by_name_and_port():
    assert acc.known_hosts_line("10.0.0.2", 22, KEY) == f"10.0.0.2 {KEY}"
    assert acc.known_hosts_line("xen-b", 2222, KEY + " c") == f"[xen-b]:2222 {KEY}"
    text, changed = acc.with_known_host(acc.KNOWN_HOSTS_HEADER, f"xen-b {KEY}")
    assert changed and text.endswith(f"xen-b {KEY}\n")
    same, changed = acc.with_known_host(text, f"xen-b {KEY}")
    assert not changed and same == text
    new_key = KEY[:-4] + "AAAB"
    replaced, changed = acc.with_known_host(text, f"xen-b {new_key}")
    assert changed and KEY not in replaced and replaced.count("xen-b ") == 1
    with pytest.raises(ValidationError):
        acc.known_hosts_line("x;y", 22, KEY)
    with pytest.raises(ValidationError):
        acc.known_hosts_line("xen-b", 22, "garbage")


def test_chmod_private_only_takes_an_ssh_dir():
    assert acc.chmod_private("/root/.ssh") == ["chmod", "700", "/root/.ssh"]
    for bad in ("/etc", "/root/../etc/.ssh", "/root/.ssh;id"):
        with pytest.raises(ValidationError):
            acc.chmod_private(bad)
