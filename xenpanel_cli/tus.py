"""A tus 1.0 client (https://tus.io/protocols/resumable-upload) on the standard library.

creation: `POST uploads/` with Upload-Length and Upload-Metadata (filename, host, sha256)
answers 201 + Location. core: `PATCH <location>` chunks with Upload-Offset and, per chunk,
`Upload-Checksum: sha256 <base64>` (the checksum extension: a chunk damaged on the way is
refused with 460 and sent again). When a connection drops, `HEAD <location>` tells the offset
the panel holds and the upload goes on from there.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from xenpanel_cli.client import Api, ApiError, Response
from xenpanel_cli.output import bar

VERSION = "1.0.0"
CHUNK = 8 * 2**20
CHECKSUM_MISMATCH = 460
#: Tries per chunk after a dropped connection or a damaged chunk, waiting longer each time.
RETRIES = 5


def metadata(values: dict[str, str]) -> str:
    """`Upload-Metadata`: `key base64(value)` pairs, comma-separated."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()
    )


def chunk_checksum(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(2**20):
            digest.update(block)
    return digest.hexdigest()


class Progress:
    """A bar on stderr: redrawn in place on a terminal, a line per quarter otherwise (logs)."""

    def __init__(self, total: int, stream: IO[str] | None = None, quiet: bool = False) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = self.stream.isatty()
        self.shown_quarter = -1

    def update(self, done: int) -> None:
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r" + bar(done, self.total))
        else:
            quarter = 4 * done // self.total if self.total else 4
            if quarter == self.shown_quarter:
                return
            self.shown_quarter = quarter
            self.stream.write(bar(done, self.total) + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class Uploaded:
    location: str  # the upload's URL (path) on the panel
    size: int
    sha256: str
    last: Response | None  # the answer to the last PATCH (may name the job)
    resumed: int = 0  # how many times the upload went on after an error


class Uploader:
    def __init__(
        self,
        api: Api,
        *,
        chunk: int = CHUNK,
        retries: int = RETRIES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api
        self.chunk = chunk
        self.retries = retries
        self.sleep = sleep

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Tus-Resumable": VERSION, **extra}

    def create(self, size: int, meta: dict[str, str]) -> str:
        reply = self.api.send(
            "POST",
            "uploads/",
            body=b"",
            headers=self.headers(**{"Upload-Length": str(size), "Upload-Metadata": metadata(meta)}),
            retry=False,
        )
        location = reply.header("location")
        if reply.status != 201 or not location:
            raise ApiError(reply.status, "the panel did not create the upload (no Location)")
        return self.api.path(location)

    def offset(self, location: str) -> int:
        reply = self.api.send("HEAD", location, headers=self.headers())
        return int(reply.header("upload-offset") or "0")

    def patch(self, location: str, offset: int, data: bytes) -> Response:
        headers = self.headers(**{
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
            "Upload-Checksum": chunk_checksum(data),
        })  # fmt: skip
        return self.api.send("PATCH", location, body=data, headers=headers, retry=False)

    def upload(
        self,
        path: Path,
        meta: dict[str, str],
        *,
        progress: Progress | None = None,
        location: str | None = None,
    ) -> Uploaded:
        """Send `path` (to a new upload, or on to `location`); resumes after dropped
        connections, offset conflicts and damaged chunks, up to `retries` times in a row."""
        size = path.stat().st_size
        digest = meta.get("sha256") or file_sha256(path)
        meta = {**meta, "sha256": digest}
        location = location or self.create(size, meta)
        offset = self.offset(location) if location and size else 0
        progress = progress or Progress(size, quiet=True)
        result = Uploaded(location, size, digest, None)
        failures = 0
        with path.open("rb") as fh:
            progress.update(offset)
            while offset < size:
                fh.seek(offset)
                data = fh.read(self.chunk)
                try:
                    result.last = self.patch(location, offset, data)
                    offset = int(result.last.header("upload-offset") or offset + len(data))
                    failures = 0
                except ApiError as exc:
                    # 0: the connection dropped; 409: the panel holds another offset;
                    # 460: the chunk arrived damaged. Ask where the panel is and go on.
                    if exc.status not in (0, 409, CHECKSUM_MISMATCH) or failures >= self.retries:
                        raise
                    failures += 1
                    result.resumed += 1
                    self.sleep(min(0.5 * 2 ** (failures - 1), 8.0))
                    offset = self.offset(location)
                progress.update(offset)
        progress.done()
        return result

    def terminate(self, location: str) -> None:
        self.api.send("DELETE", location, headers=self.headers())
