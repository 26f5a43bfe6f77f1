"""Run every test session `make test` needs, side by side on the machine's cores.

    python scripts/test_lanes.py [--lanes N] [--only NAME ...] [--list]

One pytest session uses about one core (most tests are Python; the worker, sshd, Redis and
the browser wait on it), so the suite is cut into pieces that run as separate sessions, at most
`--lanes` at once (default: the number of cores, at least 2), the longest first. Each session
starts its own Redis, Celery worker, sshd, browser and (for the `pg` pieces) PostgreSQL on free
ports, so they share nothing but the machine. The simulator's VNC servers listen on fixed ports
(5900 + display): every test that starts them is in the one "browser" piece.

Each piece's output goes to a log; a piece that fails has its log printed whole at the end. The
exit status is 0 only when every piece passed. The pieces together are exactly what
`pytest -q`, `pytest -q -m faults` and `pytest -q -m pg --db=postgres` ran one after another:
the last SQLite piece takes every test directory no earlier piece names.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Directories the SQLite pieces name; "rest" is the tests directory without them.
NAMED = ("tests/api", "tests/e2e", "tests/domains", "tests/dom0", "tests/storage")
PG_INPUT = ("tests/test_generated_input.py", "tests/test_permission_matrix.py")


@dataclass
class Piece:
    name: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    started: float = 0.0
    seconds: float = 0.0
    status: int | None = None
    summary: str = field(default="")


def pieces() -> list[Piece]:
    """Longest first (measured: docs/performance.md, "The test suite"), so the short ones fill
    the gaps at the end."""
    ignore_named = [f"--ignore={d}" for d in NAMED]
    ignore_input = [f"--ignore={p}" for p in PG_INPUT]
    return [
        Piece("pg-rest", ["-m", "pg", "--db=postgres", "tests", *ignore_input]),
        Piece("api", ["tests/api"]),
        Piece("pg-input", ["-m", "pg", "--db=postgres", *PG_INPUT]),
        Piece("browser", ["tests/e2e", "tests/domains/console"]),
        Piece("rest", ["tests", *ignore_named]),
        Piece("domains", ["tests/domains", "--ignore=tests/domains/console"]),
        Piece("dom0-storage", ["tests/dom0", "tests/storage"]),
        Piece("faults", ["-m", "faults"]),
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lanes", type=int, default=max(2, os.cpu_count() or 2))
    parser.add_argument("--only", nargs="*", help="run just these pieces")
    parser.add_argument("--list", action="store_true", help="print the pieces and stop")
    args = parser.parse_args()
    todo = [p for p in pieces() if not args.only or p.name in args.only]
    unknown = set(args.only or ()) - {p.name for p in pieces()}
    if unknown:
        parser.error(f"no such piece: {', '.join(sorted(unknown))} (see --list)")
    if args.list:
        for p in todo:
            print(f"{p.name:13s} pytest -q {' '.join(p.args)}")
        return 0
    logs = Path(tempfile.mkdtemp(prefix="xenpanel-test-lanes-"))
    print(f"{len(todo)} test sessions, {args.lanes} at a time; logs in {logs}", flush=True)
    began = time.monotonic()
    waiting: list[Piece] = list(todo)
    running: list[Piece] = []
    done: list[Piece] = []
    # SIGTERM (CI's timeout) ends the sessions too, and with them their Redis, sshd, PostgreSQL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        schedule(waiting, running, done, args.lanes, logs)
    finally:
        for piece in running:
            if piece.process is not None and piece.process.poll() is None:
                piece.process.terminate()
        for piece in running:
            if piece.process is not None:
                piece.process.wait(timeout=60)
    wall = time.monotonic() - began

    failed = [p for p in done if p.status != 0]
    for piece in failed:
        assert piece.log is not None
        print(f"\n===== {piece.name}: pytest -q {' '.join(piece.args)} =====", flush=True)
        sys.stdout.write(piece.log.read_text(errors="replace"))
    print(f"\n{'piece':13s} {'seconds':>8s}  result")
    for piece in done:
        print(f"{piece.name:13s} {piece.seconds:8.0f}  {piece.summary}")
    verdict = "FAILED: " + ", ".join(p.name for p in failed) if failed else "all passed"
    print(f"wall clock {wall:.0f} s; {verdict}")
    return 1 if failed else 0


def schedule(
    waiting: list[Piece], running: list[Piece], done: list[Piece], lanes: int, logs: Path
) -> None:
    """Start pieces in order while a lane is free, until every piece has finished."""
    while waiting or running:
        while waiting and len(running) < lanes:
            piece = waiting.pop(0)
            start(piece, logs)
            running.append(piece)
        time.sleep(0.5)
        for piece in [p for p in running if p.process and p.process.poll() is not None]:
            finish(piece)
            running.remove(piece)
            done.append(piece)


def start(piece: Piece, logs: Path) -> None:
    piece.log = logs / f"{piece.name}.log"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *piece.args]
    with piece.log.open("wb") as out:
        piece.process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    piece.started = time.monotonic()
    print(f"started  {piece.name}", flush=True)


def finish(piece: Piece) -> None:
    assert piece.process is not None and piece.log is not None
    piece.status = piece.process.returncode
    piece.seconds = time.monotonic() - piece.started
    lines = [line for line in piece.log.read_text(errors="replace").splitlines() if line.strip()]
    piece.summary = lines[-1].strip("= ") if lines else "(no output)"
    word = "passed" if piece.status == 0 else f"FAILED (exit {piece.status})"
    print(f"finished {piece.name} in {piece.seconds:.0f} s: {word}: {piece.summary}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
