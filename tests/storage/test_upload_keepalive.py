"""A PUT on a keep-alive connection, refused or taken: gunicorn finds the next request in step.

Each test runs gunicorn's own request parser on a loopback socket pair. Gunicorn's first read
takes the headers and the start of the body with them; after a refused PUT it must drain exactly
the rest of the body, and nothing (pipes, descriptors) may be left behind.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Callable

import pytest

from storage import uploads
from storage.models import UploadSession
from tests.storage.conftest import iso_bytes
from tests.storage.uploading import (
    NEXT,
    mark_complete,
    new_session,
    parse_request,
    put_request,
    send_ahead,
)

pytestmark = pytest.mark.django_db

ISO = iso_bytes(200_000, seed=5)
# Requests a client might pipeline after NEXT: enough bytes that a drain which eats into NEXT
# still finds an end (so a desync shows as the wrong request, not a hang).
FILLER = b"GET /filler/ HTTP/1.1\r\nHost: t\r\n\r\n" * 2000


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _discard(session: UploadSession) -> None:
    session.local_path.unlink()


REFUSALS: dict[str, tuple[int, Callable[[UploadSession], None] | None, int, int]] = {
    # name: (body length, prepare, Upload-Offset, expected status)
    "wrong offset": (3000, None, 5, 409),
    "past the declared size": (len(ISO) + 1, None, 0, 413),
    "session complete": (3000, mark_complete, 0, 409),
    "file discarded": (3000, _discard, 0, 410),
    "large body, wrong offset": (700_000, None, 7, 409),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_it_keeps_the_connection_in_step_after_a_refused_put(case, pair, sim_host, admin_user):
    server, client = pair
    length, prepare, offset, status = REFUSALS[case]
    session = new_session(sim_host, admin_user, len(ISO))
    if prepare:
        prepare(session)
    sender = send_ahead(server, client, put_request(os.urandom(length)) + NEXT + FILLER)
    parser, _req, request = parse_request(server)
    fds = _open_fds()
    with pytest.raises(uploads.UploadRefused) as refused:
        uploads.append_chunk(session, offset, uploads.request_body(request), length)
    assert refused.value.status == status
    assert _open_fds() == fds  # no pipe left behind
    following = next(parser)  # gunicorn drains the refused body, then reads the next request
    assert (following.method, following.path) == ("GET", "/next/")
    sender.join()


def test_it_keeps_the_connection_in_step_when_another_request_is_writing(
    pair, sim_host, admin_user
):
    server, client = pair
    session = new_session(sim_host, admin_user, len(ISO))
    sender = send_ahead(server, client, put_request(os.urandom(3000)) + NEXT + FILLER)
    parser, _req, request = parse_request(server)
    fd = os.open(session.local_path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # the other writer
        with pytest.raises(uploads.UploadRefused) as refused:
            uploads.append_chunk(session, 0, uploads.request_body(request), 3000)
    finally:
        os.close(fd)
    assert refused.value.status == 409
    following = next(parser)
    assert (following.method, following.path) == ("GET", "/next/")
    sender.join()


def test_it_leaks_no_descriptor_on_puts_refused_before_the_copy(sim_host, admin_user):
    done = new_session(sim_host, admin_user, len(ISO), "done.iso")
    mark_complete(done)
    gone = new_session(sim_host, admin_user, len(ISO), "gone.iso")
    _discard(gone)
    before = _open_fds()
    for _ in range(20):
        for session in (done, gone):
            with socket.create_server(("127.0.0.1", 0)) as listener:
                client = socket.create_connection(listener.getsockname())
                server, _ = listener.accept()
            with server, client:
                client.sendall(put_request(b"x" * 100))
                _, _, request = parse_request(server)
                with pytest.raises(uploads.UploadRefused):
                    uploads.append_chunk(session, 0, uploads.request_body(request), 100)
    assert _open_fds() == before


def test_it_still_copies_a_body_partly_read_ahead(pair, sim_host, admin_user):
    server, client = pair
    session = new_session(sim_host, admin_user, len(ISO))
    sender = send_ahead(server, client, put_request(ISO[:150_000]) + NEXT)
    parser, req, request = parse_request(server)
    result = uploads.append_chunk(session, 0, uploads.request_body(request), 150_000)
    assert result.offset == 150_000 and not result.complete
    assert session.local_path.read_bytes() == ISO[:150_000]
    assert req.body.reader.length == 0 and not req.body.failed
    following = next(parser)
    assert (following.method, following.path) == ("GET", "/next/")
    sender.join()
    uploads.abort_session(session)
