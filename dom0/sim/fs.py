"""Map host paths onto the directory that holds the simulated host's filesystem."""

from __future__ import annotations

import posixpath
from pathlib import Path

#: The working directory of commands run on the host (root's home, as over ssh).
HOST_CWD = "/root"


def normalize(host_path: str, cwd: str = HOST_CWD) -> str:
    """Return the absolute, normalized host path; relative paths are taken from `cwd`.

    Raises ValueError for an empty path or one whose ".." would climb above "/".
    """
    if not host_path or "\x00" in host_path:
        raise ValueError(f"invalid host path: {host_path!r}")
    joined = host_path if host_path.startswith("/") else posixpath.join(cwd, host_path)
    depth = 0
    for part in joined.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                raise ValueError(f"host path escapes the root: {host_path!r}")
        elif part not in ("", "."):
            depth += 1
    return posixpath.normpath(joined).replace("//", "/")


def to_local(root: Path, host_path: str, cwd: str = HOST_CWD) -> Path:
    """Return where `host_path` lives under `root`."""
    rel = normalize(host_path, cwd).lstrip("/")
    return root / rel if rel else root


def is_device(host_path: str) -> bool:
    """Tell whether a path is a device node: the simulator keeps them as plain marker files."""
    return normalize(host_path).startswith("/dev/")
