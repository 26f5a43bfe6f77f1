"""Offer bootable ISO images over HTTP on loopback, so the demo's fetch works offline.

    .venv/bin/python scripts/demo_iso.py [--listen 127.0.0.1:8001] [--rate-mib 2]
    .venv/bin/python scripts/demo_iso.py --urls [--listen ...]   # print the URLs, comma-separated

It serves the installer-like images Debian packages ship (memtest86+, grub-rescue-pc, ipxe),
whichever are installed; with none of them, a generated tiny ISO 9660 image (it boots nothing,
but the panel fetches, checks and attaches it like any other). Downloads are paced (`--rate-mib`)
so the fetch job's progress bar is seen moving. Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import http.server
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: Bootable images from Debian packages (shared/design/environment-notes.md), best first.
SYSTEM_ISOS = [
    ("memtest86+x64.iso", "/usr/lib/memtest86+/memtest86+x64.iso", "memtest86+ test screen"),
    ("grub-rescue-cdrom.iso", "/usr/lib/grub-rescue/grub-rescue-cdrom.iso", "GRUB rescue shell"),
    ("ipxe.iso", "/usr/lib/ipxe/ipxe.iso", "iPXE network boot prompt"),
]
TINY_NAME = "xenpanel-demo-tiny.iso"
TINY_SIZE = 1024 * 1024
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Image:
    """One offered file: its URL name, where its bytes are, and what it is."""

    name: str
    path: Path | None
    about: str
    data: bytes = b""

    @property
    def size(self) -> int:
        return self.path.stat().st_size if self.path else len(self.data)

    def read(self) -> bytes:
        return self.path.read_bytes() if self.path else self.data


def tiny_iso() -> bytes:
    """Return a 1 MiB ISO 9660 image: a primary volume descriptor and the set terminator."""
    data = bytearray(TINY_SIZE)
    pvd = bytearray(2048)
    pvd[0:7] = b"\x01CD001\x01"
    pvd[8:40] = b"XENPANEL".ljust(32)
    pvd[40:72] = b"XENPANEL_DEMO".ljust(32)
    blocks = TINY_SIZE // 2048
    pvd[80:88] = blocks.to_bytes(4, "little") + blocks.to_bytes(4, "big")
    pvd[128:132] = (2048).to_bytes(2, "little") + (2048).to_bytes(2, "big")
    data[16 * 2048 : 17 * 2048] = pvd
    data[17 * 2048 : 17 * 2048 + 7] = b"\xffCD001\x01"
    return bytes(data)


def available() -> list[Image]:
    """Return the images to offer: the installed system ones, else the generated tiny one."""
    found = [
        Image(name, Path(path), about) for name, path, about in SYSTEM_ISOS if Path(path).is_file()
    ]
    return found or [Image(TINY_NAME, None, "generated ISO 9660 image (not bootable)", tiny_iso())]


def base_url(listen: str) -> str:
    host, _, port = listen.rpartition(":")
    return f"http://{host or '127.0.0.1'}:{port}/"


def make_handler(images: list[Image], rate: float) -> type[http.server.BaseHTTPRequestHandler]:
    """Return a request handler serving `images`, at most `rate` bytes/s per download."""
    by_name = {f"/{image.name}": image for image in images}
    sums = {image.name: hashlib.sha256(image.read()).hexdigest() for image in images}

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "xenpanel-demo-isos"

        def _send(self, body: bytes, content_type: str, length: int | None = None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()

        def _index(self) -> bytes:
            rows = "".join(
                f"<tr><td><a href='{html.escape(i.name)}'>{html.escape(i.name)}</a></td>"
                f"<td>{i.size:,}</td><td>{html.escape(i.about)}</td>"
                f"<td><code>{sums[i.name]}</code></td></tr>"
                for i in images
            )
            return (
                "<!doctype html><title>xenpanel demo ISOs</title><h1>Demo ISO images</h1>"
                "<p>Paste a link into the panel's <em>Fetch an ISO</em> form.</p>"
                f"<table border=1 cellpadding=4><tr><th>File</th><th>Bytes</th><th>What</th>"
                f"<th>SHA-256</th></tr>{rows}</table>"
            ).encode()

        def _respond(self, with_body: bool) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/":
                body = self._index()
                self._send(body, "text/html; charset=utf-8")
                if with_body:
                    self.wfile.write(body)
                return
            if path == "/SHA256SUMS":
                body = "".join(f"{s}  {n}\n" for n, s in sums.items()).encode()
                self._send(body, "text/plain; charset=utf-8")
                if with_body:
                    self.wfile.write(body)
                return
            image = by_name.get(path)
            if image is None:
                self.send_error(404)
                return
            self._send(b"", "application/octet-stream", image.size)
            if with_body:
                self._stream(image.read())

        def _stream(self, data: bytes) -> None:
            pause = CHUNK / rate if rate > 0 else 0.0
            try:
                for start in range(0, len(data), CHUNK):
                    self.wfile.write(data[start : start + CHUNK])
                    if pause:
                        time.sleep(pause)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the fetch was cancelled

        def do_HEAD(self) -> None:  # noqa: N802
            self._respond(with_body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._respond(with_body=True)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            sys.stderr.write(f"demo-isos: {self.address_string()} {format % args}\n")

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="demo_iso", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--listen", default="127.0.0.1:8001", help="host:port (default %(default)s)"
    )
    parser.add_argument(
        "--rate-mib", type=float, default=2.0, help="MiB/s per download, 0: no limit"
    )
    parser.add_argument("--urls", action="store_true", help="print the image URLs and exit")
    args = parser.parse_args(argv)
    images = available()
    url = base_url(args.listen)
    if args.urls:
        print(",".join(url + image.name for image in images))
        return 0
    host, _, port = args.listen.rpartition(":")
    handler = make_handler(images, args.rate_mib * 2**20)
    server = http.server.ThreadingHTTPServer((host or "127.0.0.1", int(port)), handler)
    server.daemon_threads = True
    names = ", ".join(image.name for image in images)
    print(f"demo-isos: serving {names} at {url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
