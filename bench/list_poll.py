"""Benchmark: what an open domU list tab transfers per minute while one job runs.

Seeds 50 hosts × 40 domUs with bench/dashboard.py's seed(), opens /domains/ (the first page) and
then plays one minute of the tab's life on a simulated clock, issuing each poll the page would
(its pace is the poll element's `every Ns`, fast while a job runs on a row of the page):
  - a shutdown job runs on a domU of the first page the whole minute (the worst case: its row is
    shown, so the tab polls fast);
  - every 10 s a host poll rewrites the CPU time of every running domU (as records.apply_rows
    does), which must not re-send rows;
  - at 20 s the domU shows "shut down", at 40 s "not running" and the job ends.
It counts response bytes (status line, headers and body) and request bytes (the URL; a browser
adds about 500 bytes of headers and the session cookie, shown separately).
Target: ≤ 50 KB per minute.

    .venv/bin/python bench/list_poll.py [--hosts 50] [--domains 40] [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

#: What a browser sends besides the URL on each poll (headers, session and CSRF cookies).
BROWSER_HEADERS = 500


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--domains", type=int, default=40, help="domUs per host")
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="xenpanel-bench-poll-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "xenpanel.settings",
            "XENPANEL_VAR_DIR": str(work / "var"),
            "XENPANEL_ALLOWED_HOSTS": "testserver,localhost",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from dashboard import seed  # bench/dashboard.py

    user = seed(args.hosts, args.domains, 0)
    play(user, args.seconds, args.hosts * args.domains)


def wire_size(response) -> int:  # type: ignore[no-untyped-def]
    """Bytes on the wire for a response: status line, headers, blank line, body."""
    head = 17 + sum(len(k) + len(v) + 4 for k, v in response.items()) + 2
    return head + len(response.content)


def play(user, seconds: int, total: int) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    from domains.models import Domain, DomainState
    from jobs.enqueue import Target, add_targets
    from jobs.models import Job

    client = Client()
    client.force_login(user)
    page = client.get("/domains/")
    body = page.content.decode()
    first = re.search(r'data-domain="([^"]+)"', body)
    assert first, "no rows on the page"
    busy = Domain.objects.get(name=first.group(1))
    Domain.objects.filter(pk=busy.pk).update(state=DomainState.RUNNING)
    job = Job.objects.create(
        kind="domain.shutdown", title=f"Shut down {busy.name}", requested_by=user, status="running"
    )
    add_targets(job, [Target.locking("domain", busy)])
    page = client.get("/domains/")  # the tab as it looks once the job runs (not counted)
    poll_url, interval = poller(page.content.decode())
    print(f"{total} domUs; first page {wire_size(page) / 1024:.0f} KiB (loaded once, not counted)")

    received = sent = polls = changed = 0
    now = 0.0
    next_poll = float(interval)
    events = {20: DomainState.SHUTDOWN, 40: DomainState.NOT_RUNNING}
    next_cpu = 10
    while next_poll <= seconds:
        now = next_poll
        while next_cpu <= now:
            running = Domain.objects.filter(state=DomainState.RUNNING)
            running.update(cpu_seconds=float(next_cpu))
            next_cpu += 10
        for at, state in list(events.items()):
            if at <= now:
                Domain.objects.filter(pk=busy.pk).update(state=state)
                if state == DomainState.NOT_RUNNING:
                    Job.objects.filter(pk=job.pk).update(status="succeeded")
                del events[at]
        response = client.get(poll_url, headers={"HX-Request": "true"})
        polls += 1
        received += wire_size(response)
        sent += len(poll_url) + BROWSER_HEADERS
        if response.status_code == 200:
            changed += 1
            poll_url, interval = poller(response.content.decode())
        next_poll = now + interval
    minutes = seconds / 60
    print(f"{polls} polls in {seconds} s ({changed} with changes), last pace every {interval} s")
    print(f"received {received / minutes / 1024:6.1f} KiB per minute (target <= 50 KB)")
    print(
        f"sent     {sent / minutes / 1024:6.1f} KiB per minute "
        f"(URL + ~{BROWSER_HEADERS} bytes of browser headers per poll)"
    )


def poller(html: str) -> tuple[str, int]:
    found = re.search(r'id="domain-list-poll" hx-get="([^"]+)" hx-trigger="every (\d+)s"', html)
    assert found, "no poll element"
    return found.group(1).replace("&amp;", "&"), int(found.group(2))


if __name__ == "__main__":
    main()
