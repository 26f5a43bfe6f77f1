"""`zfs send [-c] [-v] [-P] [-n] [-i <from>] <ds@snap>` and `zfs send [-vPn] -t <token>`.

The stream is the simulator's own format (docs/day2-cli-facts.md "Migration"): a magic line, one
JSON header line (names, guids, volsize, payload size, resume offset), the payload from that
offset, and a trailer with the sha256 of the whole payload. The payload is a list of records,
each an 8-byte big-endian block index and one volblocksize block: a full stream carries every
block that is not all zeros, an incremental one every block that differs from its source
snapshot (so data written between two snapshots is exactly what travels).

What zfs prints follows OpenZFS libzfs_sendrecv.c (`estimate_size`, `send_print_verbose`,
`send_progress_thread`, `zfs_send_one_cb_impl`, `zfs_send_resume_impl_cb_impl`) and zfs_main.c
`zfs_do_send`: the estimate goes to stdout with -n and to stderr otherwise; -P prints
`full\t<snap>\t<bytes>` or `incremental\t<from>\t<snap>\t<bytes>` and `size\t<bytes>`; while
sending, -v prints a progress line every second on stderr, `HH:MM:SS\t<bytes>\t<snap>` with -P.
The simulator's estimate is the exact stream size, so the last progress figure meets it.
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
import zlib
from typing import TYPE_CHECKING, Any

from . import zfs_data
from .result import CommandExit
from .streams import StreamIO, take_send_cut
from .zfs_util import getopts, open_snapshot
from .zfsnames import VOLBLOCKSIZE, nicenum

if TYPE_CHECKING:
    from .host import SimHost

MAGIC = b"XENPANEL-SIM-ZFS-STREAM 1\n"
TRAILER = b"END "
CHUNK = 64 * 1024
_INDEX = struct.Struct(">Q")
_SEND_USAGE = (
    "usage:",
    "\tsend [-DLPbcehnpsUVvw] [-i|-I snapshot]",
    "\t     [-R [-X dataset[,dataset]...]]     <snapshot>",
    "\tsend [-DnVvPLecwU] [-i snapshot|bookmark] <filesystem|volume|snapshot>",
    "\tsend [-nVvPe] -t <receive_resume_token>",
)


def nicebytes(num: int) -> str:
    """zfs_nicebytes: like zfs_nicenum with a "B" after plain bytes."""
    text = nicenum(num)
    return text + "B" if num < 1024 else text


def payload(old: bytes, new: bytes, block: int) -> bytes:
    """Return the records that turn `old` into `new` (old=b"" for a full stream)."""
    out = bytearray()
    for start in range(0, max(len(old), len(new)), block):
        chunk = new[start : start + block].ljust(block, b"\0")
        before = old[start : start + block].ljust(block, b"\0")
        if chunk != before or (not old and chunk.strip(b"\0")):
            out += _INDEX.pack(start // block) + chunk
    return bytes(out)


def apply(base: bytes, records: bytes, block: int, length: int) -> bytes:
    """Apply a payload's records to `base` and cut the result to `length` bytes."""
    data = bytearray(base[:length].ljust(length, b"\0"))
    step = _INDEX.size + block
    for pos in range(0, len(records) - step + 1, step):
        (index,) = _INDEX.unpack_from(records, pos)
        start = index * block
        end = min(start + block, length)
        if start < length:
            data[start:end] = records[pos + _INDEX.size : pos + _INDEX.size + end - start]
    return bytes(data)


def header_bytes(header: dict[str, Any]) -> bytes:
    return MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n"


def trailer_bytes(records: bytes) -> bytes:
    return TRAILER + hashlib.sha256(records).hexdigest().encode() + b"\n"


# -- resume tokens --------------------------------------------------------------------------


def make_token(fields: dict[str, Any]) -> str:
    """Encode a receive_resume_token: `1-<crc32>-<length>-<hex json>` (only [0-9a-f-])."""
    raw = json.dumps(fields, sort_keys=True).encode()
    return f"1-{zlib.crc32(raw):x}-{len(raw):x}-{raw.hex()}"


def read_token(token: str) -> dict[str, Any]:
    """Decode a token or raise CommandExit with libzfs' "resume token is corrupt" texts."""
    parts = token.split("-")
    if len(parts) != 4 or parts[0] != "1":
        raise CommandExit(1, "cannot resume send: resume token is corrupt (invalid format)")
    try:
        raw = bytes.fromhex(parts[3])
        crc, length = int(parts[1], 16), int(parts[2], 16)
    except ValueError as exc:
        raise CommandExit(
            1, "cannot resume send: resume token is corrupt (invalid format)"
        ) from exc
    if len(raw) != length or zlib.crc32(raw) != crc:
        raise CommandExit(1, "cannot resume send: resume token is corrupt (incorrect checksum)")
    fields: dict[str, Any] = json.loads(raw)
    return fields


def guid_number(guid: str) -> int:
    """The 64-bit guid zfs prints for a snapshot (the sim keeps 128-bit hex ids)."""
    return int(guid[:16], 16)


# -- zfs send ------------------------------------------------------------------------------


def _options(host: SimHost) -> tuple[float, float]:
    """(bytes per second, 0 = unlimited; seconds between progress lines) of this host."""
    opts = host.store.read().get("stream", {})
    return float(opts.get("rate", 0)), float(opts.get("progress_interval", 1.0))


def build_stream(
    host: SimHost, snap: str, from_snap: str | None, compressed: bool
) -> tuple[dict[str, Any], bytes]:
    """Return the header and payload records of a full or incremental send of `snap`."""
    state = host.store.read()
    to = open_snapshot(state, snap)
    head = state["datasets"].get(snap.split("@", 1)[0], {})
    block = int(head.get("props", {}).get("volblocksize", VOLBLOCKSIZE))
    new = zfs_data.snap_file(host, to["guid"]).read_bytes() if to.get("guid") else b""
    old, from_guid = b"", None
    if from_snap is not None:
        src = open_snapshot(state, from_snap)
        if from_snap.split("@", 1)[0] != snap.split("@", 1)[0] or int(src["createtxg"]) >= int(
            to["createtxg"]
        ):
            raise CommandExit(
                1, f"warning: cannot send '{snap}': not an earlier snapshot from the same fs"
            )
        old = zfs_data.snap_file(host, src["guid"]).read_bytes()
        from_guid = src["guid"]
    records = payload(old, new, block)
    header = {
        "toname": snap,
        "toguid": to["guid"],
        "fromname": from_snap,
        "fromguid": from_guid,
        "type": "volume" if "volsize" in to else "filesystem",
        "volsize": int(to.get("volsize", 0)),
        "volblocksize": block,
        "referenced": int(to["referenced"]),
        "creation": int(to["creation"]),
        "length": len(new),
        "size": len(records),
        "offset": 0,
        "compressed": compressed,
    }
    return header, records


def stream_size(header: dict[str, Any], records: bytes) -> int:
    return (
        len(header_bytes(header))
        + len(records)
        - int(header["offset"])
        + len(trailer_bytes(records))
    )


def _estimate(
    io: StreamIO, out_stdout: bool, header: dict[str, Any], size: int, parsable: bool
) -> None:
    snap, frm = header["toname"], header["fromname"]
    if parsable:
        first = f"incremental\t{frm}\t{snap}\t{size}" if frm else f"full\t{snap}\t{size}"
        lines = [first, f"size\t{size}"]
    else:
        what = f"send from {frm} to {snap}" if frm else f"full send of {snap}"
        lines = [
            f"{what} estimated size is {nicebytes(size)}",
            f"total estimated size is {nicenum(size)}",
        ]
    text = "".join(f"{line}\n" for line in lines).encode()
    if out_stdout:
        io.stdout.write(text)
        io.stdout.flush()
    else:
        io.err(*lines)


def write_stream(
    host: SimHost,
    io: StreamIO,
    header: dict[str, Any],
    records: bytes,
    *,
    verbose: bool,
    parsable: bool,
) -> int:
    """Write the stream to stdout with progress lines; return zfs send's exit code."""
    snap = header["toname"]
    rate, interval = _options(host)
    data = header_bytes(header) + records[int(header["offset"]) :] + trailer_bytes(records)
    cut = take_send_cut(host, len(data))
    if cut is not None:
        # An injected dropped connection (streams.set_stream_faults): the reader is gone.
        data = data[:cut]
    if verbose and not parsable:
        io.err(f"TIME        SENT   SNAPSHOT {snap}")
    started = time.monotonic()
    next_tick = started + interval
    sent = 0
    try:
        while sent < len(data):
            if io.cancelled.is_set():
                return 1
            chunk = data[sent : sent + CHUNK]
            io.stdout.write(chunk)
            sent += len(chunk)
            if rate:
                # Keep to the configured rate so a test or the demo sees progress lines.
                delay = started + sent / rate - time.monotonic()
                if delay > 0:
                    io.cancelled.wait(delay)
            now = time.monotonic()
            if verbose and now >= next_tick and sent < len(data):
                clock = time.strftime("%H:%M:%S", time.localtime())
                if parsable:
                    io.err(f"{clock}\t{sent}\t{snap}")
                else:
                    io.err(f"{clock}   {nicebytes(sent):>5}   {snap}")
                next_tick = now + interval
        io.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        cut = 0
    if cut is not None:
        io.err(f"warning: cannot send '{snap}': Broken pipe")
        return 1
    return 0


def zfs_send(host: SimHost, args: list[str], io: StreamIO) -> int:
    try:
        opts, rest = getopts(args[1:], "cvPnLei:t:DbhpVw")
    except CommandExit as exc:
        raise CommandExit(exc.rc, *exc.lines, *_SEND_USAGE) from exc
    flags = {flag for flag, _ in opts}
    values = dict(opts)
    parsable = "-P" in flags
    verbose = "-v" in flags or parsable
    dry_run = "-n" in flags
    if "-t" in values:
        if "-i" in values:
            raise CommandExit(2, "invalid flags combined with -t", *_SEND_USAGE)
        if rest:
            raise CommandExit(2, "too many arguments", *_SEND_USAGE)
        return _send_resume(host, io, values["-t"], verbose, parsable, dry_run)
    if not rest:
        raise CommandExit(2, "missing snapshot argument", *_SEND_USAGE)
    if len(rest) > 1:
        raise CommandExit(2, "too many arguments", *_SEND_USAGE)
    snap = rest[0]
    from_snap = values.get("-i")
    if from_snap is not None:
        if "@" not in from_snap and "#" not in from_snap:
            io.err(
                "Warning: incremental source didn't specify type, assuming snapshot. "
                "Use '@' or '#' prefix to avoid ambiguity."
            )
            from_snap = "@" + from_snap
        if from_snap.startswith("@"):
            from_snap = snap.split("@", 1)[0] + from_snap
    header, records = build_stream(host, snap, from_snap, "-c" in flags)
    if verbose:
        _estimate(io, dry_run, header, stream_size(header, records), parsable)
    if dry_run:
        return 0
    return write_stream(host, io, header, records, verbose=verbose, parsable=parsable)


def _send_resume(
    host: SimHost, io: StreamIO, token: str, verbose: bool, parsable: bool, dry_run: bool
) -> int:
    fields = read_token(token)
    state = host.store.read()
    toname = str(fields["toname"])
    match = next(
        (
            n
            for n, d in state["datasets"].items()
            if d.get("guid") == fields["toguid"] and n.split("@")[0] == toname.split("@")[0]
        ),
        None,
    )
    if match is None:
        why = (
            f"'{toname}' is no longer the same snapshot used in the initial send"
            if toname in state["datasets"]
            else f"'{toname}' used in the initial send no longer exists"
        )
        raise CommandExit(1, f"cannot resume send: {why}")
    from_name = None
    if fields.get("fromguid"):
        from_name = next(
            (n for n, d in state["datasets"].items() if d.get("guid") == fields["fromguid"]), None
        )
        if from_name is None:
            raise CommandExit(
                1,
                "cannot resume send: incremental source "
                f"{guid_number(fields['fromguid']):#x} no longer exists",
            )
    header, records = build_stream(host, match, from_name, bool(fields.get("compressed")))
    header["offset"] = min(int(fields["offset"]), len(records))
    if verbose:
        lines = [
            "resume token contents:",
            "nvlist version: 0",
            f"\tfromguid = {guid_number(fields['fromguid']):#x}" if fields.get("fromguid") else "",
            "\tobject = 0x1",
            f"\toffset = {int(fields['offset']):#x}",
            f"\tbytes = {int(fields['offset']):#x}",
            f"\ttoguid = {guid_number(fields['toguid']):#x}",
            f"\ttoname = {toname}",
        ]
        lines = [line for line in lines if line]
        if dry_run:
            io.stdout.write("".join(f"{line}\n" for line in lines).encode())
        else:
            io.err(*lines)
        _estimate(io, dry_run, header, stream_size(header, records), parsable)
    if dry_run:
        return 0
    return write_stream(host, io, header, records, verbose=verbose, parsable=parsable)
