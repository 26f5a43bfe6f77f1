"""Benchmark: N signed-in sessions over the main pages and partials while jobs run.

    .venv/bin/python bench/load.py [--sessions 50] [--seconds 30] [--max-requests 120]

The stack is the one `make demo` runs, on loopback only:

- gunicorn with the Procfile's web line (gthread, 2 workers x 8 threads) on a free port;
- a private redis-server and a real Celery worker process;
- a fresh SQLite DB in a throwaway var dir.

It seeds simulated Dom0s (`hosts.simhosts.create_sim_host`, 100 ms of injected latency per
command) with domUs. It keeps a full host refresh queued or running on every host for the whole
run, so pages show live jobs and the worker writes to the database while they are read.
Sessions are made server-side (`Client.force_login`), one user per session. Half the users are
admins and half are operators of the team that owns the domUs.

Each session behaves like a browser tab:

- it opens a page, then polls that page's partial, each time 1 s (`--think`) after the previous
  answer, as the templates' `hx-trigger="load delay:1s"` does;
- after `--polls` polls it moves on to the next view.

The views are the dashboard (polling its body), the domU list (polling its table), a domU page
(polling its live part) and a job page (polling its progress partial). Each session uses its own
keep-alive connection; a request on one the server had closed is retried once on a new
connection, as browsers do.

First the baseline: one session makes every request of those views in turn, `--baseline-rounds`
times, while the same jobs run. Then `--sessions` sessions run for `--seconds` or
`--max-requests` each, whichever ends first. Every request is timed at the client, from sending
to the last byte. The table gives per page the baseline median and the p50, p95 and p99 under
load, the errors, and p95 under load over the baseline median.

An error is a transport failure, a timeout (`--timeout`), or any answer other than 200 (or
htmx's 286 "stop polling" from a finished job's partial); a redirect to sign-in is one. Targets
at 50 sessions: no errors, and each page's p95 at most 10x its single-session time. It exits
with status 1 when they are not met.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
QUEUE = "bench-load"

# The helpers live beside this script (run as `python bench/load.py`, so bench/ is on the path).
from load_client import (  # noqa: E402
    PAGES,
    Browser,
    Sample,
    Session,
    Targets,
    machine_busy,
    ms,
    own_cpu,
    percentile,
    process_tree_cpu,
    summarize,
)
from load_seed import JobFeeder, seed, session_cookies  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load phase")
    parser.add_argument("--max-requests", type=int, default=120, help="per session")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between requests")
    parser.add_argument("--polls", type=int, default=3, help="partial polls per page visit")
    parser.add_argument("--baseline-rounds", type=int, default=15, help="in all cycles")
    parser.add_argument("--cycles", type=int, default=3, help="baseline/load alternations")
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--domus", type=int, default=10, help="domUs per host")
    parser.add_argument("--latency-ms", type=int, default=100, help="per simulated command")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn (Procfile: 2)")
    parser.add_argument("--web-threads", type=int, default=8, help="gunicorn (Procfile: 8)")
    parser.add_argument(
        "--no-jobs",
        action="store_true",
        help="diagnosis: queue the first jobs only (the pages need some), then no more",
    )
    parser.add_argument("--max-ratio", type=float, default=10.0, help="target p95 / baseline")
    args = parser.parse_args()
    command = shlex.join([".venv/bin/python", "bench/load.py", *sys.argv[1:]])

    from xenpanel.devservices import free_port, start_redis, wait_for_port

    work = Path(tempfile.mkdtemp(prefix="xenpanel-bench-load-"))
    redis = start_redis(work)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xenpanel.settings",
        "XENPANEL_VAR_DIR": str(work / "var"),
        "XENPANEL_REDIS_URL": redis.url,
        "XENPANEL_DEFAULT_QUEUE": QUEUE,
        "XENPANEL_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "XENPANEL_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    py = str(ROOT / ".venv" / "bin" / "python")
    processes: list[subprocess.Popen[bytes]] = []
    feeder: JobFeeder | None = None
    started = time.monotonic()
    try:
        subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        import django

        django.setup()
        from django.conf import settings

        hosts, domains, users = seed(
            args.hosts, args.domus, max(args.sessions, 2), args.latency_ms, Path(settings.SIM_DIR)
        )
        cookies = session_cookies(users)
        worker_log = open(work / "worker.log", "wb")  # noqa: SIM115 (closed with the process)
        processes.append(
            subprocess.Popen(
                [py, "-m", "celery", "-A", "xenpanel", "worker", "-Q", QUEUE, "-P", "threads",
                 "-c", "4", "-n", "load@%h", "-l", "warning"],
                cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
        port = free_port()
        web_log = open(work / "gunicorn.log", "wb")  # noqa: SIM115
        # The Procfile's web line (without the access log) on a free port, unless told otherwise.
        processes.append(
            subprocess.Popen(
                [str(ROOT / ".venv/bin/gunicorn"), "xenpanel.wsgi", "--bind", f"127.0.0.1:{port}",
                 "--worker-class", "gthread", "--workers", str(args.web_workers),
                 "--threads", str(args.web_threads), "--timeout", "300"],
                cwd=ROOT, env=env, stdout=web_log, stderr=subprocess.STDOUT,
            )
        )  # fmt: skip
        wait_for_port(port, timeout=60, process=processes[-1])

        targets = Targets(domains=[str(d.code) for d in domains])
        feeder = JobFeeder(hosts, domains, targets)
        feeder.tick()  # the first jobs exist before any page asks for one
        if not args.no_jobs:
            feeder.start()
        deadline = time.monotonic() + 60
        from jobs.models import Job

        while not Job.objects.filter(status="succeeded").exists():  # the worker runs jobs
            if time.monotonic() > deadline:
                raise SystemExit(f"no job finished in 60 s; see {work / 'worker.log'}")
            time.sleep(0.2)

        # Every session must see every page (an operator too): stop here rather than count
        # errors that are the benchmark's fault.
        for cookie in cookies:
            check = Session(port, cookie, args.timeout)
            for page in PAGES:
                sample = check.get(page, targets)
                if sample.error:
                    raise SystemExit(f"pre-flight: {page.name} answered {sample.error}")
            check.close()

        # Baseline and load alternate, `--cycles` times: on this shared machine a burst of
        # other work then falls on both sides of the ratio rather than on one.
        one = Session(port, cookies[0], args.timeout)
        for page in PAGES:  # warm both gunicorn workers' templates and connections
            one.get(page, targets)
        browsers = [
            Browser(Session(port, cookies[i], args.timeout), i, args.think, args.polls)
            for i in range(args.sessions)
        ]
        meters = {
            "gunicorn": lambda: process_tree_cpu(processes[1].pid),
            "celery worker": lambda: process_tree_cpu(processes[0].pid),
            "redis": lambda: process_tree_cpu(redis.process.pid),
            f"bench ({args.sessions} clients, job feeder)": own_cpu,
        }
        cpu: Counter[str] = Counter()
        baseline: list[Sample] = []
        samples: list[Sample] = []
        load_seconds = 0.0
        for cycle in range(args.cycles):
            rounds = args.baseline_rounds // args.cycles + (
                cycle < args.baseline_rounds % args.cycles
            )
            for _ in range(rounds):
                for page in PAGES:
                    baseline.append(one.get(page, targets))
                    time.sleep(0.05)
            one.close()

            before = {name: meter() for name, meter in meters.items()}
            busy_before = machine_busy()
            phase_started = time.monotonic()
            until = phase_started + args.seconds / args.cycles
            threads = [
                threading.Thread(
                    target=b.browse, args=(targets, until, args.max_requests, samples), daemon=True
                )
                for b in browsers
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=args.seconds + args.timeout + 30)
            load_seconds += time.monotonic() - phase_started
            for name, meter in meters.items():
                cpu[name] += meter() - before[name]
            busy_after = machine_busy()
            cpu["machine (all processes)"] += busy_after - busy_before
            for b in browsers:
                b.session.close()
        feeder.stop.set()
        if feeder.is_alive():
            feeder.join(timeout=10)
        if feeder.error is not None:
            raise SystemExit(f"the job feeder failed: {feeder.error!r}")
        sessions = [b.session for b in browsers]

        jobs_done = Counter(
            f"{kind} {status}" for kind, status in Job.objects.values_list("kind", "status")
        )
        return report(
            args,
            command,
            baseline,
            samples,
            sessions,
            load_seconds,
            feeder,
            jobs_done,
            started,
            cpu,
        )
    finally:
        if feeder is not None:
            feeder.stop.set()
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(  # type: ignore[no-untyped-def]
    args, command, baseline, samples, sessions, load_seconds, feeder, jobs_done, started, cpu
) -> int:
    base = summarize(baseline)
    load = summarize(samples)
    errors_total = sum(1 for s in samples if s.error) + sum(1 for s in baseline if s.error)
    print(f"\ncommand: {command}")
    print(
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, gunicorn gthread "
        f"{args.web_workers} workers x {args.web_threads} threads, Celery worker (threads x 4), "
        f"SQLite; {args.hosts} sim hosts "
        f"({args.latency_ms} ms per command) x {args.domus} domUs"
    )
    print(
        f"load: {args.sessions} sessions, {load_seconds:.1f} s, {len(samples)} requests "
        f"({len(samples) / load_seconds:.1f}/s), think {args.think:g} s, {args.polls} polls per "
        f"page; keep-alive reconnects: {sum(s.retries for s in sessions)}"
    )
    cpu = Counter(cpu)
    cpu.pop("_machine_total", None)
    machine = cpu.pop("machine (all processes)", 0.0)
    ours = sum(cpu.values())
    print(
        "CPU during the load phases, in cores: "
        + ", ".join(f"{k} {v / load_seconds:.2f}" for k, v in cpu.items())
        + f"; whole machine busy {machine / load_seconds:.2f} of {os.cpu_count()}"
        + f" (other processes {(machine - ours) / load_seconds:.2f})"
    )
    if samples:
        print(f"gunicorn CPU per request: {cpu['gunicorn'] / len(samples) * 1000:.1f} ms")
    print(
        "jobs queued: "
        + ", ".join(f"{k} {v}" for k, v in sorted(feeder.queued.items()))
        + "; at the end: "
        + ", ".join(f"{k} {v}" for k, v in sorted(jobs_done.items()))
    )
    print(
        f"baseline: 1 session, {args.baseline_rounds} rounds of every page, same jobs running; "
        f"baseline and load alternate {args.cycles} times\n"
    )
    header = (
        f"{'page':<24} {'base n':>6} {'base p50':>9} | {'n':>4} {'p50':>7} {'p95':>7} "
        f"{'p99':>7} {'max':>7} {'errors':>6} | {'p95/base':>8}"
    )
    print(header + "   (times in ms)")
    print("-" * len(header))
    failures = []
    for page in PAGES:
        b = [s.seconds for s in base.get(page.name, []) if not s.error]
        got = load.get(page.name, [])
        times = [s.seconds for s in got if not s.error]
        errors = sum(1 for s in got if s.error)
        if not b or not times:
            print(f"{page.name:<24} no samples")
            failures.append(f"{page.name}: no samples")
            continue
        b50 = statistics.median(b)
        p95 = percentile(times, 95)
        ratio = p95 / b50
        print(
            f"{page.name:<24} {len(b):>6} {ms(b50):>9} | {len(got):>4} "
            f"{ms(percentile(times, 50)):>7} {ms(p95):>7} {ms(percentile(times, 99)):>7} "
            f"{ms(max(times)):>7} {errors:>6} | {ratio:>7.1f}x"
        )
        if ratio > args.max_ratio:
            failures.append(f"{page.name}: p95 {ratio:.1f}x its single-session time")
    all_times = [s.seconds for s in samples if not s.error]
    if all_times:
        print(
            f"{'all pages':<24} {len(baseline):>6} {'':>9} | {len(samples):>4} "
            f"{ms(percentile(all_times, 50)):>7} {ms(percentile(all_times, 95)):>7} "
            f"{ms(percentile(all_times, 99)):>7} {ms(max(all_times)):>7} "
            f"{sum(1 for s in samples if s.error):>6} |"
        )
    if errors_total:
        kinds = Counter(f"{s.page}: {s.error}" for s in baseline + samples if s.error)
        print("\nerrors: " + "; ".join(f"{k} x{v}" for k, v in kinds.most_common(8)))
        failures.append(f"{errors_total} errors")
    print(f"\nsetup + baseline + load: {time.monotonic() - started:.0f} s")
    if failures:
        print("NOT MET: " + "; ".join(failures))
        return 1
    print(f"MET: 0 errors; every page's p95 <= {args.max_ratio:g}x its single-session median")
    return 0


if __name__ == "__main__":
    sys.exit(main())
