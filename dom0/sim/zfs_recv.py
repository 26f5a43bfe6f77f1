"""`zfs recv [-F] [-s] [-n] [-v] [-u] <dataset[@snap]>` and `zfs recv -A <dataset>`.

Reads the simulator's stream (zfs_stream.py) from stdin. Refusals follow OpenZFS
libzfs_sendrecv.c `zfs_receive_one` (texts quoted in docs/day2-cli-facts.md "Migration"): the
error buffer is "cannot receive new filesystem stream", "cannot receive incremental stream" or
"cannot receive resume stream", then ": " and the reason; some reasons span two lines. A stream
cut short inside its header is "cannot receive: failed to read from stream" (libzfs reads the
BEGIN record itself); cut short in the payload, it is the kernel's "incomplete stream" and, with
-s, the partial data is kept and the dataset gets a `receive_resume_token` that `zfs send -t`
continues from. Every failure exits 1; usage errors exit 2.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from . import zfs_data
from .result import CommandExit
from .state import State
from .streams import StreamIO
from .zfs_destroy import remove
from .zfs_space import EMPTY_REFERENCED, Space, new_dataset, snapshots_of
from .zfs_stream import MAGIC, TRAILER, apply, make_token, nicebytes
from .zfs_util import busy, getopts
from .zfsnames import VOLBLOCKSIZE, ZfsValueError, check_name

if TYPE_CHECKING:
    from .host import SimHost

PARTIAL = "recvpartial"
_USAGE = (
    "usage:",
    "\treceive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ...",
    "\t    <filesystem|volume|snapshot>",
    "\treceive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ... ",
    "\t    [-d | -e] <filesystem>",
    "\treceive -A <filesystem|volume>",
)
_FAILED_READ = "cannot receive: failed to read from stream"


def partial_file(host: SimHost, dataset: str) -> Path:
    return host.state_dir / PARTIAL / dataset.replace("/", "%")


def _read(stream: IO[bytes], size: int) -> bytes:
    """Read up to `size` bytes, fewer only at end of stream."""
    chunks, left = [], size
    while left > 0:
        try:
            chunk = stream.read(min(left, 1 << 20))
        except (OSError, ValueError):
            chunk = b""
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_header(stream: IO[bytes]) -> dict[str, Any]:
    magic = _read(stream, len(MAGIC))
    if len(magic) < len(MAGIC):
        raise CommandExit(1, _FAILED_READ)
    if magic != MAGIC:
        raise CommandExit(1, "cannot receive: invalid stream (bad magic number)")
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = _read(stream, 1)
        if not byte or len(line) > 65536:
            raise CommandExit(1, _FAILED_READ)
        line += byte
    header: dict[str, Any] = json.loads(line)
    return header


def zfs_recv(host: SimHost, args: list[str], io: StreamIO) -> int:
    try:
        opts, rest = getopts(args[1:], "o:x:hdeFnsuvMAc")
    except CommandExit as exc:
        raise CommandExit(exc.rc, *exc.lines, *_USAGE) from exc
    flags = {flag for flag, _ in opts}
    if not rest:
        raise CommandExit(2, "missing snapshot argument", *_USAGE)
    if len(rest) > 1:
        raise CommandExit(2, "too many arguments", *_USAGE)
    if "-A" in flags:
        return _abort(host, rest[0])
    header = _read_header(io.stdin)
    dest = rest[0]
    dataset, _, short = dest.partition("@")
    snap = f"{dataset}@{short or header['toname'].split('@', 1)[1]}"
    resuming = int(header["offset"]) > 0
    kind = "resume" if resuming else ("incremental" if header["fromguid"] else "new filesystem")
    errbuf = f"cannot receive {kind} stream"
    with host.store.edit() as state:
        base = _check(host, state, dataset, header, errbuf, flags)
    if "-v" in flags:
        verb = "would receive" if "-n" in flags else "receiving"
        full = "incremental" if header["fromguid"] else "full"
        io.stdout.write(f"{verb} {full} stream of {header['toname']} into {snap}\n".encode())
        io.stdout.flush()
    started = time.monotonic()
    size, offset = int(header["size"]), int(header["offset"])
    got = _read(io.stdin, size - offset)
    records = (partial_file(host, dataset).read_bytes() if resuming else b"") + got
    trailer = _read(io.stdin, len(TRAILER) + 65)
    complete = len(records) == size and trailer.startswith(TRAILER)
    if (
        not complete
        or trailer[len(TRAILER) : -1].decode(errors="replace")
        != hashlib.sha256(records).hexdigest()
    ):
        return _truncated(host, io, dataset, header, records, errbuf, flags, checksum=complete)
    if "-n" in flags:
        return 0
    data = apply(base, records, int(header["volblocksize"]), int(header["length"]))
    with host.store.edit() as state:
        _commit(host, state, dataset, snap, header, data, flags)
    partial_file(host, dataset).unlink(missing_ok=True)
    if "-v" in flags:
        took = max(time.monotonic() - started, 1e-9)
        total = size + len(MAGIC)
        io.stdout.write(
            f"received {nicebytes(total)} stream in {took:.2f} seconds "
            f"({nicebytes(int(total / took))}/sec)\n".encode()
        )
    return 0


def _fail(errbuf: str, *reason: str) -> CommandExit:
    first, *more = reason
    return CommandExit(1, f"{errbuf}: {first}", *more)


def _check(
    host: SimHost, state: State, dataset: str, header: dict[str, Any], errbuf: str, flags: set[str]
) -> bytes:
    """Refuse as zfs would; return the data the payload applies to (b"" for a full stream)."""
    try:
        check_name(dataset)
    except ZfsValueError as exc:
        raise _fail(errbuf, str(exc)) from exc
    datasets = state["datasets"]
    ds = datasets.get(dataset)
    if int(header["offset"]) > 0:
        partial = (ds or {}).get("recv_partial") or {}
        if partial.get("toguid") != header["toguid"] or int(partial.get("offset", -1)) != int(
            header["offset"]
        ):
            # UNVERIFIED: the kernel's EINVAL for a resume stream that does not fit the state.
            raise _fail(errbuf, "kernel modules must be upgraded to receive this stream.")
        return _source_data(host, state, dataset, header)
    if ds is not None and ds.get("recv_partial"):
        raise _fail(
            errbuf,
            f'destination {dataset} contains partially-complete state from "zfs receive -s".',
        )
    if not header["fromguid"]:
        _check_new(host, state, dataset, errbuf, flags)
        return b""
    if ds is None:
        raise _fail(errbuf, f"destination '{dataset}' does not exist")
    snaps = snapshots_of(state, dataset)
    guids = [datasets[s]["guid"] for s in snaps]
    if header["fromguid"] not in guids or (guids[-1] != header["fromguid"] and "-F" not in flags):
        raise _fail(
            errbuf, f"most recent snapshot of {dataset} does not", "match incremental source"
        )
    later = snaps[guids.index(header["fromguid"]) + 1 :]
    source = snaps[guids.index(header["fromguid"])]
    live = host.local(zfs_data.device(dataset))
    current = live.read_bytes() if live.is_file() else b""
    frozen = zfs_data.snap_file(host, datasets[source]["guid"]).read_bytes()
    if not later and current != frozen and "-F" not in flags:
        raise _fail(
            errbuf, f"destination {dataset} has been modified", "since most recent snapshot"
        )
    target = f"{dataset}@{header['toname'].split('@', 1)[1]}"
    if target in datasets:
        raise CommandExit(1, f"cannot restore to {target}: destination already exists")
    if "-F" in flags and "-n" not in flags:
        # -F rolls the destination back to the source snapshot first (what zfs recv -F does).
        remove(host, state, later)
    return frozen


def _source_data(host: SimHost, state: State, dataset: str, header: dict[str, Any]) -> bytes:
    if not header["fromguid"]:
        return b""
    snap = next(
        (
            s
            for s in snapshots_of(state, dataset)
            if state["datasets"][s]["guid"] == header["fromguid"]
        ),
        None,
    )
    return zfs_data.snap_file(host, state["datasets"][snap]["guid"]).read_bytes() if snap else b""


def _check_new(host: SimHost, state: State, dataset: str, errbuf: str, flags: set[str]) -> None:
    datasets = state["datasets"]
    if dataset in datasets:
        if "-F" not in flags:
            raise _fail(
                errbuf, f"destination '{dataset}' exists", "must specify -F to overwrite it"
            )
        snaps = snapshots_of(state, dataset)
        if snaps:
            raise _fail(
                errbuf,
                f"destination has snapshots (eg. {snaps[0]})",
                "must destroy them to overwrite it",
            )
        if busy(host, state, dataset):
            # UNVERIFIED: what overwriting a zvol a running domU holds open reports.
            raise _fail(errbuf, "pool or dataset is busy")
        return
    parent = dataset.rsplit("/", 1)[0]
    if "/" not in dataset or parent not in datasets:
        raise _fail(errbuf, f"destination '{dataset}' does not exist")


def _commit(
    host: SimHost,
    state: State,
    dataset: str,
    snap: str,
    header: dict[str, Any],
    data: bytes,
    flags: set[str],
) -> None:
    datasets = state["datasets"]
    ds = datasets.get(dataset)
    if ds is None or not header["fromguid"]:
        # A received zvol has no refreservation: properties travel only with -p/-R.
        ds = new_dataset(header["type"], int(header["volsize"]), True)
        if int(header["volblocksize"]) != VOLBLOCKSIZE:
            ds["props"]["volblocksize"] = str(header["volblocksize"])
        datasets[dataset] = ds
    ds.pop("recv_partial", None)
    ds.pop("resume_token", None)
    ds["referenced"] = max(int(header["referenced"]), EMPTY_REFERENCED)
    if header["type"] == "volume":
        ds["volsize"] = int(header["volsize"])
        node = host.local(zfs_data.device(dataset))
        node.parent.mkdir(parents=True, exist_ok=True)
        node.write_bytes(data)
    target = zfs_data.snap_file(host, header["toguid"])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    txg = int(state.get("next_txg", 1))
    state["next_txg"] = txg + 1
    record: dict[str, Any] = {
        "type": "snapshot",
        "guid": header["toguid"],
        "createtxg": txg,
        "creation": int(header["creation"]),
        "referenced": int(ds["referenced"]),
        "props": {},
        "refreservation": 0,
    }
    if header["type"] == "volume":
        record["volsize"] = int(header["volsize"])
    datasets[snap] = record
    space = Space(state, zfs_data.reader(host))
    if space.available() <= 0:
        # UNVERIFIED: the simulator checks room after the fact; real zfs fails mid-stream.
        remove(host, state, [snap] + ([] if header["fromguid"] else [dataset]))
        raise CommandExit(1, "cannot receive new filesystem stream: out of space")


def _truncated(
    host: SimHost,
    io: StreamIO,
    dataset: str,
    header: dict[str, Any],
    records: bytes,
    errbuf: str,
    flags: set[str],
    *,
    checksum: bool,
) -> int:
    """The stream ended early (or did not add up): keep the partial state with -s."""
    reason = "checksum mismatch" if checksum else "incomplete stream"
    if "-s" not in flags or "-n" in flags or checksum:
        # Without -s nothing of this receive stays; an earlier partial state is left as it was.
        io.err(f"{errbuf}: {reason}")
        return 1
    fields = {
        "object": 1,
        "offset": len(records),
        "bytes": len(records),
        "toguid": header["toguid"],
        "toname": header["toname"],
        "fromguid": header["fromguid"],
        "compressed": header["compressed"],
    }
    token = make_token(fields)
    with host.store.edit() as state:
        ds = state["datasets"].get(dataset)
        if ds is None:
            # A new dataset exists from the first byte received, inconsistent, with no zvol node.
            ds = new_dataset(header["type"], int(header["volsize"]), True)
            ds["inconsistent"] = True
            state["datasets"][dataset] = ds
        ds["recv_partial"] = {
            "toguid": header["toguid"],
            "offset": len(records),
            "new": bool(ds.get("inconsistent")),
        }
        ds["resume_token"] = token
    target = partial_file(host, dataset)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(records)
    io.err(
        f"{errbuf}: checksum mismatch or incomplete stream.",
        "Partially received snapshot is saved.",
        "A resuming stream can be generated on the sending system by running:",
        f"    zfs send -t {token}",
    )
    return 1


def _abort(host: SimHost, dataset: str) -> int:
    """`zfs recv -A`: drop the partial state (and a dataset that only it made)."""
    with host.store.edit() as state:
        ds = state["datasets"].get(dataset)
        if ds is None:
            raise CommandExit(1, f"cannot open '{dataset}': dataset does not exist", *_USAGE)
        if not ds.get("recv_partial"):
            raise CommandExit(1, f"'{dataset}' does not have any resumable receive state to abort")
        if ds["recv_partial"].get("new"):
            del state["datasets"][dataset]
        else:
            ds.pop("recv_partial", None)
            ds.pop("resume_token", None)
    partial_file(host, dataset).unlink(missing_ok=True)
    return 0
