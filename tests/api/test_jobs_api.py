"""The jobs API: the list the Jobs page would show (same visibility), filters and ordering, the
detail with steps, cancel under the page's rule, and the Server-Sent Events of a running job."""

from __future__ import annotations

import http.client
import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts import tokens
from accounts.models import ApiToken
from hosts.jobs import POLL
from jobs import sse
from jobs.api_support import JobSerializer, JobStepSerializer
from jobs.choices import JobStatus, StepStatus
from jobs.context import JobContext
from jobs.enqueue import Target, add_targets, enqueue
from jobs.models import Job, JobStep
from jobs.registry import job_kind
from tests.api.test_api_matrix import ADMIN, OTHER, OWNER, TEAMMATE, WRITE_TOKEN, client_for
from tests.support.jobs import wait_for_job
from tests.support.roles import roles  # noqa: F401  (fixture)
from tests.test_permission_matrix import World, world  # noqa: F401  (fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]

STEPPED = "test.api.stepped"


@job_kind(STEPPED)
def stepped(ctx: JobContext) -> str:
    """Two slow steps with progress between them: enough for a stream to see each change."""
    seconds = float(ctx.job.params.get("seconds", 0.8))
    for number, percent in ((1, 30), (2, 70)):
        ctx.progress(percent, f"Step {number} of 2", force=True)
        with ctx.step(f"Wait {number}"):
            time.sleep(seconds)
    return "waited"


def _codes(answer: Any) -> list[str]:
    return [row["code"] for row in answer.json()["results"]]


# --- list and detail ------------------------------------------------------------------------
def test_the_list_shows_what_the_jobs_page_shows_each_user(world: World) -> None:  # noqa: F811
    carol = world.users[OTHER]
    theirs = Job.objects.create(kind="iso.fetch", title="Fetch x.iso", requested_by=carol)
    poll = Job.objects.create(kind=POLL, title="Poll xen1", status=JobStatus.SUCCEEDED)
    add_targets(poll, [Target("host", world.host)])
    mine = str(world.job.code)
    assert _codes(client_for(world, OWNER).get(reverse("api:jobs"))) == [mine]
    assert _codes(client_for(world, TEAMMATE).get(reverse("api:jobs"))) == [mine]
    assert _codes(client_for(world, OTHER).get(reverse("api:jobs"))) == [str(theirs.code)]
    admin = client_for(world, ADMIN)
    assert set(_codes(admin.get(reverse("api:jobs")))) == {mine, str(theirs.code)}
    # Scheduled polls are hidden, as on the page, unless asked for.
    with_polls = _codes(admin.get(reverse("api:jobs"), {"polls": "true"}))
    assert str(poll.code) in with_polls
    assert _codes(admin.get(reverse("api:jobs"), {"kind": POLL})) == [str(poll.code)]


def test_the_list_filters_searches_and_orders(world: World) -> None:  # noqa: F811
    admin = client_for(world, ADMIN)
    done = Job.objects.create(
        kind="domain.stop", title="Stop web1", status=JobStatus.FAILED,
        requested_by=world.users[TEAMMATE],
    )  # fmt: skip
    add_targets(done, [Target("host", world.host)])
    url = reverse("api:jobs")
    assert _codes(admin.get(url, {"status": "failed"})) == [str(done.code)]
    assert _codes(admin.get(url, {"kind": "domain.start"})) == [str(world.job.code)]
    assert _codes(admin.get(url, {"requested_by": "bob"})) == [str(done.code)]
    on_xen1 = _codes(admin.get(url, {"host": str(world.host.code)}))
    assert on_xen1 == [str(done.code), str(world.job.code)]  # newest first
    assert _codes(admin.get(url, {"host": str(world.local.code)})) == []
    assert _codes(admin.get(url, {"search": "stop"})) == [str(done.code)]
    assert _codes(admin.get(url, {"ordering": "created_at"}))[0] == str(world.job.code)
    assert _codes(admin.get(url, {"ordering": "-status"}))[0] == str(world.job.code)  # queued
    page = admin.get(url, {"limit": 1}).json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]
    assert admin.get(url, {"status": "bogus"}).status_code == 400
    assert admin.get(url, {"host": "not-a-uuid"}).status_code == 400
    assert admin.get(url, {"search": "a\x00b"}).status_code == 400


def test_the_detail_carries_the_steps(world: World) -> None:  # noqa: F811
    JobStep.objects.create(
        job=world.job, seq=1, label="Start", argv=["xl", "create", "web1.cfg"],
        status=StepStatus.FAILED, rc=3, seconds=0.25, output="x" * 5000 + "the end",
    )  # fmt: skip
    body = client_for(world, TEAMMATE).get(reverse("api:job", args=[world.job.code])).json()
    assert body["page"] == world.job.get_absolute_url()
    assert body["requested_by"] == "alice"
    step = body["steps"][0]
    assert (step["argv"], step["rc"], step["status"]) == (["xl", "create", "web1.cfg"], 3, "failed")
    assert step["output_tail"].endswith("the end") and len(step["output_tail"]) == 4000


# --- cancel -------------------------------------------------------------------------------------
def test_cancel_follows_the_page_rule_and_answers_202_then_409(world: World) -> None:  # noqa: F811
    url = reverse("api:job-cancel", args=[world.job.code])
    refused = client_for(world, TEAMMATE).post(url)
    assert refused.status_code == 403  # someone else's job: admins only, as on the page
    answer = client_for(world, WRITE_TOKEN).post(url)
    assert answer.status_code == 202
    assert answer["Location"] == reverse("api:job", args=[world.job.code])
    assert answer.json()["status"] == "cancelled" and answer.json()["cancel_requested"] is True
    again = client_for(world, ADMIN).post(url)
    assert again.status_code == 409
    assert again.json()["detail"] == f"Job #{world.job.pk} has already ended (cancelled): " + (
        "nothing to stop."
    )


# --- events: the generator, step by step ---------------------------------------------------------
def _parse(chunks: list[str]) -> list[tuple[str, dict[str, str]]]:
    """(event name or 'comment'/'retry', fields) for each SSE block."""
    found = []
    for block in "".join(chunks).split("\n\n"):
        if not block:
            continue
        if block.startswith(":"):
            found.append(("comment", {"text": block}))
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        found.append((fields.get("event", "retry" if "retry" in fields else "?"), fields))
    return found


def test_the_stream_sends_progress_steps_and_end_as_the_row_changes(world: World) -> None:  # noqa: F811
    job = world.job
    changes = iter(
        [
            lambda: Job.objects.filter(pk=job.pk).update(status="running", message="Starting"),
            lambda: None,  # nothing changed: no event
            lambda: JobStep.objects.create(job=job, seq=1, label="Create", argv=["xl", "create"]),
            lambda: JobStep.objects.filter(job=job, seq=1).update(status="ok", rc=0),
            lambda: Job.objects.filter(pk=job.pk).update(status="succeeded", progress=100),
        ]
    )
    stream = sse.job_events(
        job.pk,
        job_json=lambda j: dict(JobSerializer(j).data),
        step_json=lambda s: dict(JobStepSerializer(s).data),
        sleep=lambda _: next(changes)(),
    )
    events = _parse(list(stream))
    names = [name for name, _ in events]
    assert names == ["retry", "progress", "progress", "step", "step", "progress", "end"]
    assert '"status":"running"' in events[2][1]["data"]
    assert '"rc":0' in events[4][1]["data"] and events[4][1]["id"] == "1"
    assert '"status":"succeeded"' in events[-1][1]["data"]


def test_a_quiet_stream_sends_keep_alives_and_closes_when_its_time_is_up(world: World) -> None:  # noqa: F811
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    chunks = list(
        sse.job_events(
            world.job.pk,
            job_json=lambda j: {},
            step_json=lambda s: {},
            max_seconds=40,
            poll=5,
            clock=lambda: now[0],
            sleep=sleep,
        )  # fmt: skip
    )
    events = _parse(chunks)
    assert [n for n, _ in events][:2] == ["retry", "progress"]
    comments = [f["text"] for n, f in events if n == "comment"]
    assert comments.count(": keep-alive") == 2  # at 15 s and 30 s
    assert "reconnect with Last-Event-ID" in comments[-1]


def test_a_reconnecting_client_is_sent_only_the_later_steps(world: World) -> None:  # noqa: F811
    for seq in (1, 2, 3):
        JobStep.objects.create(job=world.job, seq=seq, label=f"S{seq}", status="ok", rc=0)
    Job.objects.filter(pk=world.job.pk).update(status="failed")
    events = _parse(
        list(
            sse.job_events(
                world.job.pk,
                job_json=lambda j: {},
                step_json=lambda s: {"seq": s.seq},
                after_step=sse.last_event_id("2"),
            )  # fmt: skip
        )
    )
    assert [(n, f.get("data")) for n, f in events if n == "step"] == [("step", '{"seq":3}')]
    assert sse.last_event_id("garbage") == 0 and sse.last_event_id(None) == 0


def test_the_events_of_a_job_one_may_not_see_are_a_json_404(world: World) -> None:  # noqa: F811
    url = reverse("api:job-events", args=[world.job.code])
    answer = client_for(world, OTHER).get(url, headers={"Accept": "text/event-stream"})
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert answer.json()["code"] == "not_found"
    bad = client_for(world, OWNER).get(url, {"max_seconds": 0})
    assert bad.status_code == 400 and "max_seconds" in bad.json()["fields"]


# --- events: a live server, a real worker, a running job ------------------------------------------
def _read_stream(base: str, path: str, secret: str, timeout: float = 60) -> tuple[Any, str]:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    conn.request(
        "GET", path,
        headers={"Authorization": f"Bearer {secret}", "Accept": "text/event-stream"},
    )  # fmt: skip
    response = conn.getresponse()
    body = response.read().decode()  # the server closes the stream after `end`
    conn.close()
    return response, body


@pytest.mark.django_db(transaction=True)
def test_a_script_follows_a_running_job_over_sse_until_it_ends(
    worker, live_server, django_user_model
) -> None:
    alice = django_user_model.objects.create_user("alice", password="pw-alice-1234")
    alice.groups.add(Group.objects.get(name="operator"))
    secret = tokens.issue(alice, "follow", scope=ApiToken.Scope.READ).secret
    job = enqueue(STEPPED, title="Two slow steps", targets=[Target("system", label="Panel")],
                  user=alice)  # fmt: skip
    wait_for_job(job, until_active=True)
    response, body = _read_stream(
        live_server.url, reverse("api:job-events", args=[job.code]), secret
    )
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    assert response.getheader("Cache-Control") == "no-cache"
    assert response.getheader("X-Accel-Buffering") == "no"
    events = _parse([body])
    names = [name for name, _ in events]
    assert names[0] == "retry" and names[-1] == "end"
    progress = [f["data"] for n, f in events if n == "progress"]
    assert len(progress) >= 3, names  # running at 30 %, at 70 %, succeeded
    assert '"status":"running"' in progress[0] and '"progress":70' in "".join(progress)
    steps = [f["data"] for n, f in events if n == "step"]
    assert any('"label":"Wait 2"' in s and '"status":"ok"' in s for s in steps), steps
    assert '"status":"succeeded"' in events[-1][1]["data"]
    # The job is over: a client that reconnects gets the state and `end` at once.
    started = time.monotonic()
    _, again = _read_stream(live_server.url, reverse("api:job-events", args=[job.code]), secret)
    assert [n for n, _ in _parse([again])] == ["retry", "step", "step", "progress", "end"]
    assert time.monotonic() - started < 5
    assert (
        Client(headers={"Authorization": f"Bearer {secret}"})
        .get(reverse("api:job", args=[job.code]))
        .json()["status"]
        == "succeeded"
    )
