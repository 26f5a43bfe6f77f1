"""Run every line of a Procfile, restart a process that dies, stop them all on Ctrl-C or SIGTERM.

    python scripts/supervise.py [-f Procfile] [--stop-last redis] [--grace 10]

What `make demo` runs (scripts/demo.sh), in place of `honcho start`, which stops everything as
soon as one process exits. Standard library only.

- Each line `name: command` runs as `/bin/sh -c command` (so `${VAR:-default}` works) in its own
  session and process group, with stdin from /dev/null and PYTHONUNBUFFERED=1. Its output comes
  out line by line prefixed with the time and its name, as honcho does.
- A process that exits while no stop was asked for is restarted after a backoff: 1 s, doubling
  up to 30 s; a process that had stayed up for 60 s starts again at 1 s. Whatever its group
  left behind (a Celery worker's pool children after `kill -9` of the main process) is sent
  SIGTERM, then SIGKILL, before it starts again. On Linux the supervisor is a child subreaper,
  so such orphans are reaped here rather than left as zombies.
- SIGINT, SIGTERM or SIGHUP stop everything: SIGTERM to every group, SIGKILL to what is still
  there after --grace seconds. Processes named with --stop-last (the demo: Redis) are stopped
  only after the others have gone, so a Celery worker can still reach its broker while it shuts
  down. A second signal kills what is left at once. The exit status is then 0.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")
COLORS = ["36", "33", "32", "35", "34", "31", "96", "93", "92", "95"]
PR_SET_CHILD_SUBREAPER = 36


def parse_procfile(text: str) -> list[tuple[str, str]]:
    """Return the (name, command) pairs of a Procfile; blank lines and `#` comments are skipped."""
    entries: list[tuple[str, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = LINE.match(line)
        if match is None:
            raise ValueError(f"Procfile line {number} is not `name: command`: {raw!r}")
        name, command = match.groups()
        if any(name == seen for seen, _ in entries):
            raise ValueError(f"Procfile line {number}: {name!r} is defined twice")
        entries.append((name, command.strip()))
    return entries


@dataclass
class Backoff:
    """How long to wait before restarting a process that exited after `uptime` seconds.

    The first wait is `initial`; each further one doubles, up to `maximum`. A process that had
    stayed up `reset_after` seconds or more starts the sequence again.
    """

    initial: float = 1.0
    maximum: float = 30.0
    reset_after: float = 60.0
    _next: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._next = self.initial

    def delay(self, uptime: float) -> float:
        if uptime >= self.reset_after:
            self._next = self.initial
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay


@dataclass
class Proc:
    """One Procfile line and the process currently running it (if any)."""

    name: str
    command: str
    backoff: Backoff
    popen: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    starts: int = 0


def describe_exit(code: int) -> str:
    """`exit code 1`, or `signal SIGKILL` for a process a signal ended."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class Supervisor:
    """Start the entries, restart the ones that exit, stop all of them when asked."""

    def __init__(
        self,
        entries: Iterable[tuple[str, str]],
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        out: IO[str] | None = None,
        backoff: Callable[[], Backoff] = Backoff,
        grace: float = 10.0,
        stop_last: Iterable[str] = (),
        reap_orphans: bool = False,
    ) -> None:
        self.procs = [Proc(name, command, backoff()) for name, command in entries]
        names = {p.name for p in self.procs}
        unknown = set(stop_last) - names
        if unknown:
            raise ValueError(f"--stop-last names no Procfile line: {', '.join(sorted(unknown))}")
        self.stop_last = set(stop_last)
        self.cwd = cwd
        self.env = {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}
        self.out = out or sys.stdout
        self.grace = grace
        self.reap_orphans = reap_orphans
        self.width = max([len(p.name) for p in self.procs] + [len("supervise")])
        self.color = self.out.isatty()
        self.lock = threading.Lock()
        self.stop_signal: int | None = None
        self.force = False

    # -- output -------------------------------------------------------------------------------

    def emit(self, name: str, text: str, color: str = "1") -> None:
        prefix = f"{time.strftime('%H:%M:%S')} {name:<{self.width}} | "
        if self.color:
            prefix = f"\033[{color}m{prefix}\033[0m"
        with self.lock:
            try:
                self.out.write(prefix + text.rstrip("\r\n") + "\n")
                self.out.flush()
            except (BrokenPipeError, ValueError):
                pass

    def say(self, text: str) -> None:
        self.emit("supervise", text)

    def _pump(self, proc: Proc, stream: IO[bytes], color: str) -> None:
        with stream:
            for line in iter(stream.readline, b""):
                self.emit(proc.name, line.decode("utf-8", "replace"), color)

    # -- processes ----------------------------------------------------------------------------

    def spawn(self, proc: Proc) -> None:
        proc.restart_at = None
        try:
            popen = subprocess.Popen(
                ["/bin/sh", "-c", proc.command],
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:  # /bin/sh missing, cwd gone...: try again later
            self.say(f"{proc.name} could not start: {exc}")
            proc.started_at = time.monotonic()
            proc.restart_at = proc.started_at + proc.backoff.delay(0.0)
            return
        proc.popen = popen
        proc.started_at = time.monotonic()
        proc.starts += 1
        color = COLORS[self.procs.index(proc) % len(COLORS)]
        assert popen.stdout is not None
        proc.reader = threading.Thread(
            target=self._pump, args=(proc, popen.stdout, color), daemon=True
        )
        proc.reader.start()
        again = f" (start {proc.starts})" if proc.starts > 1 else ""
        self.say(f"{proc.name} started with pid {popen.pid}{again}")

    def reap(self) -> None:
        """Collect exited children: ours (through Popen) and orphans handed to us as subreaper."""
        for proc in self.procs:
            if proc.popen is not None:
                proc.popen.poll()
        if not self.reap_orphans or not hasattr(os, "waitid"):
            return
        ours = {p.popen.pid: p.popen for p in self.procs if p.popen and p.popen.returncode is None}
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None:
                return
            if info.si_pid in ours:
                if ours.pop(info.si_pid).poll() is None:
                    return  # not collected this time; the next round tries again
            else:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(info.si_pid, 0)

    @staticmethod
    def signal_group(pgid: int, signum: int) -> bool:
        """Send `signum` to process group `pgid`; False when the group is gone."""
        try:
            os.killpg(pgid, signum)
        except ProcessLookupError:
            return False
        except PermissionError:  # a member changed user; nothing we may do about it
            return True
        return True

    def wait_groups(self, pgids: set[int], timeout: float) -> set[int]:
        """Wait until the groups are empty or `timeout` passed; return those still there."""
        deadline = time.monotonic() + timeout
        while True:
            self.reap()
            pgids = {g for g in pgids if self.signal_group(g, 0)}
            if not pgids or time.monotonic() >= deadline or self.force:
                return pgids
            time.sleep(0.05)

    def clear_group(self, pgid: int, timeout: float = 5.0) -> None:
        """End whatever a dead process left in its group: SIGTERM, then SIGKILL."""
        if not self.signal_group(pgid, signal.SIGTERM):
            return
        left = self.wait_groups({pgid}, timeout)
        for group in left:
            self.signal_group(group, signal.SIGKILL)
        self.wait_groups(left, 2.0)

    def check(self, now: float | None = None) -> None:
        """One round: notice exits, schedule restarts, start what is due."""
        self.reap()
        now = time.monotonic() if now is None else now
        for proc in self.procs:
            popen = proc.popen
            if popen is not None and popen.returncode is not None:
                proc.popen = None
                uptime = now - proc.started_at
                self.clear_group(popen.pid)
                if proc.reader is not None:
                    proc.reader.join(timeout=1.0)
                if self.stop_signal is not None:
                    continue
                delay = proc.backoff.delay(uptime)
                proc.restart_at = time.monotonic() + delay
                self.say(
                    f"{proc.name} exited ({describe_exit(popen.returncode)}) after "
                    f"{uptime:.1f} s; restarting in {delay:g} s"
                )
            elif popen is None and proc.restart_at is not None and now >= proc.restart_at:
                if self.stop_signal is None:
                    self.spawn(proc)

    # -- stopping -----------------------------------------------------------------------------

    def request_stop(self, signum: int, _frame: object = None) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum
        else:
            self.force = True

    def stop(self) -> None:
        """Stop all processes: the ordinary ones first, then the --stop-last ones."""
        first = [p for p in self.procs if p.name not in self.stop_last]
        last = [p for p in self.procs if p.name in self.stop_last]
        for group in (first, last):
            running = [p for p in group if p.popen is not None and p.popen.returncode is None]
            if not running:
                continue
            self.say(f"sending SIGTERM to {', '.join(p.name for p in running)}")
            pgids = {p.popen.pid for p in running if p.popen is not None}
            for pgid in pgids:
                self.signal_group(pgid, signal.SIGTERM)
            left = self.wait_groups(pgids, self.grace)
            if left:
                names = [p.name for p in running if p.popen is not None and p.popen.pid in left]
                self.say(f"sending SIGKILL to {', '.join(names)}")
                for pgid in left:
                    self.signal_group(pgid, signal.SIGKILL)
                self.wait_groups(left, 5.0)
        for proc in self.procs:
            if proc.popen is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.popen.wait(timeout=1.0)
                code = proc.popen.returncode
                if code is not None:
                    self.say(f"{proc.name} stopped ({describe_exit(code)})")
            if proc.reader is not None:
                proc.reader.join(timeout=1.0)

    def run(self, poll: float = 0.1) -> int:
        """Start everything and supervise until a stop signal; return the exit status (0)."""
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self.request_stop)
        for proc in self.procs:
            self.spawn(proc)
        while self.stop_signal is None:
            self.check()
            time.sleep(poll)
        self.say(f"{signal.Signals(self.stop_signal).name} received, stopping all processes")
        self.stop()
        return 0


def become_subreaper() -> bool:
    """Linux: orphans of our descendants become our children (so we can reap and count them)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-f", "--procfile", default="Procfile", type=Path)
    parser.add_argument(
        "--stop-last",
        action="append",
        default=[],
        metavar="NAME",
        help="stop this process only after all others (repeatable)",
    )
    parser.add_argument(
        "--grace", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL on stop"
    )
    parser.add_argument("--backoff", type=float, default=1.0, help="first restart delay (s)")
    parser.add_argument("--backoff-max", type=float, default=30.0, help="longest delay (s)")
    parser.add_argument(
        "--reset-after", type=float, default=60.0, help="uptime (s) that resets the delay"
    )
    args = parser.parse_args(argv)
    try:
        entries = parse_procfile(args.procfile.read_text())
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    if not entries:
        parser.error(f"{args.procfile} has no processes")
    try:
        supervisor = Supervisor(
            entries,
            cwd=args.procfile.resolve().parent,
            backoff=lambda: Backoff(args.backoff, args.backoff_max, args.reset_after),
            grace=args.grace,
            stop_last=args.stop_last,
            reap_orphans=become_subreaper(),
        )
    except ValueError as exc:
        parser.error(str(exc))
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
