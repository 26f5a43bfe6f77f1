"""SSHTransport: paramiko, key auth only, one pinned host key, SFTP for files.

Commands and how they are stopped on timeout or cancel: see `sshcommand`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat as stat_mod
from collections.abc import Callable, Iterator, Sequence

import paramiko

from dom0 import errors
from dom0.transports.base import (
    ClosingMixin,
    FileStat,
    ProgressCallback,
    Result,
    TransportConfig,
    check_argv,
    host_path,
    temp_sibling,
    with_tool_dir,
)
from dom0.transports.hostkeys import fingerprint_sha256, parse_pinned_key
from dom0.transports.sshcommand import SSHCommand, SSHStream, remote_command

__all__ = ["SSHCommand", "SSHStream", "SSHTransport", "remote_command"]

#: Bytes (and packets) after which paramiko itself would start a rekey; see `_connect`.
CLIENT_REKEY_LIMIT = 2**62


class SSHTransport(ClosingMixin):
    """Commands and files over one SSH connection, opened on first use and then reused."""

    def __init__(self, cfg: TransportConfig) -> None:
        self.cfg = cfg
        self._client: paramiko.SSHClient | None = None
        self._sftp_client: paramiko.SFTPClient | None = None

    # -- connection -------------------------------------------------------------------------

    @property
    def channel_timeout(self) -> float:
        return self.cfg.connect_timeout

    @property
    def _where(self) -> str:
        return f"{self.cfg.user}@{self.cfg.address}:{self.cfg.port}"

    def connection(self) -> paramiko.Transport:
        """Return the live paramiko Transport, connecting (and checking the host key) if needed."""
        if self._client is not None:
            live = self._client.get_transport()
            if live is not None and live.is_active():
                return live
            self.close()
        self._client = self._connect()
        live = self._client.get_transport()
        assert live is not None
        return live

    def _connect(self) -> paramiko.SSHClient:
        cfg = self.cfg
        if not cfg.known_host_key.strip():
            raise errors.HostKeyMismatch(
                f"No SSH host key is pinned for {cfg.address}:{cfg.port}; refusing to connect.",
                hint="fetch the host's key, compare its SHA256 fingerprint with the output of "
                "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` run on the host itself, "
                "and save it on the host record",
            )
        pinned = parse_pinned_key(cfg.known_host_key)
        client = paramiko.SSHClient()
        known = client.get_host_keys()
        for name in {cfg.address, f"[{cfg.address}]:{cfg.port}"}:
            known.add(name, pinned.get_name(), pinned)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        t = cfg.connect_timeout
        try:
            client.connect(
                hostname=cfg.address,
                port=cfg.port,
                username=cfg.user,
                key_filename=cfg.key_path or None,
                timeout=t,
                banner_timeout=t,
                auth_timeout=t,
                channel_timeout=t,
                look_for_keys=False,
                allow_agent=False,
            )
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise self._mismatch(exc) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise errors.HostUnreachable(
                f"SSH authentication as {self._where} failed: {exc}",
                hint="is the panel's public key in the user's authorized_keys on the host?",
            ) from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            client.close()
            raise errors.HostUnreachable(
                f"cannot reach {self._where} over SSH: {str(exc) or type(exc).__name__}"
            ) from exc
        live = client.get_transport()
        if live is not None:
            live.set_keepalive(15)
            # paramiko starts a rekey after 512 MiB either way, and a rekey it starts while a
            # channel streams can stall until "Key-exchange timed out waiting for key
            # negotiation" (paramiko#822, still open; reproduced here on the second 512 MiB read
            # from `cat`). Leave rekeying to sshd, which rekeys on its own RekeyLimit
            # (sshd_config(5): "between 1G and 4G, depending on the cipher");
            # tests/dom0/transports/test_stream_ssh.py checks that a rekey sshd starts
            # mid-stream goes through.
            live.packetizer.REKEY_BYTES = CLIENT_REKEY_LIMIT
            live.packetizer.REKEY_PACKETS = CLIENT_REKEY_LIMIT
        return client

    def _mismatch(self, exc: paramiko.BadHostKeyException) -> errors.HostKeyMismatch:
        expected = fingerprint_sha256(exc.expected_key.asbytes())
        received = fingerprint_sha256(exc.key.asbytes())
        return errors.HostKeyMismatch(
            f"SSH host key of {self.cfg.address}:{self.cfg.port} does not match the pinned key: "
            f"expected {expected} ({exc.expected_key.get_name()}), "
            f"received {received} ({exc.key.get_name()}); refusing to connect.",
            hint="if the host was reinstalled, confirm the new fingerprint on the host and pin "
            "it again; otherwise someone may be intercepting the connection",
        )

    @contextlib.contextmanager
    def ssh_errors(self) -> Iterator[None]:
        """Turn a dropped connection into HostUnreachable."""
        try:
            yield
        except errors.Dom0Error:
            raise
        except (paramiko.SSHException, EOFError, ConnectionError, TimeoutError) as exc:
            self.close()
            raise errors.HostUnreachable(
                f"SSH connection to {self._where} failed: {str(exc) or type(exc).__name__}"
            ) from exc

    def close(self) -> None:
        if self._sftp_client is not None:
            with contextlib.suppress(Exception):
                self._sftp_client.close()
            self._sftp_client = None
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None

    # -- commands ---------------------------------------------------------------------------

    def start(
        self, argv: Sequence[str], *, timeout: float, stdin: bytes | None = None
    ) -> SSHCommand:
        items = check_argv(argv)
        exec_argv = with_tool_dir(items, self.cfg.tool_dir)
        return SSHCommand(self, items, exec_argv, timeout=timeout, stdin=stdin)

    def run(self, argv: Sequence[str], *, timeout: float, stdin: bytes | None = None) -> Result:
        return self.start(argv, timeout=timeout, stdin=stdin).wait()

    def stream(self, argv: Sequence[str], *, timeout: float) -> SSHStream:
        """Start argv on its own channel of this connection, stdin/stdout live (see SSHStream)."""
        items = check_argv(argv)
        return SSHStream(self, items, with_tool_dir(items, self.cfg.tool_dir), timeout=timeout)

    def signal_remote(self, pid: int, signal_name: str) -> None:
        """Send a signal to a remote process group (falling back to the single process)."""
        with contextlib.suppress(errors.Dom0Error):
            res = self._run_untranslated(["kill", "-s", signal_name, "--", f"-{pid}"])
            if not res.ok:
                self._run_untranslated(["kill", "-s", signal_name, str(pid)])

    def _run_untranslated(self, argv: list[str]) -> Result:
        # The host's own kill, never a tool_dir shim of that name.
        return SSHCommand(self, argv, argv, timeout=10, stdin=None).wait()

    # -- files ------------------------------------------------------------------------------

    def _sftp(self) -> paramiko.SFTPClient:
        if self._sftp_client is not None and self._client is not None:
            live = self._client.get_transport()
            if live is not None and live.is_active():
                return self._sftp_client
        self.connection()
        assert self._client is not None
        with self.ssh_errors():
            self._sftp_client = self._client.open_sftp()
        return self._sftp_client

    @contextlib.contextmanager
    def _file_errors(self, path: str, verb: str) -> Iterator[None]:
        with self.ssh_errors():
            try:
                yield
            except FileNotFoundError as exc:
                raise errors.RemoteFileMissing(f"{path}: no such file or directory") from exc
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    raise errors.RemoteFileMissing(f"{path}: no such file or directory") from exc
                raise errors.Dom0Error(f"cannot {verb} {path} on {self._where}: {exc}") from exc

    def _r(self, path: str) -> str:
        return host_path(path, self.cfg.fs_root)

    def read_file(self, path: str) -> bytes:
        sftp = self._sftp()
        with self._file_errors(path, "read"), sftp.open(self._r(path), "rb") as f:
            f.prefetch()
            return f.read()

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        sftp = self._sftp()
        with self._file_errors(path, "read"), sftp.open(self._r(path), "rb") as f:
            f.seek(offset)
            return bytes(f.read(length))

    def stat(self, path: str) -> FileStat | None:
        sftp = self._sftp()
        try:
            with self._file_errors(path, "stat"):
                st = sftp.stat(self._r(path))
        except errors.RemoteFileMissing:
            return None
        return FileStat(
            size=int(st.st_size or 0),
            mtime=float(st.st_mtime or 0),
            is_dir=stat_mod.S_ISDIR(st.st_mode or 0),
        )

    def remove(self, path: str) -> None:
        sftp = self._sftp()
        with contextlib.suppress(errors.RemoteFileMissing), self._file_errors(path, "remove"):
            sftp.remove(self._r(path))

    def makedirs(self, path: str) -> None:
        sftp = self._sftp()
        target = self._r(path)
        with self._file_errors(path, "create directory"):
            missing: list[str] = []
            current = target
            while current not in ("", "/") and not self._isdir(sftp, current):
                missing.append(current)
                current = os.path.dirname(current)
            for directory in reversed(missing):
                try:
                    sftp.mkdir(directory)
                except OSError:
                    if not self._isdir(sftp, directory):  # lost a race with another creator
                        raise

    @staticmethod
    def _isdir(sftp: paramiko.SFTPClient, path: str) -> bool:
        try:
            return stat_mod.S_ISDIR(sftp.stat(path).st_mode or 0)
        except OSError:
            return False

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        def upload(sftp: paramiko.SFTPClient, tmp: str) -> None:
            with sftp.open(tmp, "wb") as f:
                # Narrow the mode before any data lands: configs can hold VNC passwords.
                sftp.chmod(tmp, 0o600)
                f.set_pipelined(True)
                f.write(data)

        self._atomic(path, mode, upload)

    def put_file(
        self, local_path: str, remote_path: str, progress: ProgressCallback | None = None
    ) -> None:
        if not os.path.isfile(local_path):
            raise errors.Dom0Error(f"local file {local_path} does not exist")

        def upload(sftp: paramiko.SFTPClient, tmp: str) -> None:
            sftp.put(local_path, tmp, callback=progress, confirm=True)

        self._atomic(remote_path, 0o644, upload)

    def _atomic(
        self, path: str, mode: int, upload: Callable[[paramiko.SFTPClient, str], None]
    ) -> None:
        sftp = self._sftp()
        target = self._r(path)
        tmp = temp_sibling(target, secrets.token_hex(6))
        with self._file_errors(path, "write"):
            try:
                upload(sftp, tmp)
                sftp.chmod(tmp, mode)
                sftp.posix_rename(tmp, target)
            except BaseException:
                with contextlib.suppress(Exception):
                    sftp.remove(tmp)
                raise
