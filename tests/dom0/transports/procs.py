"""Look at processes through /proc: the SSH "remote" is this machine, so tests can check kills."""

from __future__ import annotations

import time
from pathlib import Path


def _stat_fields(pid_dir: Path) -> list[str] | None:
    try:
        raw = (pid_dir / "stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces; fields follow the last ")".
    return raw[raw.rindex(")") + 2 :].split()


def live_group_members(pgid: int) -> list[int]:
    """Return pids of processes in group pgid that are running (not gone, not zombies)."""
    members = []
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        fields = _stat_fields(pid_dir)
        if fields and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(pid_dir.name))
    return members


def group_ends(pgid: int, within: float = 3.0) -> bool:
    """Wait until no live process is left in group pgid; tell whether that happened in time."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not live_group_members(pgid):
            return True
        time.sleep(0.05)
    return False


def _command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def group_runs(pgid: int, command: str, count: int, within: float = 5.0) -> bool:
    """Wait until `count` live processes named `command` run in group pgid; say whether in time."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        names = [_command_name(pid) for pid in live_group_members(pgid)]
        if names.count(command) >= count:
            return True
        time.sleep(0.01)
    return False
