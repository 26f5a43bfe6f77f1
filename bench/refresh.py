"""Benchmark: one full beat refresh of 50 simulated hosts vs refreshing one host, same run.

Every host answers each command after 50 ms of injected latency. The beat task queues one poll
job per host; a real Celery worker (prefork, concurrency CONC) on a private Redis runs them. The
target is a ratio of at most 3x between refreshing all 50 and refreshing one.

    .venv/bin/python bench/refresh.py [--hosts 50] [--latency-ms 50] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import job_stack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50, help="threads in all workers")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    with job_stack("bench", concurrency=args.concurrency, processes=args.processes) as threads:
        from django.db import transaction

        from dom0.sim import SimHost
        from hosts.jobs import queue_refresh, queue_refresh_all
        from hosts.models import Host
        from hosts.simhosts import create_sim_host
        from jobs.models import Job

        hosts = [create_sim_host(f"bench{i:02d}") for i in range(args.hosts)]
        for host in hosts:
            SimHost(host.sim_dir).set_faults(latency_ms=args.latency_ms)

        def wait(jobs: list[Job]) -> None:
            ids = [j.pk for j in jobs]
            while Job.objects.filter(pk__in=ids, status__in=["queued", "running"]).exists():
                time.sleep(0.01)
            bad = Job.objects.filter(pk__in=ids).exclude(status="succeeded")
            assert not bad.exists(), list(bad.values_list("error", flat=True))

        # Warm up the worker (imports, connections) with one poll per host.
        queue_refresh_all()
        wait(list(Job.objects.all()))

        singles = []
        for _ in range(3):
            t0 = time.perf_counter()
            with transaction.atomic():
                job = queue_refresh(hosts[0], full=False)
            wait([job])
            singles.append(time.perf_counter() - t0)
        single = min(singles)

        alls = []
        for _ in range(3):
            before = set(Job.objects.values_list("pk", flat=True))
            t0 = time.perf_counter()
            count = queue_refresh_all()
            wait(list(Job.objects.exclude(pk__in=before)))
            alls.append(time.perf_counter() - t0)
            assert count == len(hosts)
        full = min(alls)
        print(
            f"hosts={args.hosts} latency={args.latency_ms}ms "
            f"workers={args.processes} processes x {threads} threads"
        )
        print(f"one host:  {single:.3f} s (best of 3: {', '.join(f'{s:.3f}' for s in singles)})")
        print(f"all hosts: {full:.3f} s (best of 3: {', '.join(f'{s:.3f}' for s in alls)})")
        print(f"ratio all/one: {full / single:.2f}  (target <= 3.0)")
        print(f"hosts refreshed: {Host.objects.exclude(refreshed_at=None).count()}")


if __name__ == "__main__":
    main()
