"""bench/load.py's client side: the pages a session visits, the sessions, and the clocks.

Standard library only: it runs in the bench process, outside the panel.
"""

from __future__ import annotations

import http.client
import os
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

OK_STATUSES = {200, 286}  # 286: htmx "stop polling", the progress partial of a finished job


@dataclass(frozen=True)
class Page:
    """One kind of request: a full page or the partial it polls."""

    name: str
    path: Callable[[Targets], str]
    htmx: bool = False


@dataclass
class Targets:
    """The objects the pages point at; the job changes while the run goes on."""

    domains: list[str]
    job_codes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def domain(self) -> str:
        return random.choice(self.domains)

    def job(self) -> str:
        with self.lock:
            return random.choice(self.job_codes)


#: (page, partial it polls) for each view a session visits.
VIEWS: list[tuple[Page, Page]] = [
    (
        Page("dashboard", lambda t: "/"),
        Page("dashboard body (htmx)", lambda t: "/", htmx=True),
    ),
    (
        Page("domU list", lambda t: "/domains/"),
        Page("domU list table (htmx)", lambda t: "/domains/", htmx=True),
    ),
    (
        Page("domU page", lambda t: f"/domains/{t.domain()}/"),
        Page("domU live (htmx)", lambda t: f"/domains/{t.domain()}/live/", htmx=True),
    ),
    (
        Page("job page", lambda t: f"/jobs/{t.job()}/"),
        Page("job progress (htmx)", lambda t: f"/jobs/{t.job()}/progress/", htmx=True),
    ),
]
PAGES = [page for view in VIEWS for page in view]


@dataclass
class Sample:
    page: str
    seconds: float
    error: str | None  # None: a good answer


class Session:
    """One signed-in browser: its cookie and one keep-alive connection."""

    def __init__(self, port: int, cookie: str, timeout: float) -> None:
        self.port = port
        self.headers = {"Cookie": cookie, "Accept": "text/html"}
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.retries = 0

    def _connect(self) -> http.client.HTTPConnection:
        self.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def get(self, page: Page, targets: Targets) -> Sample:
        path = page.path(targets)
        headers = dict(self.headers)
        if page.htmx:
            headers.update({"HX-Request": "true", "HX-Current-URL": f"http://127.0.0.1{path}"})
        started = time.perf_counter()
        try:
            for attempt in (1, 2):
                reused = self.conn is not None
                conn = self.conn or self._connect()
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    # The server closed an idle keep-alive connection: a browser sends again.
                    self.close()
                    if reused and attempt == 1:
                        self.retries += 1
                        continue
                    raise
                if response.will_close:
                    self.close()
                seconds = time.perf_counter() - started
                if response.status in OK_STATUSES:
                    return Sample(page.name, seconds, None)
                where = response.getheader("Location", "")
                return Sample(page.name, seconds, f"HTTP {response.status} {where}".strip())
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Sample(page.name, time.perf_counter() - started, type(exc).__name__)
        raise AssertionError("not reached")


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) used so far by process `root` and its live children."""
    pids, ticks = [root], 0
    try:
        children = Path(f"/proc/{root}/task/{root}/children").read_text().split()
        pids += [int(p) for p in children]
    except OSError:
        pass
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = os.times()
    return usage.user + usage.system


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of `values` (0 < q <= 100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


class Browser:
    """A session's place in its tour of the views, kept from one load phase to the next."""

    def __init__(self, session: Session, seed: int, think: float, polls: int) -> None:
        self.session = session
        self.rng = random.Random(seed)
        self.think = think
        self.steps = [kind for page, partial in VIEWS for kind in [page] + [partial] * polls]
        self.step = self.rng.randrange(len(self.steps))
        self.count = 0

    def browse(self, targets: Targets, until: float, max_requests: int, out: list[Sample]) -> None:
        """Visit the views in turn, polling each one's partial, until `until` or the count."""
        time.sleep(self.rng.uniform(0, self.think))  # the sessions do not start on one beat
        while time.monotonic() < until and self.count < max_requests:
            out.append(self.session.get(self.steps[self.step], targets))
            self.count += 1
            self.step = (self.step + 1) % len(self.steps)
            time.sleep(self.think)


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy so far (all CPUs), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def summarize(samples: list[Sample]) -> dict[str, list[Sample]]:
    by_page: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_page[sample.page].append(sample)
    return by_page


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"
