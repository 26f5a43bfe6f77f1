"""What travels between `xl migrate` and `xl migrate-receive` (Xen tools/xl/xl.h, xl_saverestore.c).

The handshake messages and the save-file header are byte for byte Xen's: the receiver's banner
(without its NUL), "domain received, ready to unpause", "domain is yours, you are cleared to
unpause" and "my copy unpause results are as follows" (each with its NUL, as xl sends
`sizeof`), then one status byte. The header is the 32-byte magic, the byte-order word 0x01020304,
mandatory flags 0x3 (STREAMv2 | JSON), optional flags 0 and the optional data: a u32 length and
the config with its NUL. The config is the simulator's domain record as JSON (real xl sends
libxl's JSON); the memory image that follows stands in for libxc's stream: a u64 length, the
image (one 4 KiB page per MiB of memory, at least 1 MiB, so it never fits in a pipe's buffer),
and after the sender suspends the domain, the image's sha256 and b"DONE".
"""

from __future__ import annotations

import hashlib
import json
import random
import struct
from typing import IO, Any

BANNER = b"xl migration receiver ready, send binary domain data.\n"
READY = b"domain received, ready to unpause\0"
GO = b"domain is yours, you are cleared to unpause\0"
REPORT = b"my copy unpause results are as follows\0"
MAGIC = b"Xen saved domain, xl format\n \0 \r"
BYTEORDER = 0x01020304
FLAGS_JSON_STREAMV2 = 0x3
HEADER = struct.Struct("=32sIIII")
U32 = struct.Struct("=I")
U64 = struct.Struct(">Q")
DONE = b"DONE"
INCOMING_SOURCE = "<incoming migration stream>"
#: Fields of a domain record that belong to this run on this host, not to its config.
RUNTIME: tuple[str, ...] = (
    "domid",
    "created",
    "paused",
    "run_since",
    "cpu_acc",
    "shutdown_reason",
    "vnc_port",
)
RUNTIME += ("vnc_pid", "vnc_instance", "vnc_server")


def header(config: bytes) -> bytes:
    """The xl save-file header and optional data for a config (NUL-terminated)."""
    optdata = U32.pack(len(config)) + config
    return HEADER.pack(MAGIC, BYTEORDER, FLAGS_JSON_STREAMV2, 0, len(optdata)) + optdata


def config_bytes(record: dict[str, Any]) -> bytes:
    clean = {k: v for k, v in record.items() if k not in RUNTIME and k != "warnings"}
    return json.dumps(clean, sort_keys=True).encode() + b"\0"


def image(record: dict[str, Any]) -> bytes:
    """The stand-in memory image: deterministic for a domain's uuid and memory size."""
    pages = max(256, int(record.get("memory", 128)))
    return random.Random(str(record.get("uuid", ""))).randbytes(pages * 4096)


def digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def read_exactly(stream: IO[bytes], size: int) -> bytes:
    """Read `size` bytes; fewer means the other end went away (libxl_read_exactly's EOF)."""
    chunks, left = [], size
    while left > 0:
        try:
            chunk = stream.read(left)
        except (OSError, ValueError):
            chunk = b""
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def truncated(what: str, source: str) -> str:
    """libxl_read_exactly's line when the stream ends (libxl_utils.c READ_WRITE_EXACTLY)."""
    return (
        "libxl: error: libxl_utils.c:507:libxl_read_exactly: "
        f"file/stream truncated reading {what} from {source}"
    )
