"""Where the simulator keeps the data of volumes and of their snapshots.

A volume's data is its device node `/dev/zvol/<name>` under the host root: an empty marker file
until a test (or the panel through the file transport) writes to it, standing in for the guest's
disk writes. A snapshot's data is a frozen copy in `<state_dir>/snapdata/<guid>`, named by a guid
that never changes, so `zfs promote` can move a snapshot to another dataset without moving bytes.
A clone starts as a copy of its origin's data; a rollback copies the snapshot back.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from .zfs_space import Dataset, Reader

if TYPE_CHECKING:
    from .host import SimHost

SNAPDATA = "snapdata"


def device(name: str) -> str:
    return f"/dev/zvol/{name}"


def snap_file(host: SimHost, guid: str) -> Path:
    return host.state_dir / SNAPDATA / guid


def reader(host: SimHost) -> Reader:
    """Return a function that reads a dataset's or snapshot's bytes for zfs_space.Space."""

    def read(name: str, ds: Dataset) -> bytes:
        if ds["type"] == "snapshot":
            path = snap_file(host, ds["guid"])
        elif ds["type"] == "volume":
            path = host.local(device(name))
        else:
            return b""
        try:
            return path.read_bytes() if path.is_file() else b""
        except OSError:
            return b""

    return read


def freeze(host: SimHost, volume: str) -> str:
    """Copy a volume's current data into a new snapshot file and return its guid."""
    guid = uuid.uuid4().hex
    target = snap_file(host, guid)
    target.parent.mkdir(parents=True, exist_ok=True)
    node = host.local(device(volume))
    if node.is_file():
        shutil.copyfile(node, target)
    else:
        target.write_bytes(b"")
    return guid


def restore(host: SimHost, guid: str, volume: str) -> None:
    """Write a snapshot's data into a volume's device node (rollback, clone)."""
    node = host.local(device(volume))
    node.parent.mkdir(parents=True, exist_ok=True)
    source = snap_file(host, guid)
    if source.is_file():
        shutil.copyfile(source, node)
    else:
        node.write_bytes(b"")


def forget(host: SimHost, guid: str) -> None:
    snap_file(host, guid).unlink(missing_ok=True)
