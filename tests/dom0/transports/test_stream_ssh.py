"""SSHTransport.stream and relay() through two SSH connections to a real sshd on 127.0.0.1."""

from __future__ import annotations

import hashlib
import logging
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dom0 import errors
from dom0.transport import CANCELLED_RC, SSHTransport, TransportConfig
from dom0.transports.relay import RelayFailed, relay
from tests.dom0.transports.procs import group_ends
from tests.support.sshd import SshdInfo, start_sshd, stop_sshd

pytestmark = pytest.mark.slow

AWKWARD = ["a b", "it's", "$HOME", ";", "`id`", "*", '"q"', "", "-n", "ü"]


def _data(size: int) -> bytes:
    return random.Random(14).randbytes(size)


def test_it_streams_with_every_argv_element_quoted(ssh: SSHTransport) -> None:
    cmd = ssh.stream(["sh", "-c", 'cat; printf "[%s]" "$@"', "sh", *AWKWARD], timeout=10)
    cmd.stdin.write(b"in:")
    cmd.stdin.close()
    out = bytearray()
    while data := cmd.stdout.read(65536):
        out.extend(data)
    assert out.decode() == "in:" + "".join(f"[{a}]" for a in AWKWARD)
    res = cmd.wait()
    assert res.ok and res.stderr == ""  # the pid report is taken out


def test_it_yields_stderr_lines_while_the_command_runs(ssh: SSHTransport) -> None:
    script = "echo '12:00:01\t1024\tp/v@s' >&2; sleep 0.5; echo '12:00:02\t2048\tp/v@s' >&2"
    cmd = ssh.stream(["sh", "-c", script], timeout=10)
    lines = cmd.stderr_lines()
    assert next(lines) == "12:00:01\t1024\tp/v@s"
    assert cmd.poll() is None
    assert list(lines) == ["12:00:02\t2048\tp/v@s"]
    assert cmd.wait().ok


def test_it_kills_the_remote_group_at_the_deadline(ssh: SSHTransport) -> None:
    cmd = ssh.stream(["sh", "-c", "sleep 30 & sleep 30"], timeout=1)
    began = time.monotonic()
    assert cmd.stdout.read(10) == b""
    assert time.monotonic() - began < 5
    with pytest.raises(errors.CommandTimeout):
        cmd.wait()
    assert cmd.remote_pid is not None and group_ends(cmd.remote_pid)
    assert ssh.run(["echo", "still usable"], timeout=10).ok


def test_it_cancels_the_remote_group(ssh: SSHTransport) -> None:
    cmd = ssh.stream(["sh", "-c", "sleep 30 & sleep 30"], timeout=60)
    assert cmd.poll() is None
    time.sleep(0.3)  # let the pid report arrive (cancel also waits for it)
    assert cmd.cancel().rc == CANCELLED_RC
    assert cmd.remote_pid is not None and group_ends(cmd.remote_pid)


def test_it_relays_between_two_connections(ssh_cfg: TransportConfig, tmp_path: Path) -> None:
    data = _data(48 * 1024 * 1024)
    (tmp_path / "vol").write_bytes(data)
    with SSHTransport(ssh_cfg) as a, SSHTransport(ssh_cfg) as b:
        source = a.stream(["cat", str(tmp_path / "vol")], timeout=60)
        sink = b.stream(["sha256sum"], timeout=60)
        result = relay(source, sink, chunk=256 * 1024)
    assert result.bytes == len(data)
    assert result.sink_result.stdout.split()[0] == hashlib.sha256(data).hexdigest()


def test_it_names_the_failing_side(ssh_cfg: TransportConfig) -> None:
    with SSHTransport(ssh_cfg) as a, SSHTransport(ssh_cfg) as b:
        source = a.stream(["sh", "-c", "exec cat /dev/zero"], timeout=30)
        script = (
            "head -c 100 >/dev/null; echo 'cannot receive: failed to read from stream' >&2; exit 1"
        )
        sink = b.stream(["sh", "-c", script], timeout=30)
        with pytest.raises(RelayFailed) as caught:
            relay(source, sink)
        assert caught.value.side == "sink" and "failed to read from stream" in str(caught.value)
        pid = source.remote_pid  # type: ignore[attr-defined]
        assert pid is not None and group_ends(pid)
        assert a.run(["true"], timeout=10).ok and b.run(["true"], timeout=10).ok


# -- rekeying: sshd starts it (paramiko's own start is switched off, see ssh.py) ------------------


@pytest.fixture(scope="module")
def rekeying_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdInfo]:
    info = start_sshd(tmp_path_factory.mktemp("sshd-rekey"))
    # sshd re-reads its config when it re-executes itself on SIGHUP; the port stays the same.
    with open(info.workdir / "sshd_config", "a") as cfg:
        cfg.write("RekeyLimit 8M\n")
    os.kill(info.process.pid, signal.SIGHUP)
    time.sleep(1.0)
    yield info
    stop_sshd(info)


def test_it_survives_rekeys_the_server_starts_mid_stream(
    rekeying_sshd: SshdInfo, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = TransportConfig(
        kind="ssh",
        address="127.0.0.1",
        port=rekeying_sshd.port,
        user=rekeying_sshd.user,
        key_path=rekeying_sshd.client_key_path,
        known_host_key=rekeying_sshd.host_key_line,
        connect_timeout=5.0,
    )
    data = _data(64 * 1024 * 1024)
    (tmp_path / "vol").write_bytes(data)
    caplog.set_level(logging.DEBUG, logger="paramiko.transport")
    with SSHTransport(cfg) as a, SSHTransport(cfg) as b:
        source = a.stream(["cat", str(tmp_path / "vol")], timeout=120)
        sink = b.stream(["sha256sum"], timeout=120)
        result = relay(source, sink)
    assert result.sink_result.stdout.split()[0] == hashlib.sha256(data).hexdigest()
    new_keys = [r for r in caplog.records if "Switch to new keys" in r.getMessage()]
    assert len(new_keys) > 2 + 4  # two initial key exchanges, then sshd's rekeys every 8 MiB
