"""Show what free page reporting does to page-cache writes on this VM (see bench/upload.py).

Copies 3 GiB over a loopback TCP socket into a file, three times (at once, again at once, and
after 5 s idle), and prints the write rate of each 128 MiB. On a VM that hands freed memory back
to its host, the rate falls from thousands of MiB/s to a few hundred once the writes run out of
memory the guest freed recently.

    .venv/bin/python bench/page_reporting.py [--size-mib 3072]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MiB = 2**20
STEP = 128 * MiB
KNOBS = Path("/sys/module/page_reporting/parameters")


def copy(size: int, target: Path) -> list[int]:
    """Send `size` bytes over loopback into `target`; return MiB/s for each STEP written."""
    server = socket.create_server(("127.0.0.1", 0))
    rates: list[int] = []

    def receive() -> None:
        conn, _ = server.accept()
        view = memoryview(bytearray(MiB))
        got, last = 0, time.perf_counter()
        with conn, open(target, "wb") as out:
            while n := conn.recv_into(view):
                out.write(view[:n])
                got += n
                if got >= (len(rates) + 1) * STEP:
                    now = time.perf_counter()
                    rates.append(round(STEP / MiB / (now - last)))
                    last = now

    thread = threading.Thread(target=receive)
    thread.start()
    block = os.urandom(16 * MiB)
    with socket.create_connection(server.getsockname()) as sock:
        for _ in range(size // len(block)):
            sock.sendall(block)
    thread.join()
    server.close()
    target.unlink()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=3072)
    size = parser.parse_args().size_mib * MiB
    if KNOBS.is_dir():
        settings = ", ".join(f"{p.name}={p.read_text().strip()}" for p in sorted(KNOBS.iterdir()))
        print(f"page_reporting: {settings}")
    else:
        print("no page_reporting module here: expect an even rate throughout")
    (ROOT / "var").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "var") as tmp:
        target = Path(tmp) / "copy.bin"
        for label, pause in (("first", 0), ("again at once", 0), ("after 5 s idle", 5)):
            time.sleep(pause)
            print(f"{label:>15}: MiB/s per 128 MiB: {copy(size, target)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
