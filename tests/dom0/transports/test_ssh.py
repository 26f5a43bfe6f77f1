"""SSHTransport against a real OpenSSH sshd on 127.0.0.1 (the conftest starts it once)."""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from dom0 import errors
from dom0.transport import (
    CANCELLED_RC,
    SSHTransport,
    TransportConfig,
    fetch_host_key,
)
from tests.dom0.transports.procs import group_ends
from tests.support.sshd import SshdInfo, make_key
from xenpanel.devservices import free_port

pytestmark = pytest.mark.slow

AWKWARD = ["a b", "it's", "$HOME", ";", "`id`", "*", '"q"', "", "-n", "x\ny", "back\\slash", "ü"]


def test_it_quotes_every_argv_element(ssh: SSHTransport) -> None:
    res = ssh.run(["printf", "[%s]\\n", *AWKWARD], timeout=10)
    assert res.ok, res.stderr
    assert res.stdout == "".join(f"[{arg}]\n" for arg in AWKWARD)
    assert res.stderr == ""  # the pid report is taken out


def test_it_reports_exit_codes_and_stderr(ssh: SSHTransport) -> None:
    res = ssh.run(["sh", "-c", "echo out; echo oops >&2; exit 7"], timeout=10)
    assert (res.rc, res.stdout, res.stderr) == (7, "out\n", "oops\n")
    assert ssh.run(["xenpanel-no-such-tool"], timeout=10).rc == 127


def test_it_feeds_stdin(ssh: SSHTransport) -> None:
    assert ssh.run(["cat"], timeout=10, stdin=b"name = 'vm1'\n").stdout == "name = 'vm1'\n"


def test_it_reuses_one_connection(ssh: SSHTransport) -> None:
    ssh.run(["true"], timeout=10)
    first = ssh.connection()
    ssh.run(["true"], timeout=10)
    assert ssh.connection() is first


def test_it_reconnects_after_close(ssh: SSHTransport) -> None:
    ssh.run(["true"], timeout=10)
    ssh.close()
    assert ssh.run(["echo", "again"], timeout=10).stdout == "again\n"


def test_it_kills_the_remote_command_on_timeout(ssh: SSHTransport) -> None:
    cmd = ssh.start(["sh", "-c", "sleep 30 & sleep 30"], timeout=1)
    began = time.monotonic()
    with pytest.raises(errors.CommandTimeout):
        cmd.wait()
    assert time.monotonic() - began < 4
    assert cmd.remote_pid is not None and group_ends(cmd.remote_pid)


def test_it_polls_then_cancels_a_long_command(ssh: SSHTransport) -> None:
    cmd = ssh.start(["sh", "-c", "sleep 30 & sleep 30"], timeout=60)
    assert cmd.poll() is None
    deadline = time.monotonic() + 5
    while cmd.remote_pid is None and time.monotonic() < deadline:
        time.sleep(0.02)
    res = cmd.cancel()
    assert res.rc == CANCELLED_RC
    assert cmd.remote_pid is not None and group_ends(cmd.remote_pid)
    assert ssh.run(["echo", "still usable"], timeout=10).ok


def test_it_kills_with_the_hosts_kill_even_with_a_tool_dir(
    ssh_cfg: TransportConfig, tmp_path: Path
) -> None:
    with SSHTransport(dataclasses.replace(ssh_cfg, tool_dir=str(tmp_path))) as t:
        cmd = t.start(["/bin/sh", "-c", "sleep 30"], timeout=1)
        with pytest.raises(errors.CommandTimeout):
            cmd.wait()
    assert cmd.remote_pid is not None and group_ends(cmd.remote_pid)


def test_it_waits_for_a_started_command(ssh: SSHTransport) -> None:
    cmd = ssh.start(["sh", "-c", "sleep 0.2; echo done"], timeout=10)
    res = cmd.wait()
    assert (res.rc, res.stdout, res.stderr) == (0, "done\n", "")


def test_it_runs_bare_programs_from_tool_dir(ssh_cfg: TransportConfig, tmp_path: Path) -> None:
    shim = tmp_path / "xl"
    shim.write_text('#!/bin/sh\nprintf "shim[%s]" "$@"\n')
    shim.chmod(0o755)
    with SSHTransport(dataclasses.replace(ssh_cfg, tool_dir=str(tmp_path))) as t:
        assert t.run(["xl", "a b", "$X"], timeout=10).stdout == "shim[a b]shim[$X]"


def test_it_writes_reads_stats_and_removes(ssh: SSHTransport, tmp_path: Path) -> None:
    path = str(tmp_path / "sub" / "vm1.cfg")
    ssh.makedirs(str(tmp_path / "sub"))
    ssh.write_file(path, b"name = 'vm1'\n", mode=0o600)
    assert ssh.read_file(path) == b"name = 'vm1'\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    st = ssh.stat(path)
    assert st is not None and (st.size, st.is_dir) == (13, False)
    assert ssh.stat(str(tmp_path / "sub")).is_dir  # type: ignore[union-attr]
    ssh.write_file(path, b"replaced")
    assert ssh.read_file(path) == b"replaced"
    assert os.listdir(tmp_path / "sub") == ["vm1.cfg"]  # no temp file left behind
    ssh.remove(path)
    ssh.remove(path)  # missing is fine
    assert ssh.stat(path) is None


def test_it_makes_nested_directories(ssh: SSHTransport, tmp_path: Path) -> None:
    ssh.makedirs(str(tmp_path / "a" / "b" / "c"))
    ssh.makedirs(str(tmp_path / "a" / "b" / "c"))
    assert (tmp_path / "a" / "b" / "c").is_dir()


def test_it_reports_missing_files(ssh: SSHTransport, tmp_path: Path) -> None:
    with pytest.raises(errors.RemoteFileMissing):
        ssh.read_file(str(tmp_path / "nope"))
    with pytest.raises(errors.RemoteFileMissing):
        ssh.write_file(str(tmp_path / "no" / "dir" / "f"), b"x")


def test_it_puts_a_file_with_progress(ssh: SSHTransport, tmp_path: Path) -> None:
    src = tmp_path / "local.iso"
    src.write_bytes(os.urandom(300_000))
    dest = tmp_path / "remote"
    dest.mkdir()
    seen: list[tuple[int, int]] = []
    ssh.put_file(str(src), str(dest / "x.iso"), progress=lambda d, t: seen.append((d, t)))
    assert (dest / "x.iso").read_bytes() == src.read_bytes()
    assert seen[-1] == (300_000, 300_000)
    assert len(seen) > 1
    assert os.listdir(dest) == ["x.iso"]


def test_it_maps_file_paths_under_fs_root(ssh_cfg: TransportConfig, tmp_path: Path) -> None:
    with SSHTransport(dataclasses.replace(ssh_cfg, fs_root=str(tmp_path))) as t:
        t.makedirs("/etc")
        t.write_file("/etc/ttys", b"xc0\n")
    assert (tmp_path / "etc" / "ttys").read_bytes() == b"xc0\n"


def test_fetch_host_key_matches_ssh_keygen(sshd: SshdInfo) -> None:
    info = fetch_host_key("127.0.0.1", sshd.port, timeout=5)
    keygen = subprocess.run(
        ["ssh-keygen", "-lf", sshd.host_key_path + ".pub"], capture_output=True, text=True
    ).stdout.split()
    assert info.fingerprint_sha256 == keygen[1]
    assert info.openssh_line == sshd.host_key_line
    assert info.key_type == "ssh-ed25519"


def test_fetch_host_key_unreachable() -> None:
    with pytest.raises(errors.HostUnreachable):
        fetch_host_key("127.0.0.1", free_port(), timeout=2)


def test_it_refuses_a_different_host_key(ssh_cfg: TransportConfig, tmp_path: Path) -> None:
    other = make_key(tmp_path / "other_host_key")
    with SSHTransport(dataclasses.replace(ssh_cfg, known_host_key=other)) as t:
        with pytest.raises(errors.HostKeyMismatch) as caught:
            t.run(["true"], timeout=10)
    expected = subprocess.run(
        ["ssh-keygen", "-lf", str(tmp_path / "other_host_key.pub")], capture_output=True, text=True
    ).stdout.split()[1]
    received = fetch_host_key("127.0.0.1", ssh_cfg.port).fingerprint_sha256
    assert expected in str(caught.value) and received in str(caught.value)


def test_it_refuses_to_connect_without_a_pin(ssh_cfg: TransportConfig) -> None:
    # A port with nothing listening: the refusal must come before any connection attempt.
    cfg = dataclasses.replace(ssh_cfg, known_host_key="", port=free_port())
    with SSHTransport(cfg) as t, pytest.raises(errors.HostKeyMismatch) as caught:
        t.run(["true"], timeout=10)
    assert "fingerprint" in str(caught.value)


def test_it_rejects_a_malformed_pin(ssh_cfg: TransportConfig) -> None:
    with SSHTransport(dataclasses.replace(ssh_cfg, known_host_key="ssh-ed25519 !!!")) as t:
        with pytest.raises(errors.ValidationError):
            t.run(["true"], timeout=10)


def test_it_reports_a_wrong_port_as_unreachable(ssh_cfg: TransportConfig) -> None:
    with SSHTransport(dataclasses.replace(ssh_cfg, port=free_port())) as t:
        with pytest.raises(errors.HostUnreachable) as caught:
            t.run(["true"], timeout=10)
    assert not isinstance(caught.value, errors.HostKeyMismatch)


def test_it_reports_a_refused_client_key_as_unreachable(
    ssh_cfg: TransportConfig, tmp_path: Path
) -> None:
    make_key(tmp_path / "stranger")
    with SSHTransport(dataclasses.replace(ssh_cfg, key_path=str(tmp_path / "stranger"))) as t:
        with pytest.raises(errors.HostUnreachable) as caught:
            t.stat("/")
    assert "authentication" in str(caught.value)


def test_it_times_out_when_the_command_does_not_read_its_input(ssh: SSHTransport) -> None:
    began = time.monotonic()
    with pytest.raises(errors.CommandTimeout):
        ssh.run(["sleep", "30"], timeout=1, stdin=b"x" * 8_000_000)
    assert time.monotonic() - began < 4


def test_it_reaches_the_simulator_through_shims(ssh_cfg: TransportConfig, tmp_path: Path) -> None:
    from dom0.sim import make_shims, seed_host

    host = seed_host(tmp_path / "host")
    shims = make_shims(tmp_path / "host", tmp_path / "shims")
    cfg = dataclasses.replace(ssh_cfg, tool_dir=str(shims), fs_root=str(host.root))
    with SSHTransport(cfg) as t:
        res = t.run(["xl", "list"], timeout=30)
        assert res.ok, res.stderr
        assert "Domain-0" in res.stdout
        t.makedirs("/usr/local/etc/xen")
        t.write_file("/usr/local/etc/xen/vm1.cfg", b"name = 'vm1'\n")
    assert host.path("/usr/local/etc/xen/vm1.cfg").read_bytes() == b"name = 'vm1'\n"
