"""Compression and caching (issue 16 item 3).

Static files: hashed names from collectstatic (the session's STATIC_ROOT, tests/conftest.py),
served by whitenoise gzip-encoded from their .gz copies and cached as immutable. HTML: gzip when
the browser asks. Streams (Server-Sent Events): never compressed, or events would be held back.
"""

from __future__ import annotations

import gzip
import json
import posixpath
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

from jobs.choices import JobStatus
from jobs.models import Job

pytestmark = pytest.mark.django_db

HASHED = re.compile(r"\.[0-9a-f]{12}\.")
YEAR = 365 * 24 * 3600


def _body(response) -> bytes:  # type: ignore[no-untyped-def]
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def _max_age(response) -> int:  # type: ignore[no-untyped-def]
    return int(re.search(r"max-age=(\d+)", response["Cache-Control"]).group(1))


@pytest.mark.parametrize(
    "name", ["css/panel.css", "vendor/bootstrap/bootstrap.min.css", "vendor/htmx/htmx.min.js"]
)
def test_a_static_file_has_a_hashed_name_and_is_served_gzipped_and_cached_for_good(
    client, name: str
) -> None:
    url = static(name)
    assert HASHED.search(url), url  # {% static %} links the hashed copy
    response = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert _max_age(response) >= YEAR and "immutable" in response["Cache-Control"]
    source = Path(settings.BASE_DIR, "static", name).read_bytes()
    compressed = _body(response)
    assert len(compressed) < len(source) / 2
    if name.endswith(".js"):  # CSS may have its url(...) references rewritten to hashed names
        assert gzip.decompress(compressed) == source

    # A browser that does not accept gzip gets the file as it is.
    plain = client.get(url)
    assert not plain.has_header("Content-Encoding")
    if name.endswith(".js"):
        assert _body(plain) == source


def test_an_unhashed_name_is_not_cached_for_long(client) -> None:
    """The plain copy is only for whoever asks for it by name: it may change with a release."""
    response = client.get("/static/css/panel.css")
    assert response.status_code == 200
    assert "immutable" not in response["Cache-Control"] and _max_age(response) < 3600


def test_every_module_the_console_loads_is_imported_by_its_hashed_name() -> None:
    """console-page.js → console.js and noVNC's rfb.js → … → pako: every relative import in the
    collected module tree names a hashed file that exists (the manifest rewrote them)."""
    root = Path(settings.STATIC_ROOT)
    manifest = json.loads((root / "staticfiles.json").read_text())["paths"]
    hashed = set(manifest.values())
    todo, seen = [manifest["js/console-page.js"]], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        text = (root / name).read_text()
        for target in re.findall(r"""\bfrom\s*["'](\.[^"']+)["']""", text):
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
            assert resolved in hashed, f"{name} imports {target}: not a hashed file"
            todo.append(resolved)
    assert any(n.startswith("vendor/novnc/core/rfb.") for n in seen)
    assert any(n.startswith("vendor/novnc/vendor/pako/") for n in seen)
    assert len(seen) > 30


def test_a_page_is_gzipped_when_the_browser_accepts_it(admin_client) -> None:
    response = admin_client.get(reverse("dashboard"), HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    html = gzip.decompress(response.content).decode()
    assert len(response.content) < len(html) / 2  # an empty dashboard: ~7 KB to ~2.5 KB
    assert re.search(r'href="/static/css/panel\.[0-9a-f]{12}\.css"', html), html[:2000]

    plain = admin_client.get(reverse("dashboard"))
    assert not plain.has_header("Content-Encoding") and b"<html" in plain.content


def test_the_job_event_stream_is_never_gzipped(admin_client, admin_user) -> None:
    job = Job.objects.create(
        kind="test.sleep", title="Done", status=JobStatus.SUCCEEDED, progress=100,
        requested_by=admin_user,
    )  # fmt: skip
    response = admin_client.get(
        reverse("api:job-events", args=[job.code]),
        HTTP_ACCEPT="text/event-stream",
        HTTP_ACCEPT_ENCODING="gzip, deflate, br",
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response.streaming and not response.has_header("Content-Encoding")
    body = _body(response).decode()
    assert "event: end" in body
