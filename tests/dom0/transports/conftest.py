"""Fixtures for transport tests: a real OpenSSH sshd on 127.0.0.1 for the whole session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dom0.transport import SSHTransport, TransportConfig
from tests.support.sshd import SshdInfo, sshd_available, start_sshd, stop_sshd


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdInfo]:
    if not sshd_available():
        pytest.skip("no /usr/sbin/sshd here (apt-get install openssh-server)")
    info = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield info
    stop_sshd(info)


@pytest.fixture
def ssh_cfg(sshd: SshdInfo) -> TransportConfig:
    return TransportConfig(
        kind="ssh",
        address="127.0.0.1",
        port=sshd.port,
        user=sshd.user,
        key_path=sshd.client_key_path,
        known_host_key=sshd.host_key_line,
        connect_timeout=5.0,
    )


@pytest.fixture
def ssh(ssh_cfg: TransportConfig) -> Iterator[SSHTransport]:
    with SSHTransport(ssh_cfg) as transport:
        yield transport


@pytest.fixture
def remote_dir(ssh: SSHTransport, tmp_path: Path) -> Path:
    """A directory the SSH user can write to (same machine, so also visible locally)."""
    return tmp_path
