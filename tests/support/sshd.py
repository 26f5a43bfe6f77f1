"""Start and stop a throwaway OpenSSH sshd on 127.0.0.1 for tests that need a real SSH server.

Works as root (the usual case here) and as an ordinary user (who can then only log in as
themself). Needs /usr/sbin/sshd (Debian: `apt-get install openssh-server`) and ssh-keygen.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from xenpanel.devservices import free_port

SSHD = "/usr/sbin/sshd"


@dataclass
class SshdInfo:
    port: int
    host_key_line: str  # "ssh-ed25519 AAAA..." — what a host record pins
    client_key_path: str  # the private key authorized to log in
    process: subprocess.Popen[bytes]
    user: str
    workdir: Path
    host_key_path: str  # the private host key; "<path>.pub" is the public one
    log_path: str


def sshd_available() -> bool:
    """Tell whether an OpenSSH sshd can be started on this machine."""
    return os.access(SSHD, os.X_OK)


def make_key(path: Path, comment: str = "xenpanel-test") -> str:
    """Create an ed25519 key pair at path (no passphrase); return the public "type base64" part."""
    if not path.exists():
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
            check=True,
            capture_output=True,
        )
    return " ".join(path.with_name(path.name + ".pub").read_text().split()[:2])


def _config(workdir: Path, port: int, host_key: Path, set_env: Mapping[str, str] | None) -> str:
    lines = [
        "ListenAddress 127.0.0.1",
        f"Port {port}",
        f"HostKey {host_key}",
        f"PidFile {workdir / 'sshd.pid'}",
        f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "PermitRootLogin prohibit-password",
        "UsePAM no",
        "StrictModes no",
        "UseDNS no",
        "PrintMotd no",
        "Subsystem sftp internal-sftp",
    ]
    if set_env:
        lines.append("SetEnv " + " ".join(f"{k}={v}" for k, v in set_env.items()))
    return "\n".join(lines) + "\n"


def _wait_listening(proc: subprocess.Popen[bytes], port: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                if s.recv(4).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def start_sshd(
    workdir: Path | str,
    *,
    set_env: Mapping[str, str] | None = None,
    extra_authorized_keys: Sequence[str] = (),
    timeout: float = 10.0,
) -> SshdInfo:
    """Start sshd in the foreground on a free loopback port; return how to reach it.

    `set_env` is applied to every session with sshd's SetEnv (e.g. PATH for the simulator's shims;
    note that the login shell's start-up files may still change PATH).
    """
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    host_key = workdir / "ssh_host_ed25519_key"
    client_key = workdir / "client_ed25519"
    host_key_line = make_key(host_key, "xenpanel-test-host")
    client_line = make_key(client_key, "xenpanel-test-client")
    (workdir / "authorized_keys").write_text(
        "".join(f"{line}\n" for line in [client_line, *extra_authorized_keys])
    )
    if os.geteuid() == 0:
        # sshd refuses to start as root without its privilege-separation directory.
        os.makedirs("/run/sshd", exist_ok=True)
    cfg_path = workdir / "sshd_config"
    log_path = workdir / "sshd.log"
    last_log = ""
    for _attempt in range(3):  # the free port may be taken between probing and binding
        port = free_port()
        cfg_path.write_text(_config(workdir, port, host_key, set_env))
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(cfg_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if _wait_listening(proc, port, time.monotonic() + timeout):
            return SshdInfo(
                port=port,
                host_key_line=host_key_line,
                client_key_path=str(client_key),
                process=proc,
                user=getpass.getuser(),
                workdir=workdir,
                host_key_path=str(host_key),
                log_path=str(log_path),
            )
        _terminate(proc)
        last_log = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"sshd did not start; its log ends with:\n{last_log}")


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop_sshd(info: SshdInfo) -> None:
    """Stop the sshd started by start_sshd (its listener; sessions end with their connections)."""
    _terminate(info.process)
