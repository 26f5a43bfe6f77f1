"""The result of one simulated command, and the failures of the simulated wire."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimResult:
    """What a command printed and how it exited, as a process on the host would report it."""

    rc: int
    stdout: str
    stderr: str


class SimUnreachable(Exception):
    """The simulated host does not answer (the "unreachable" fault is on)."""


class SimTimeout(TimeoutError):
    """The injected latency alone exceeded the caller's timeout."""


def ok(stdout: str = "", stderr: str = "") -> SimResult:
    """Return a successful result."""
    return SimResult(0, stdout, stderr)


def fail(rc: int, *lines: str, stdout: str = "") -> SimResult:
    """Return a failed result whose stderr is the given lines, each newline-terminated."""
    return SimResult(rc, stdout, "".join(f"{line}\n" for line in lines))


class CommandExit(Exception):
    """Stop a command here: print `lines` on stderr (and `stdout`) and exit with `rc`."""

    def __init__(self, rc: int, *lines: str, stdout: str = "") -> None:
        super().__init__("\n".join(lines))
        self.rc = rc
        self.lines = lines
        self.stdout = stdout

    def result(self) -> SimResult:
        return fail(self.rc, *self.lines, stdout=self.stdout)
