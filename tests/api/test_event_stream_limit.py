"""One user holds at most 4 job event streams at once (each holds a server thread).

The streams are held open by not reading them (the test client closes a streaming response only
once it has been read to its end); a stream that ends gives its slot back. Real Redis.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse

from jobs import sse
from jobs.choices import JobStatus
from jobs.models import Job
from jobs.redis import get_redis

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_point_at_redis")]


@pytest.fixture
def user(django_user_model) -> Iterator[object]:  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_superuser("sse", "sse@example.com", "pw-sse-12345")
    # User ids repeat across tests: no slot of this test may count against another one's user.
    keys = [sse._slots_key(user.pk), sse._slots_key(user.pk + 10_000)]  # noqa: SLF001
    get_redis().delete(*keys)
    yield user
    get_redis().delete(*keys)


def test_the_fifth_stream_of_one_user_is_refused_until_one_closes(user) -> None:  # type: ignore[no-untyped-def]
    job = Job.objects.create(kind="test.sleep", title="Runs", status=JobStatus.RUNNING,
                             requested_by=user)  # fmt: skip
    client = Client()
    client.force_login(user)
    url = reverse("api:job-events", args=[job.code])
    held = [client.get(url, HTTP_ACCEPT="text/event-stream") for _ in range(sse.STREAMS_PER_USER)]
    assert [r.status_code for r in held] == [200] * sse.STREAMS_PER_USER

    refused = client.get(url, HTTP_ACCEPT="text/event-stream")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert refused.json()["code"] == "throttled"
    assert "4 jobs over event streams" in refused.json()["detail"]

    # The job ends: a stream read to its `end` is closed, and its slot is free again.
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED)
    assert b"event: end" in b"".join(held.pop().streaming_content)
    again = client.get(url, HTTP_ACCEPT="text/event-stream")
    assert again.status_code == 200
    for response in [*held, again]:
        b"".join(response.streaming_content)
    assert get_redis().zcard(sse._slots_key(user.pk)) == 0  # noqa: SLF001


def test_a_slot_lapses_at_its_deadline_and_others_do_not_count(user) -> None:  # type: ignore[no-untyped-def]
    """A worker killed mid-stream never closes it: its slot lapses by itself."""
    dead = -sse.SLOT_GRACE_SECONDS - 1  # a slot whose deadline has passed
    for _ in range(sse.STREAMS_PER_USER):
        assert sse.open_slot(user.pk, dead) is not None
    assert sse.open_slot(user.pk, 300) is not None  # the lapsed ones are dropped first
    assert sse.open_slot(user.pk + 10_000, 300, limit=1) is not None  # another user's count
    live = [sse.open_slot(user.pk, 300) for _ in range(sse.STREAMS_PER_USER - 1)]
    assert all(live) and sse.open_slot(user.pk, 300) is None
