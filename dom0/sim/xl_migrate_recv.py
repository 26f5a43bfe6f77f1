"""`xl migrate-receive [-e] [-d] [-p]`: the receiving side, run by the sender through ssh.

Follows Xen tools/xl/xl_migrate.c `migrate_receive` and xl_vmcontrol.c `create_domain` (restore
path): banner on stdout, "Loading new save file <incoming migration stream> (new xl fmt info
0x3/0x0/N)", " Savefile contains xl domain config in JSON format", "Parsing config from
<saved>", the domain is made as `<name>--incoming` (paused), then "Transfer complete, requesting
permission to start domain.", and after the sender's go: rename, unpause (not with -p), "Domain
started successsfully." (sic, three s in Xen's source) and the report byte.

Failures, as libxl reaches them: a disk target missing here fails while the domain is made
(libxl_create.c `initiate_domain_create`, before any memory is read); memory that does not fit
fails while the image is read (xc restore's populate_physmap). Both end with "migration target:
Domain creation failed (code N)." and exit 1, so the sender's writes break. A name already
taken here fails at the rename after the go: the receiver reports the failure, destroys its
copy and gives the sender permission to resume.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import domains, streams, vnc
from . import xl_migrate_proto as proto
from .state import State
from .streams import StreamIO

if TYPE_CHECKING:
    from .host import SimHost


def _libxl(file: str, line: int, func: str, text: str, domid: int | None = None) -> str:
    where = f"Domain {domid}:" if domid is not None else ""
    return f"libxl: error: {file}:{line}:{func}: {where}{text}"


def _send(io: StreamIO, data: bytes) -> bool:
    try:
        io.stdout.write(data)
        io.stdout.flush()
    except (BrokenPipeError, OSError, ValueError):
        return False
    return True


def _failed(io: StreamIO, code: int, *lines: str) -> int:
    io.err(*lines, f"migration target: Domain creation failed (code {code}).")
    return 1


def _missing_disk(host: SimHost, record: dict[str, Any], domid: int) -> list[str] | None:
    for index, disk in enumerate(record.get("disks", [])):
        target = disk.get("target")
        if target and not host.local(target).exists():
            return [
                _libxl(
                    "libxl_device.c",
                    468,
                    "libxl__device_disk_set_backend",
                    f"Disk vdev={disk['vdev']} failed to stat: {target}: No such file or directory",
                ),
                _libxl(
                    "libxl_create.c",
                    1331,
                    "initiate_domain_create",
                    f"Unable to set disk defaults for disk {index}",
                    domid,
                ),
            ]
    return None


def _out_of_memory(domid: int) -> list[str]:
    # The xc lines are UNVERIFIED in wording and order (xg_sr_restore.c populate_pfns and
    # restore(); relayed by the save helper); the libxl lines are from libxl_stream_read.c and
    # libxl_create.c.
    return [
        "xc: error: Failed to populate physmap (12 = Cannot allocate memory): Internal error",
        "xc: error: Failed to populate pfns for batch of 1024 pages: Internal error",
        "xc: error: Restore failed (12 = Cannot allocate memory): Internal error",
        _libxl(
            "libxl_stream_read.c",
            850,
            "libxl__xc_domain_restore_done",
            "restoring domain: Cannot allocate memory",
        ),
        _libxl(
            "libxl_create.c", 1653, "domcreate_rebuild_done", "cannot (re-)build domain: -3", domid
        ),
    ]


def _broken_stream(domid: int) -> list[str]:
    # UNVERIFIED: what xc reports when the sender goes away mid-image.
    return [
        "xc: error: Failed to read Record Header from stream (0 = Success): Internal error",
        "xc: error: Restore failed (0 = Success): Internal error",
        _libxl(
            "libxl_stream_read.c",
            850,
            "libxl__xc_domain_restore_done",
            "restoring domain: Success",
        ),
        _libxl(
            "libxl_create.c", 1653, "domcreate_rebuild_done", "cannot (re-)build domain: -3", domid
        ),
    ]


def _read_config(io: StreamIO) -> dict[str, Any] | int:
    raw = proto.read_exactly(io.stdin, proto.HEADER.size)
    if len(raw) < proto.HEADER.size:
        io.err(proto.truncated("header", proto.INCOMING_SOURCE))
        return 1
    magic, order, mandatory, optional, optlen = proto.HEADER.unpack(raw)
    if magic != proto.MAGIC:
        return _failed(io, -6, "File has wrong magic number - corrupt or for a different tool?")
    if order != proto.BYTEORDER:
        return _failed(io, -6, "File has wrong byte order")
    io.err(
        f"Loading new save file {proto.INCOMING_SOURCE} "
        f"(new xl fmt info 0x{mandatory:x}/0x{optional:x}/{optlen})"
    )
    optdata = proto.read_exactly(io.stdin, optlen)
    if len(optdata) < optlen:
        io.err(proto.truncated("optdata", proto.INCOMING_SOURCE))
        return 1
    io.err(" Savefile contains xl domain config in JSON format", "Parsing config from <saved>")
    (length,) = proto.U32.unpack_from(optdata)
    record: dict[str, Any] = json.loads(optdata[4 : 4 + length].rstrip(b"\0"))
    return record


def _read_memory(host: SimHost, io: StreamIO, record: dict[str, Any], domid: int) -> bool | int:
    size_raw = proto.read_exactly(io.stdin, proto.U64.size)
    if len(size_raw) < proto.U64.size:
        return _failed(io, -3, *_broken_stream(domid))
    (size,) = proto.U64.unpack(size_raw)
    first = proto.read_exactly(io.stdin, min(size, 64 * 1024))
    if int(record.get("memory", 0)) > domains.free_memory_mib(host.store.read()):
        return _failed(io, -3, *_out_of_memory(domid))
    rest = proto.read_exactly(io.stdin, size - len(first))
    tail = proto.read_exactly(io.stdin, 32 + len(proto.DONE))
    memory = first + rest
    if len(memory) < size or tail != proto.digest(memory) + proto.DONE:
        return _failed(io, -3, *_broken_stream(domid))
    return True


def _make(host: SimHost, state: State, record: dict[str, Any], domid: int) -> list[str] | None:
    """Add the domain as `<name>--incoming`, paused, with its device model (VNC)."""
    dom = dict(record)
    dom["name"] = f"{record['name']}--incoming"
    dom |= {
        "domid": domid,
        "created": host.now(),
        "paused": True,
        "run_since": None,
        "cpu_acc": 0.0,
        "shutdown_reason": None,
        "vnc_port": None,
    }
    dom.setdefault("pv_drivers", False)
    settings = dom.get("vnc")
    if settings and settings.get("enable"):
        dom["vnc_port"] = domains.allocate_vnc_port(
            state, int(settings.get("display") or 0), bool(settings.get("findunused"))
        )
    state["domains"][dom["name"]] = dom
    problem = vnc.launch(host, state, dom)
    if problem is not None:
        del state["domains"][dom["name"]]
    return problem


def xl_migrate_receive(host: SimHost, args: list[str], io: StreamIO) -> int:
    if any(not a.startswith("-") for a in args):
        io.err("Usage: xl [-v] migrate-receive [-d] [-e] [-p]")
        return 1
    flags = {
        letter for a in args if a.startswith("-") and not a.startswith("--") for letter in a[1:]
    }
    io.err("migration target: Ready to receive domain.")
    if not _send(io, proto.BANNER):
        return 1
    record = _read_config(io)
    if isinstance(record, int):
        return record
    with host.store.edit() as state:
        domid = int(state["next_domid"])
        state["next_domid"] = domid + 1
    problem = _missing_disk(host, record, domid)
    if problem is not None:
        return _failed(io, -6, *problem)
    outcome = _read_memory(host, io, record, domid)
    if outcome is not True:
        return int(outcome)
    with host.store.edit() as state:
        problem = _make(host, state, record, domid)
    if problem is not None:
        return _failed(io, -3, *problem)
    io.err("migration target: Transfer complete, requesting permission to start domain.")
    if not _send(io, proto.READY):
        return 1
    fault = streams.take_migrate_fault(host)
    if fault == "hangup-after-ready":
        return _hangup(io)
    rc = _start(host, io, record["name"], domid, "p" in flags)
    if fault == "hangup-after-start" and rc == 0:
        return _hangup(io)
    if not _send(io, proto.REPORT + bytes([(-rc) & 0xFF])):
        return 1
    if rc:
        io.err("migration target: Failure, destroying our copy.")
        with host.store.edit() as state:
            dom = domains.by_id(state, domid)
            if dom is not None:
                del state["domains"][dom["name"]]
                vnc.stop(dom)
        io.err("migration target: Cleanup OK, granting sender permission to resume.")
        if not _send(io, proto.GO):
            return 1
    return 0


def _hangup(io: StreamIO) -> int:
    """An injected dropped connection (streams.set_stream_faults): this end is killed by SIGHUP
    without a word or any clean-up, so what it holds (`<name>--incoming`, or the started domain)
    stays, and the sender sees its stream end in the final handshake."""
    for stream in (io.stdout, io.stdin):
        try:
            stream.close()
        except OSError:
            pass
    return 129


def _start(host: SimHost, io: StreamIO, name: str, domid: int, paused: bool) -> int:
    """Wait for the go, then rename and unpause; return libxl's rc (0 = started)."""
    got = proto.read_exactly(io.stdin, len(proto.GO))
    if got != proto.GO:
        if len(got) < len(proto.GO):
            io.err(proto.truncated("GO message", "migration stream"))
        else:
            io.err("migration stream contained unexpected data instead of GO message")
        return 1
    io.err("migration target: Got permission, starting domain.")
    with host.store.edit() as state:
        dom = domains.by_id(state, domid)
        if dom is None:
            return -3
        if name in state["domains"]:
            io.err(
                _libxl(
                    "libxl_domain.c",
                    81,
                    "libxl__domain_rename",
                    f'Domain with name "{name}" already exists.',
                    domid,
                )
            )
            return -6
        del state["domains"][dom["name"]]
        dom["name"] = name
        state["domains"][name] = dom
        if not paused:
            dom["paused"], dom["run_since"] = False, host.now()
    io.err("migration target: Domain started successsfully.")
    return 0
