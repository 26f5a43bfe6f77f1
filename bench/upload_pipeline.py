"""The upload's receive-and-hash pipeline without HTTP: how the hashing thread should read.

A loopback TCP copy of 1 GiB into a file (the raw copy of bench/upload.py), then the same with
the panel's receive loop (splice socket -> pipe -> file) and a thread hashing the file behind it,
reading the written blocks back in one of three ways:

- `pread`: `preadv` into one reused buffer of `--block-kib` (what hosts/uploads.py does);
- `mmap`: map each block with MAP_POPULATE, hash it, unmap it (the code of 2026-11-25);
- `inline`: no thread; the receiver hashes each block it received (recv_into, hash, write).

It prints MiB/s and the CPU seconds of each thread. Run it as root on these VMs to hold free page
reporting (see bench/upload.py), or expect noise.

    .venv/bin/python bench/upload_pipeline.py [--rounds 3] [--block-kib 1024]
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import mmap
import os
import socket
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from upload import (  # noqa: E402
    BLOCK,
    HeldPageReporting,
    MiB,
    Receiver,
    loopback_copy,
    receive_into_file,
)

ROOT = Path(__file__).resolve().parents[1]
SIZE = 1024 * MiB


class Hasher(threading.Thread):
    """Hash `path` from the start as far as `advance()` says it is written."""

    def __init__(self, path: Path, mode: str, block: int) -> None:
        super().__init__()
        self.path, self.mode, self.block = path, mode, block
        self.cond = threading.Condition()
        self.target, self.finished, self.cpu = 0, False, 0.0
        self.sha = hashlib.sha256()
        self.error: BaseException | None = None

    def advance(self, written: int, finished: bool = False) -> None:
        with self.cond:
            self.target, self.finished = written, finished
            self.cond.notify()

    def run(self) -> None:
        try:
            self._hash()
        except BaseException as exc:  # re-raised by the receiver, after join()
            self.error = exc

    def _hash(self) -> None:
        fd, done = os.open(self.path, os.O_RDONLY), 0
        buffer = memoryview(bytearray(self.block))
        while True:
            with self.cond:
                while self.target <= done and not self.finished:
                    self.cond.wait()
                if self.target <= done:
                    break
                want = min(self.block, self.target - done)
            if self.mode == "pread":
                got = os.preadv(fd, [buffer[:want]], done)
                self.sha.update(buffer[:got])
            else:
                base = done - done % mmap.ALLOCATIONGRANULARITY
                flags = mmap.MAP_SHARED | mmap.MAP_POPULATE
                length, prot = done + want - base, mmap.PROT_READ
                with mmap.mmap(fd, length, flags=flags, prot=prot, offset=base) as m:
                    with memoryview(m) as view:
                        self.sha.update(view[done - base :])
            done += want
        os.close(fd)
        self.cpu = time.thread_time()


def receive_inline(conn: socket.socket, out: int, path: Path) -> dict[str, float]:
    view, sha = memoryview(bytearray(MiB)), hashlib.sha256()
    while n := conn.recv_into(view):
        sha.update(view[:n])
        os.write(out, view[:n])
    return {}


def receive_spliced(
    conn: socket.socket, out: int, path: Path, *, mode: str, block: int
) -> dict[str, float]:
    hasher = Hasher(path, mode, block)
    hasher.start()
    pipe_out, pipe_in = os.pipe()
    fcntl.fcntl(pipe_in, fcntl.F_SETPIPE_SZ, MiB)
    at = 0
    while n := os.splice(conn.fileno(), pipe_in, MiB, flags=os.SPLICE_F_MOVE):
        moved = 0
        while moved < n:
            moved += os.splice(pipe_out, out, n - moved, offset_dst=at + moved)
        at += n
        hasher.advance(at)
    hasher.advance(at, finished=True)
    hasher.join()
    os.close(pipe_out)
    os.close(pipe_in)
    if hasher.error is not None:
        raise hasher.error
    return {"hasher": hasher.cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--block-kib", type=int, default=1024)
    args = parser.parse_args()
    block, kib = args.block_kib * 1024, args.block_kib
    variants: dict[str, Receiver] = {
        "raw copy": receive_into_file,
        f"splice + pread {kib} KiB": partial(receive_spliced, mode="pread", block=block),
        f"splice + mmap {kib} KiB": partial(receive_spliced, mode="mmap", block=block),
        "inline hash": receive_inline,
    }
    (ROOT / "var").mkdir(exist_ok=True)
    with HeldPageReporting() as held, tempfile.TemporaryDirectory(dir=ROOT / "var") as tmp:
        print(held.describe())
        source = Path(tmp) / "source.bin"
        with open(source, "wb") as fh:
            for _ in range(SIZE // BLOCK):
                fh.write(os.urandom(BLOCK))
        for _ in range(args.rounds):
            for name, receive in variants.items():
                t = loopback_copy(source, Path(tmp) / "copy.bin", receive)
                cpu = {"client": t.client_cpu, **t.extra_cpu, "receiver": t.server_cpu}
                threads = ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
                print(f"{name:>24}: {SIZE / MiB / t.seconds:5.0f} MiB/s | CPU s: {threads}")


if __name__ == "__main__":
    main()
