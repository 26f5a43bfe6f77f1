"""The upload page over tus (tus-js-client) in a real browser: the connection drops half-way
through a chunk, the page asks the panel what it has and resumes, and the image reaches the
simulated host with the right SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from dom0.sim import SimHost
from jobs.choices import JobStatus
from jobs.models import Job
from storage.jobs import isos as iso_jobs
from storage.models import IsoImage
from tests.e2e.conftest import accept_confirms, login
from tests.storage.conftest import iso_bytes
from tests.storage.test_upload_cancel import _in_a_browser
from tests.support.jobs import wait_for_job

ISO = iso_bytes(600_000, seed=31)
CHUNK = 128 * 1024


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_resumes_after_the_connection_drops_half_way(
    worker, live_server, django_user_model, settings, sim_host
):
    settings.UPLOAD_CHUNK_BYTES = CHUNK
    django_user_model.objects.create_superuser("admin", "a@example.com", "pw-admin-123")
    image = Path(settings.UPLOAD_DIR).parent / "dropped.iso"
    image.write_bytes(ISO)
    seen: list[tuple[str, int]] = []
    dropped: list[int] = []

    def drop_half_way(route: Any) -> None:
        request = route.request
        offset = int(request.headers.get("upload-offset", "-1"))
        seen.append((request.method, offset))
        body = request.post_data_buffer or b""
        if request.method == "PATCH" and offset >= len(ISO) // 2 and not dropped:
            # Half of this chunk reaches the panel, then the connection is gone.
            half = body[: len(body) // 2]
            route.fetch(post_data=half, headers={**request.headers})
            dropped.append(offset + len(half))
            route.abort("connectionreset")
        else:
            route.continue_()

    def drive(page: Any) -> None:
        login(page, "admin", "pw-admin-123")
        accept_confirms(page)
        page.route("**/api/v1/uploads/*/", drop_half_way)
        page.goto(f"/isos/upload/?host={sim_host.code}")
        page.set_input_files("#id_file", str(image))
        page.fill("#id_file_name", "dropped.iso")
        page.click("#upload-submit")
        page.wait_for_url("**/isos/*/", timeout=30000)

    _in_a_browser(live_server.url, drive)
    assert dropped, seen
    # After the drop the page asked (HEAD) and went on from the byte the panel had, mid-chunk.
    cut = next(i for i, (m, o) in enumerate(seen) if m == "PATCH" and o >= len(ISO) // 2)
    assert ("HEAD", -1) in seen[cut + 1 :], seen
    assert ("PATCH", dropped[0]) in seen[cut + 1 :], seen
    iso = IsoImage.objects.get(file_name="dropped.iso")
    job = wait_for_job(Job.objects.on(iso).get(kind=iso_jobs.UPLOAD))
    assert job.status == JobStatus.SUCCEEDED, job.error
    iso.refresh_from_db()
    digest = hashlib.sha256(ISO).hexdigest()
    assert (iso.state, iso.sha256) == ("ready", digest)
    on_host = SimHost(sim_host.sim_dir).path("/var/lib/xenpanel/isos/dropped.iso")
    assert hashlib.sha256(on_host.read_bytes()).hexdigest() == digest
