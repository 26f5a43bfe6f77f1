"""The persisted state of one simulated host: a JSON file guarded by `fcntl.flock`.

The web process, several Celery workers and shim processes share one host, so every
read-modify-write takes the exclusive lock; readers take the shared one. The file is replaced
atomically so a crash never leaves half a state behind.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

State = dict[str, Any]

STATE_FILE = "state.json"
LOCK_FILE = "state.lock"


class StateStore:
    """Load and save one host's state under a file lock."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.file = state_dir / STATE_FILE
        self.lock_file = state_dir / LOCK_FILE

    def exists(self) -> bool:
        return self.file.is_file()

    @contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _load(self) -> State:
        with self.file.open(encoding="utf-8") as fh:
            data: State = json.load(fh)
        return data

    def _save(self, state: State) -> None:
        tmp = self.file.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.file)

    def read(self) -> State:
        """Return a snapshot of the state."""
        with self._locked(fcntl.LOCK_SH):
            return self._load()

    @contextmanager
    def edit(self) -> Iterator[State]:
        """Yield the state for modification and save it when the block exits without error."""
        with self._locked(fcntl.LOCK_EX):
            state = self._load()
            yield state
            self._save(state)

    def replace(self, state: State) -> None:
        """Write a whole new state (used when seeding)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self._locked(fcntl.LOCK_EX):
            self._save(state)
