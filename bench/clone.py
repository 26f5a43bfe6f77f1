"""Benchmark: creating 10 domUs from a template in one action vs creating 1, same run.

One simulated host answers every command after `--latency-ms` of injected latency. A template
is made from a stopped domU; then each round POSTs the template picker (the real view, through
Django's test client) for one clone, then for ten (`bench-r<round>-{n}`), and times each from
the POST until every CLONE job it queued has succeeded. Real Celery worker processes (threads
pool) on a private Redis run the jobs; the clones are deleted between rounds (not timed). The
target is a ratio of at most 2x between ten and one.

    .venv/bin/python bench/clone.py [--rounds 3] [--latency-ms 50] [--concurrency 12]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import job_stack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=12, help="threads in all workers")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL server")
    args = parser.parse_args()

    with job_stack(
        "clone", concurrency=args.concurrency, processes=args.processes, postgres=args.postgres
    ) as threads:
        ones, tens = run_rounds(args)
        print(
            f"latency={args.latency_ms}ms workers={args.processes} processes x {threads} threads, "
            f"rounds={args.rounds}"
        )
        print(f"1 clone:   {_fmt(ones)}")
        print(f"{args.batch} clones: {_fmt(tens)}")
        ratio = min(tens) / min(ones)
        print(f"ratio {args.batch}/1 (best of each): {ratio:.2f}  (target <= 2.0)")
        medians = statistics.median(tens) / statistics.median(ones)
        print(f"ratio {args.batch}/1 (medians):      {medians:.2f}")


def _fmt(times: list[float]) -> str:
    each = ", ".join(f"{t:.3f}" for t in times)
    return f"best {min(times):.3f} s, median {statistics.median(times):.3f} s ({each})"


def run_rounds(args: argparse.Namespace) -> tuple[list[float], list[float]]:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.test import Client
    from django.urls import reverse

    from dom0.sim import SimHost
    from domains import actions
    from domains.models import Domain, DomainTemplate
    from hosts.jobs import queue_refresh
    from hosts.simhosts import create_sim_host

    admin = get_user_model().objects.create_superuser("bench", "bench@example.com", "pw-bench-1")
    client = Client(SERVER_NAME="localhost")
    client.force_login(admin)
    host = create_sim_host("benchclone")
    with transaction.atomic():
        job = queue_refresh(host, full=False)
    _wait([job.pk])
    template = _make_template(client, host)
    SimHost(host.sim_dir).set_faults(latency_ms=args.latency_ms)

    def batch(name: str, count: int) -> float:
        before = _clone_ids()
        data = {
            "template": str(template.code), "name": name, "count": count, "start": 1,
            "memory_mb": 64, "vcpus": 1, "bridge_0": host.default_bridge,
        }  # fmt: skip
        t0 = time.perf_counter()
        response = client.post(reverse("domains:clone_new"), data)
        assert response.status_code == 302, response.content.decode()[:3000]
        posted = time.perf_counter() - t0
        ids = sorted(_clone_ids() - before)
        assert len(ids) == count, ids
        _wait(ids)
        total = time.perf_counter() - t0
        _explain(name, count, posted, ids)
        return total

    def clean_up() -> None:
        ids = []
        with transaction.atomic():
            for domain in Domain.objects.filter(host=host, template=template):
                job = actions.queue(
                    domain, actions.DELETE, f"Delete {domain.name}", params={"destroy_volume": True}
                )
                ids.append(job.pk)
        _wait(ids)

    batch("warm-{n}", 2)  # not counted: imports, connections, first queries in each worker
    clean_up()
    ones, tens = [], []
    for r in range(args.rounds):
        ones.append(batch(f"one-r{r}", 1))
        clean_up()
        tens.append(batch(f"bench-r{r}-{{n}}", args.batch))
        clean_up()
        print(f"round {r + 1}: 1 -> {ones[-1]:.3f} s, {args.batch} -> {tens[-1]:.3f} s", flush=True)
    assert DomainTemplate.objects.filter(pk=template.pk).exists()
    return ones, tens


def _make_template(client: Any, host: Any) -> Any:
    from django.urls import reverse

    from domains.models import Domain, DomainTemplate
    from jobs.models import Job

    data = {
        "host": str(host.code), "name": "base", "memory_mb": 64, "vcpus": 1, "disk": "new",
        "disk_gib": 20, "bridge": host.default_bridge, "vnc_enabled": "on",
        "vnc_listen": "127.0.0.1", "vnc_password": "benchpw1", "serial_pty": "on",
        "autostart_order": 10, "autostart_delay": 0,
    }  # fmt: skip
    response = client.post(reverse("domains:new"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    domain = Domain.objects.get(host=host, name="base")
    _wait([Job.objects.on(domain).latest("created_at").pk])
    client.post(reverse("domains:action", args=[domain.code, "destroy"]))
    _wait([Job.objects.on(domain).latest("created_at").pk])
    client.post(reverse("domains:make_template", args=[domain.code]), {"confirm": "base"})
    _wait([Job.objects.filter(kind="domain.make_template").latest("created_at").pk])
    return DomainTemplate.objects.get(host=host, name="base")


def _explain(name: str, count: int, posted: float, ids: list[int]) -> None:
    """Print where the time went: the POST, and each job's recorded steps (host commands)."""
    from django.db.models import Sum

    from jobs.models import Job, JobStep

    sums = JobStep.objects.filter(job__in=ids).values("job").annotate(total=Sum("seconds"))
    steps = [row["total"] or 0.0 for row in sums]
    jobs = list(Job.objects.filter(pk__in=ids))
    waited = [(j.started_at - j.created_at).total_seconds() for j in jobs]
    ran = [(j.finished_at - j.started_at).total_seconds() for j in jobs]
    print(
        f"  {count:>2} x {name}: POST {posted:.3f} s; queued for median "
        f"{statistics.median(waited):.3f} s (max {max(waited):.3f}); ran median "
        f"{statistics.median(ran):.3f} s (max {max(ran):.3f}), of which host steps median "
        f"{statistics.median(steps):.3f} s (max {max(steps):.3f})",
        flush=True,
    )


def _clone_ids() -> set[int]:
    from jobs.models import Job

    return set(Job.objects.filter(kind="domain.clone").values_list("pk", flat=True))


def _wait(ids: list[int], timeout: float = 300) -> None:
    from jobs.models import Job

    deadline = time.monotonic() + timeout
    while Job.objects.filter(pk__in=ids, status__in=["queued", "running"]).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"jobs {ids} did not finish in {timeout}s")
        time.sleep(0.01)
    bad = Job.objects.filter(pk__in=ids).exclude(status="succeeded")
    assert not bad.exists(), list(bad.values_list("title", "error"))


if __name__ == "__main__":
    main()
