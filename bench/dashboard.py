"""Benchmark: the dashboard's server time against rendering its template from memory, same run.

Seeds 50 hosts × 40 domUs × 1,000 jobs into a fresh SQLite DB, then times
  - a full GET / through the test client (middleware, session, auth, queries, template), and
  - rendering dashboard.html from the same context already read into memory,
and counts the SQL queries of the GET with 40 and with 10 domUs per host (it must not grow).
Targets: GET / ≤ 1.5× the in-memory render; the same query count for both sizes.

Then (issue 16) the domU list's first page the same way at 100, 1,000 and 2,000 domUs (the
same hosts, domUs re-seeded per size): GET /domains/ against rendering domains/list.html from
its context in memory. Target ≤ 1.5×, and flat: the page at 2,000 costs what it costs at 100.

    .venv/bin/python bench/dashboard.py [--hosts 50] [--domains 40] [--jobs 1000] [--rounds 40]
                                        [--list-sizes 100,1000,2000] [--list-only] [--http]

`--http` also times GET /domains/ from gunicorn (as the Procfile runs it) over HTTP, gzip
accepted, at each size: the figure issue 16 compares with WebVirtCloud's 683 ms at 1,000.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--domains", type=int, default=40, help="domUs per host")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--list-sizes", default="100,1000,2000", help="domU list sizes ('' skips)")
    parser.add_argument("--list-only", action="store_true", help="skip the dashboard part")
    parser.add_argument(
        "--http", action="store_true", help="also time the list over HTTP (gunicorn)"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="xenpanel-bench-dash-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "xenpanel.settings",
            "XENPANEL_VAR_DIR": str(work / "var"),
            "XENPANEL_ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    user = seed(args.hosts, args.domains, args.jobs)
    if not args.list_only:
        dashboard(user, args)
    sizes = [int(n) for n in args.list_sizes.split(",") if n.strip()]
    if sizes:
        measure_list(user, sizes, args.hosts, args.rounds)
    if sizes and args.http:
        from bench.stack import web_server

        with web_server(work, dict(os.environ)) as port:
            measure_list_http(user, sizes, args.hosts, args.rounds, port)


def dashboard(user, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    server, memory, queries = measure(user, args.rounds)
    print(f"hosts {args.hosts}, domUs {args.hosts * args.domains}, jobs {args.jobs}")
    print(f"GET /            median {server * 1000:7.2f} ms  ({queries} SQL queries)")
    print(f"render in memory median {memory * 1000:7.2f} ms")
    print(f"ratio            {server / memory:7.2f}x  (target <= 1.5x)")

    trim(args.domains // 4)
    _, _, fewer = measure(user, 3)
    print(
        f"queries with {args.domains // 4} domUs per host: {fewer}; with {args.domains}: {queries}"
    )
    if fewer != queries:
        print("FAIL: the query count grows with the number of domUs")
        sys.exit(1)


def seed(n_hosts: int, per_host: int, n_jobs: int):  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model
    from django.contrib.contenttypes.models import ContentType

    from domains.models import Domain, DomainState
    from hosts.models import Host
    from jobs.models import Job, JobTarget

    user = get_user_model().objects.create_superuser("bench", "b@example.com", "pw-bench-123")
    states = [DomainState.RUNNING, DomainState.BLOCKED, DomainState.NOT_RUNNING, DomainState.PAUSED]
    hosts = []
    for h in range(n_hosts):
        rows = [
            {
                "name": f"d{h}-{i}",
                "domid": i + 1,
                "mem_mib": 512,
                "vcpus": 1,
                "state": "blocked",
                "state_letters": "-b----",
                "cpu_seconds": 1.0,
            }
            for i in range(per_host)
        ]
        facts = {
            "xen_version": "4.18.0",
            "nr_cpus": 64,
            "total_memory_mib": 262144,
            "free_memory_mib": 262144 - 8192 - 512 * per_host,
            "dom0_memory_mib": 8192,
            "dom0_vcpus": 4,
            "domu_memory_mib": 512 * per_host,
            "domu_vcpus": per_host,
            "domu_count": per_host,
            "domains": rows,
        }
        # What a refresh saves (bulk_create skips Host.save(), which would fill the columns).
        hosts.append(
            Host(
                name=f"xen{h:02d}",
                transport="sim",
                address=f"10.0.{h}.1",
                status="ok",
                facts=facts,
                **Host.capacity_values(facts),
            )
        )
    Host.objects.bulk_create(hosts)
    hosts = list(Host.objects.all())
    Domain.objects.bulk_create(
        Domain(
            host=host,
            name=f"d{h}-{i}",
            owner=user,
            memory_mb=512,
            vcpus=1,
            vnc_display=i + 1,
            state=states[i % len(states)],
            domid=i + 1,
        )
        for h, host in enumerate(hosts)
        for i in range(per_host)
    )
    jobs = Job.objects.bulk_create(
        Job(
            kind="domain.start",
            title=f"Start d{j}",
            target_label=f"d{j}",
            requested_by=user,
            status="succeeded",
            progress=100,
            message="started",
        )
        for j in range(n_jobs)
    )
    host_type = ContentType.objects.get_for_model(Host)
    JobTarget.objects.bulk_create(
        JobTarget(
            job=job,
            role="host",
            content_type=host_type,
            object_id=hosts[j % len(hosts)].pk,
            label=hosts[j % len(hosts)].name,
        )
        for j, job in enumerate(jobs)
    )
    return user


def trim(per_host: int) -> None:
    from domains.models import Domain

    keep = [f"-{i}" for i in range(per_host)]
    doomed = [
        d.pk for d in Domain.objects.only("name") if not any(d.name.endswith(k) for k in keep)
    ]
    Domain.objects.filter(pk__in=doomed).delete()


def measure(user, rounds: int) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.db import connection
    from django.template.loader import render_to_string
    from django.test import Client, RequestFactory
    from django.urls import resolve

    from xenpanel.views import dashboard_context

    client = Client()
    client.force_login(user)
    client.get("/")  # warm the template cache and the connection
    # Count with an execute wrapper: the request_started signal resets connection.queries.
    executed: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get("/")
    assert response.status_code == 200, response.status_code

    request = RequestFactory().get("/")
    request.user = user
    request.session = client.session
    request._messages = FallbackStorage(request)  # noqa: SLF001 (what the middleware sets)
    request.htmx = False  # type: ignore[attr-defined]
    request.resolver_match = resolve("/")
    context = dashboard_context(user)  # read once: the render below touches no DB
    # The two timings alternate, so both see the same machine: on a shared, noisy machine a
    # burst of load during one block of rounds would otherwise land on one side of the ratio.
    server, memory = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        client.get("/")
        server.append(time.perf_counter() - started)
        started = time.perf_counter()
        render_to_string("dashboard.html", context, request=request)
        memory.append(time.perf_counter() - started)
    return statistics.median(server), statistics.median(memory), len(executed)


# --- the domU list (issue 16) ---------------------------------------------------------------------


def reseed_domains(user, total: int, n_hosts: int) -> None:  # type: ignore[no-untyped-def]
    """Replace every domU with `total` of them spread over the hosts (states as in seed())."""
    from domains.models import Domain, DomainState
    from hosts.models import Host

    states = [DomainState.RUNNING, DomainState.BLOCKED, DomainState.NOT_RUNNING, DomainState.PAUSED]
    Domain.objects.all().delete()
    hosts = list(Host.objects.order_by("pk")[:n_hosts])
    Domain.objects.bulk_create(
        Domain(
            host=hosts[i % len(hosts)],
            name=f"d{i % len(hosts)}-{i // len(hosts)}",
            owner=user,
            memory_mb=512,
            vcpus=1,
            vnc_display=i // len(hosts) + 1,
            state=states[i % len(states)],
            domid=i + 1,
        )
        for i in range(total)
    )


def measure_list(user, sizes: list[int], n_hosts: int, rounds: int) -> None:  # type: ignore[no-untyped-def]
    """GET /domains/ (first page) against rendering its template from memory, per size."""
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.db import connection
    from django.http import QueryDict
    from django.template.loader import render_to_string
    from django.test import Client, RequestFactory
    from django.urls import resolve

    from domains.listing_views import list_context

    client = Client()
    client.force_login(user)
    first: dict[int, float] = {}
    executed: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        executed.append(sql)
        return execute(sql, params, many, context)

    for size in sizes:
        reseed_domains(user, size, n_hosts)
        client.get("/domains/")
        executed.clear()

        with connection.execute_wrapper(count):
            response = client.get("/domains/")
        assert response.status_code == 200, response.status_code
        request = RequestFactory().get("/domains/")
        request.user = user
        request.session = client.session
        request._messages = FallbackStorage(request)  # noqa: SLF001
        request.htmx = False  # type: ignore[attr-defined]
        request.resolver_match = resolve("/domains/")
        context = list_context(user, QueryDict())
        server, memory = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            client.get("/domains/")
            server.append(time.perf_counter() - started)
            started = time.perf_counter()
            render_to_string("domains/list.html", context, request=request)
            memory.append(time.perf_counter() - started)
        s, m = statistics.median(server), statistics.median(memory)
        first[size] = s
        print(
            f"domU list, {size:5d} domUs: GET /domains/ {s * 1000:6.2f} ms, in memory "
            f"{m * 1000:6.2f} ms, ratio {s / m:5.2f}x (target <= 1.5x), "
            f"{len(response.content) / 1024:.0f} KiB, {len(executed)} SQL queries"
        )
    smallest = min(first)
    for size in sorted(first):
        print(
            f"domU list at {size} / at {smallest}: {first[size] / first[smallest]:.2f}x (flat: ~1)"
        )


#: WebVirtCloud's domU list at 1,000 domUs in issue 16's side-by-side run (gunicorn, same machine).
WEBVIRTCLOUD_LIST_MS = 683.0


def measure_list_http(user, sizes: list[int], n_hosts: int, rounds: int, port: int) -> None:  # type: ignore[no-untyped-def]
    """GET /domains/ from gunicorn over a keep-alive connection, as a browser asks (gzip), per
    size: the figure issue 16 compares with WebVirtCloud's."""
    import http.client

    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    headers = {"Cookie": cookie, "Accept-Encoding": "gzip, deflate, br, zstd"}
    for size in sizes:
        reseed_domains(user, size, n_hosts)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        times, wire = [], 0
        for i in range(rounds + 3):
            started = time.perf_counter()
            connection.request("GET", "/domains/", headers=headers)
            response = connection.getresponse()
            body = response.read()
            if i >= 3:  # the first requests warm the worker up
                times.append(time.perf_counter() - started)
            assert response.status == 200, response.status
            wire = len(body)
        connection.close()
        median = statistics.median(times) * 1000
        print(
            f"domU list over HTTP (gunicorn), {size:5d} domUs: {median:6.2f} ms median of "
            f"{rounds}, {wire / 1024:.0f} KiB on the wire; / WebVirtCloud at 1,000 "
            f"({WEBVIRTCLOUD_LIST_MS:.0f} ms): {median / WEBVIRTCLOUD_LIST_MS:.3f}x "
            "(target <= 0.1x)"
        )


if __name__ == "__main__":
    main()
