"""scripts/supervise.py, the process manager of `make demo`: restart what dies, stop on a signal.

The restart logic is checked with real processes (`sh -c 'exit 1'` and the like) and short
delays; the whole file runs in a few seconds.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "supervise.py"

spec = importlib.util.spec_from_file_location("supervise", SCRIPT)
assert spec is not None and spec.loader is not None
supervise = importlib.util.module_from_spec(spec)
sys.modules["supervise"] = supervise
spec.loader.exec_module(supervise)


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def pids(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()] if path.exists() else []


class Running:
    """The supervisor as a subprocess on a Procfile in tmp_path, its output collected."""

    def __init__(self, tmp_path: Path, procfile: str, *args: str) -> None:
        (tmp_path / "Procfile").write_text(procfile)
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), "-f", str(tmp_path / "Procfile"), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def wait_for(self, predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out; output:\n" + "\n".join(self.lines))
            time.sleep(0.02)

    def stop(self, signum: int = signal.SIGINT, timeout: float = 15.0) -> int:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=5)
        return code


def test_procfile_lines() -> None:
    text = "# comment\n\nweb: gunicorn x --bind ${BIND:-127.0.0.1:8000}\nworker:celery -A x\n"
    assert supervise.parse_procfile(text) == [
        ("web", "gunicorn x --bind ${BIND:-127.0.0.1:8000}"),
        ("worker", "celery -A x"),
    ]
    with pytest.raises(ValueError, match="line 1"):
        supervise.parse_procfile("not a process line\n")
    with pytest.raises(ValueError, match="twice"):
        supervise.parse_procfile("a: true\na: false\n")


def test_backoff_doubles_to_the_maximum_and_resets_after_a_long_run() -> None:
    backoff = supervise.Backoff(initial=1, maximum=30, reset_after=60)
    assert [backoff.delay(uptime=0.5) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(uptime=59) == 30
    assert backoff.delay(uptime=60) == 1  # it had stayed up: start again at the first delay
    assert backoff.delay(uptime=3) == 2


def test_a_dead_process_is_restarted_and_the_others_keep_running(tmp_path: Path) -> None:
    run = Running(
        tmp_path,
        "crash: sh -c 'echo boom; exit 1'\n"
        f"steady: echo $$ >> {tmp_path}/steady.pids; exec sleep 60\n"
        # The leader exits and leaves a child in its group, as a Celery worker's pool children
        # stay behind after `kill -9` of its main process.
        f"leaky: sleep 60 & echo $! >> {tmp_path}/leaky.pids; sleep 0.3; exit 3\n",
        "--backoff", "0.05", "--backoff-max", "0.2", "--grace", "2",
    )  # fmt: skip
    try:
        run.wait_for(lambda: run.count("crash exited (exit code 1)") >= 4)
        run.wait_for(lambda: len(pids(tmp_path / "leaky.pids")) >= 3)
        # Each restart waited a little longer: 0.05, 0.1, 0.2 (the maximum), 0.2 ...
        crashes = [line for line in run.lines if "crash exited" in line]
        waits = [line.rsplit("restarting in ", 1)[1] for line in crashes]
        assert waits[:4] == ["0.05 s", "0.1 s", "0.2 s", "0.2 s"]
        assert run.count("| boom") >= 4  # its output, prefixed with its name
        assert run.count("steady started") == 1
        assert len(pids(tmp_path / "steady.pids")) == 1
        steady = pids(tmp_path / "steady.pids")[0]
        assert alive(steady)
        # What the leaky leader left behind was ended before it started again.
        first_leftover = pids(tmp_path / "leaky.pids")[0]
        run.wait_for(lambda: not alive(first_leftover), timeout=5)
    finally:
        code = run.stop(signal.SIGINT)
    assert code == 0
    assert run.count("SIGINT received, stopping all processes") == 1
    for pid in pids(tmp_path / "steady.pids") + pids(tmp_path / "leaky.pids"):
        assert not alive(pid), pid


def test_stop_order_grace_and_sigterm(tmp_path: Path) -> None:
    run = Running(
        tmp_path,
        "store: trap 'echo store-stopping; exit 0' TERM; while :; do sleep 0.05; done\n"
        "app: trap 'echo app-stopping; sleep 0.3; echo app-done; exit 0' TERM;"
        " while :; do sleep 0.05; done\n"
        f"stubborn: trap '' TERM; echo $$ > {tmp_path}/stubborn.pid; exec sleep 60\n",
        "--stop-last", "store", "--grace", "1",
    )  # fmt: skip
    run.wait_for(lambda: (tmp_path / "stubborn.pid").exists() and run.count("started") == 3)
    time.sleep(0.2)  # let the shells install their traps
    started = time.monotonic()
    code = run.stop(signal.SIGTERM)
    took = time.monotonic() - started
    assert code == 0
    text = "\n".join(run.lines)
    # The others are asked first; the --stop-last one only once they are gone.
    assert text.index("app-done") < text.index("sending SIGTERM to store")
    assert text.index("sending SIGTERM to store") < text.index("store-stopping")
    # What ignores SIGTERM is killed after the grace period.
    assert "sending SIGKILL to stubborn" in text
    assert "stubborn stopped (signal SIGKILL)" in text
    assert not alive(int((tmp_path / "stubborn.pid").read_text()))
    assert took < 8


def test_unknown_stop_last_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("a: sleep 1\n")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "-f", str(tmp_path / "Procfile"), "--stop-last", "redis"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 2
    assert "redis" in result.stderr
