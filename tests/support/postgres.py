"""Start and stop a throwaway PostgreSQL server on 127.0.0.1 for the tests (`--db=postgres`).

`start_postgres(workdir)` runs `initdb` (trust authentication, superuser `xenpanel`), starts
`postgres` on a free loopback port with no Unix socket and no fsync, creates the database
`xenpanel` and returns a `PostgresServer` whose `.url` the panel's `XENPANEL_DATABASE_URL` parser
(`xenpanel.env.database`) understands. `.stop()` shuts it down and removes its files.

PostgreSQL refuses to run as root. As root (the usual case here) the server runs as the
`postgres` user that the OS package creates, in a directory of its own under the system's temp
dir (pytest's own temp dirs are private to root); otherwise it runs as the current user under
`workdir`. Needs the server binaries: Debian `apt-get install postgresql` (found under
/usr/lib/postgresql/*/bin), FreeBSD `pkg install postgresql15-server` (/usr/local/bin), or
`pg_config --bindir`.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from xenpanel.devservices import LOOPBACK, free_port, wait_for_port

USER = "xenpanel"
DATABASE = "xenpanel"
OS_USER = "postgres"  # who runs the server when we are root
HINT = "run scripts/system-packages.sh test (Debian: apt-get install postgresql)"


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.name  # /usr/lib/postgresql/<version>/bin
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def find_bindir() -> Path | None:
    """Return the directory holding initdb and postgres (the newest version), or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out:
            candidates.append(out)
    candidates.append("/usr/local/bin")  # FreeBSD's postgresql15-server
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for candidate in candidates:
        bindir = Path(candidate)
        if all(os.access(bindir / name, os.X_OK) for name in ("initdb", "postgres")):
            return bindir
    return None


def postgres_available() -> bool:
    """Tell whether a PostgreSQL server can be started on this machine."""
    return find_bindir() is not None


@dataclass
class PostgresServer:
    """A private PostgreSQL server listening on 127.0.0.1:`port`, with database `xenpanel`."""

    port: int
    process: subprocess.Popen[bytes]
    datadir: Path
    log_path: Path
    _log: IO[bytes] = field(repr=False)
    _remove: Path | None = field(default=None, repr=False)  # a directory to delete on stop

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@{LOOPBACK}:{self.port}/{DATABASE}"

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (fast shutdown, then immediate, then SIGKILL) and remove its files."""
        if self.process.poll() is None:
            for sig, wait in ((signal.SIGINT, timeout), (signal.SIGQUIT, 5.0)):
                self.process.send_signal(sig)
                try:
                    self.process.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            else:
                self.process.kill()
                self.process.wait()
        if not self._log.closed:
            self._log.close()
        if self._remove is not None:
            shutil.rmtree(self._remove, ignore_errors=True)
            self._remove = None


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _as_user() -> dict[str, object]:
    """Popen arguments that run a child as the `postgres` OS user when we are root."""
    if os.geteuid() != 0:
        return {}
    try:
        pw = pwd.getpwnam(OS_USER)
    except KeyError:
        raise RuntimeError(
            f"PostgreSQL refuses to run as root and there is no {OS_USER!r} user: {HINT}"
        ) from None
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def _server_dir(workdir: Path) -> tuple[Path, Path | None]:
    """Return (a directory the server's user owns, the directory to delete on stop or None)."""
    if os.geteuid() != 0:
        base = workdir / "postgres"
        base.mkdir(parents=True, exist_ok=True)
        return base, None
    pw = pwd.getpwnam(OS_USER)
    base = Path(tempfile.mkdtemp(prefix="xenpanel-pg-"))  # mode 0700
    os.chown(base, pw.pw_uid, pw.pw_gid)
    return base, base


def _initdb(bindir: Path, datadir: Path, cwd: Path, timeout: float) -> None:
    argv = [
        str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", USER,
        "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
    ]  # fmt: skip
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, **_as_user()
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"initdb did not finish within {timeout}s") from None
    if done.returncode != 0:
        raise RuntimeError(
            f"initdb failed ({done.returncode}): {(done.stderr or done.stdout).strip()[-2000:]}"
        )


def _connect(port: int, dbname: str, timeout: float):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(
        host=LOOPBACK,
        port=port,
        user=USER,
        dbname=dbname,
        connect_timeout=max(1, int(timeout)),
        autocommit=True,
    )


def _wait_ready(server: PostgresServer, deadline: float) -> None:
    """Return once the server accepts queries (it listens before it has finished starting)."""
    import psycopg

    wait_for_port(
        server.port, timeout=max(0.1, deadline - time.monotonic()), process=server.process
    )
    while True:
        try:
            with _connect(server.port, "postgres", 2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            if server.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL does not answer: {exc}") from None
            time.sleep(0.05)


def start_postgres(workdir: Path, *, timeout: float = 30.0, attempts: int = 3) -> PostgresServer:
    """Initialise and start a throwaway server, create database `xenpanel`, return it.

    Raises RuntimeError, with the server log's tail, if the binaries are missing or the server
    does not answer within `timeout` seconds. `workdir` receives the server's log.
    """
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(f"no PostgreSQL server binaries (initdb, postgres): {HINT}")
    workdir.mkdir(parents=True, exist_ok=True)
    base, remove = _server_dir(workdir)
    datadir = base / "data"
    try:
        _initdb(bindir, datadir, base, timeout)
    except BaseException:
        if remove is not None:
            shutil.rmtree(remove, ignore_errors=True)
        raise
    log_path = workdir / "postgres.log"
    error = ""
    for _ in range(attempts):  # another process may take the free port before the server does
        port = free_port()
        log = open(log_path, "ab")  # noqa: SIM115 - the server writes to it until stop()
        argv = [
            str(bindir / "postgres"), "-D", str(datadir), "-p", str(port),
            "-c", f"listen_addresses={LOOPBACK}", "-c", "unix_socket_directories=",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
        ]  # fmt: skip
        process = subprocess.Popen(
            argv,
            cwd=base,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches pytest, whose teardown stops the server
            **_as_user(),  # type: ignore[arg-type]
        )
        server = PostgresServer(port, process, datadir, log_path, log, remove)
        try:
            _wait_ready(server, time.monotonic() + timeout)
            with _connect(port, "postgres", timeout) as conn:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
        except (RuntimeError, OSError) as exc:
            error = str(exc)
            exited = process.poll() is not None
            server._remove = None  # keep the data dir for the next attempt
            server.stop(timeout=5)
            if exited and "already in use" in _log_tail(log_path):
                continue
            break
        atexit.register(server.stop)  # in case the session ends without its teardown
        return server
    if remove is not None:
        shutil.rmtree(remove, ignore_errors=True)
    raise RuntimeError(
        f"PostgreSQL did not start within {timeout}s: {error}\n--- {log_path} ---\n"
        f"{_log_tail(log_path)}"
    )
