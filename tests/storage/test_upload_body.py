"""Reading an upload chunk straight from gunicorn's client socket (splice or recv_into), and
hashing it in the background.

These use gunicorn's own request parser on a real socket pair, so they check what matters for a
keep-alive connection: the body lands in the file byte for byte, and gunicorn still finds the
next request where it starts. The background hasher follows the file across chunks and is
dropped when its session ends or its thread goes idle.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from storage import uploads
from tests.storage.conftest import iso_bytes
from tests.storage.uploading import new_session, parse_request, put_request, reader, send_later

ISO = iso_bytes(200_000, seed=5)


def _copy(body: uploads.RequestBody, path: Path, size: int) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        at = 0
        while at < size and (n := body.copy_into(fd, at, min(uploads.READ_BLOCK, size - at))):
            at += n
        return at
    finally:
        body.close()
        os.close(fd)


def test_it_copies_the_body_and_leaves_the_next_request_in_place(pair, tmp_path):
    server, client = pair
    data = os.urandom(3 * 2**20 + 4321)
    nxt = b"GET /next/ HTTP/1.1\r\nHost: t\r\n\r\n"
    sender = send_later(client, put_request(data) + nxt)
    parser, req, request = parse_request(server)
    body = uploads.request_body(request)
    assert isinstance(body, uploads._GunicornBody)  # noqa: SLF001
    assert _copy(body, tmp_path / "a.part", len(data)) == len(data)
    sender.join()
    assert (tmp_path / "a.part").read_bytes() == data
    assert req.body.reader.length == 0 and not req.body.failed
    following = next(parser)  # gunicorn drains nothing and reads the next request intact
    assert following.method == "GET" and following.path == "/next/"


def test_it_keeps_what_arrived_when_the_client_stops_mid_body(pair, tmp_path):
    server, client = pair
    data = os.urandom(700_000)
    sender = send_later(client, put_request(data, declared=2 * 2**20), close=True)
    _, req, request = parse_request(server)
    got = _copy(uploads.request_body(request), tmp_path / "b.part", 2 * 2**20)
    sender.join()
    assert got == len(data)
    assert (tmp_path / "b.part").read_bytes() == data
    assert req.body.failed  # gunicorn closes this connection instead of reusing it


def test_it_falls_back_to_read_when_django_has_read_the_body(pair, tmp_path):
    server, client = pair
    data = os.urandom(100_000)
    sender = send_later(client, put_request(data))
    _, _, request = parse_request(server)
    request._read_started = True  # noqa: SLF001
    body = uploads.request_body(request)
    assert isinstance(body, uploads._ReadBody)  # noqa: SLF001
    assert _copy(body, tmp_path / "c.part", len(data)) == len(data)
    sender.join()
    assert (tmp_path / "c.part").read_bytes() == data


def test_it_hashes_a_growing_file_in_the_background(tmp_path):
    path = tmp_path / "grow.part"
    data = os.urandom(9 * 2**20 + 17)
    hasher = uploads._FileHasher(path)  # noqa: SLF001
    with open(path, "wb") as fh:
        for start in range(0, len(data), 3_000_001):
            fh.write(data[start : start + 3_000_001])
            fh.flush()
            hasher.advance(fh.tell())
    assert hasher.digest(len(data)) == hashlib.sha256(data).hexdigest()
    hasher.close()


def test_a_hasher_told_of_bytes_the_file_lacks_gives_no_digest(tmp_path):
    # finish_session then hashes the file itself instead of trusting a hash of fewer bytes.
    path = tmp_path / "short.part"
    path.write_bytes(os.urandom(3 * 2**20))
    hasher = uploads._FileHasher(path)  # noqa: SLF001
    assert hasher.digest(4 * 2**20) is None
    assert isinstance(hasher.error, OSError) and "shorter" in str(hasher.error)
    hasher.close()


@pytest.mark.django_db
def test_it_forgets_a_hasher_whose_thread_went_idle(sim_host, admin_user, monkeypatch):
    monkeypatch.setattr(uploads, "HASHER_IDLE_SECONDS", 0.2)
    session = new_session(sim_host, admin_user, len(ISO))
    uploads.append_chunk(session, 0, reader(ISO[:50_000]), 50_000)
    key = str(session.code)
    assert key in uploads._HASHERS  # noqa: SLF001
    deadline = time.monotonic() + 5
    while key in uploads._HASHERS:  # noqa: SLF001
        assert time.monotonic() < deadline, "the idle hasher was never dropped"
        time.sleep(0.05)
    # The next chunk (in this process or another) hashes from disk and the digest is right.
    assert uploads.append_chunk(session, 50_000, reader(ISO[50_000:]), len(ISO) - 50_000).complete
    session.refresh_from_db()
    assert session.sha256 == hashlib.sha256(ISO).hexdigest()
    assert key not in uploads._HASHERS  # noqa: SLF001


@pytest.mark.django_db
def test_it_drops_the_hasher_when_a_session_ends(sim_host, admin_user):
    for end in (uploads.abort_session, lambda s: uploads.fail_session(s, "no")):
        session = new_session(sim_host, admin_user, len(ISO), f"{id(end)}.iso")
        uploads.append_chunk(session, 0, reader(ISO[:50_000]), 50_000)
        assert str(session.code) in uploads._HASHERS  # noqa: SLF001
        end(session)
        assert str(session.code) not in uploads._HASHERS  # noqa: SLF001
