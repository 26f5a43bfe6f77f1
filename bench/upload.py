"""Benchmark: upload 1 GiB through the HTTP stack `make demo` runs (gunicorn as in the Procfile).

The upload speaks tus 1.0 (`/api/v1/uploads/`, as the upload page does); `--protocol put`
measures the older `POST` + `PUT /isos/uploads/` protocol instead, in the same conditions.

Reports the upload rate as a ratio to a raw loopback copy of the same bytes (a TCP socket on
127.0.0.1 into a file in the same upload directory) measured in the same run, and the peak RSS
growth of the gunicorn workers while they receive it. Targets: ratio >= 0.8, growth <= 64 MiB.

    .venv/bin/python bench/upload.py [--size-mib 1024] [--rounds 5]

It also reports the CPU seconds each side spent per GiB, SHA-256 alone on the same machine, and
the ceiling those figures put on the ratio: the upload must do the raw copy's client and receive
work plus the SHA-256, on the CPUs this run actually gets. Those are measured before each round
(`available_cpus`: the CPUs the process may run on, and how much CPU time busy probes on all of
them obtain under the current load); when other work takes a share, the round is marked
"contended" and its ceiling (and ratio) are not comparable with a quiet run's. It uses a
throwaway var dir (SQLite, uploads; under var/, made if missing) and a private redis-server;
nothing is left behind.

Free page reporting: some VMs (these Firecracker ones) hand memory freed in the guest back to the
host at once; touching it again costs a host fault per page, and page-cache writes into such
memory run at ~340 MiB/s instead of ~2,800. Which transfer of a round met that memory decided the
ratio (0.23-0.47 on the same code), so when the kernel exposes the knobs the run holds freed pages
back for its duration and restores the settings afterwards (`--leave-page-reporting` measures
without).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MiB = 2**20
GiB = 2**30
BLOCK = 16 * MiB
PAGE_REPORTING = Path("/sys/module/page_reporting/parameters")
#: A round whose CPU probe got less than this share of the allowed CPUs ran under contention.
CONTENDED = 0.9


def make_image(path: Path, size: int) -> None:
    """Write `size` bytes of random-looking data with the ISO 9660 signature at 32769."""
    block = bytearray(os.urandom(BLOCK))
    block[32768:32774] = b"\x01CD001"
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, BLOCK)
            fh.write(block[:n])
            left -= n
            block[:8] = os.urandom(8)  # keep blocks distinct
            block[32768:32774] = b"\x01CD001"


@dataclass
class Timing:
    """Wall seconds of a transfer, and the CPU seconds its client and its server spent.

    `extra_cpu` holds the CPU seconds of server threads other than the receiving one.
    """

    seconds: float
    client_cpu: float
    server_cpu: float
    extra_cpu: dict[str, float] = field(default_factory=dict)


#: Receives a connection's bytes into the open file `out` (at `path`); returns `extra_cpu`.
Receiver = Callable[[socket.socket, int, Path], dict[str, float]]


def receive_into_file(conn: socket.socket, out: int, path: Path) -> dict[str, float]:
    """The raw copy's receiver: `recv_into` one 1 MiB buffer, then write it."""
    view = memoryview(bytearray(MiB))
    while n := conn.recv_into(view):
        os.write(out, view[:n])
    return {}


def loopback_copy(src: Path, target: Path, receive: Receiver = receive_into_file) -> Timing:
    """Send `src` over a loopback TCP socket to `receive`, which writes it to `target`.

    The client reads and sends BLOCK-sized pieces. `target` is removed afterwards.
    """
    server = socket.create_server(("127.0.0.1", 0))
    server_cpu: list[float] = []
    extra_cpu: dict[str, float] = {}

    def serve() -> None:
        conn, _ = server.accept()
        cpu = time.thread_time()
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with conn:
                extra_cpu.update(receive(conn, out, target))
        finally:
            os.close(out)
        server_cpu.append(time.thread_time() - cpu)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    cpu = time.thread_time()
    start = time.perf_counter()
    with socket.create_connection(server.getsockname()) as sock, open(src, "rb") as fh:
        while block := fh.read(BLOCK):
            sock.sendall(block)
    client_cpu = time.thread_time() - cpu
    thread.join()
    seconds = time.perf_counter() - start
    server.close()
    target.unlink()
    if not server_cpu:
        raise SystemExit("the receiving side of the loopback copy failed (see above)")
    return Timing(seconds, client_cpu, server_cpu[0], extra_cpu)


def sha256_seconds(size: int) -> float:
    """CPU seconds SHA-256 alone takes over `size` bytes, at its best: 1 MiB blocks in cache."""
    import hashlib

    hasher, block = hashlib.sha256(), memoryview(os.urandom(MiB))
    cpu = time.thread_time()
    for _ in range(size // MiB):
        hasher.update(block)
    return time.thread_time() - cpu


_SPIN = (
    "import time\n"
    "end = time.perf_counter() + {seconds}\n"
    "while time.perf_counter() < end: pass\n"
    "print(time.process_time())\n"
)


def available_cpus(seconds: float = 0.4) -> tuple[int, float]:
    """The CPUs this process may use, and how many of them a busy probe gets right now.

    One spinning process per allowed CPU runs for `seconds`; the CPU time they obtain divided
    by `seconds` is the CPU capacity left over by the rest of the machine's load (2.0 on an idle
    2-CPU machine, ~1.0 when another job keeps one CPU busy).
    """
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    allowed = allowed or 1
    code = _SPIN.format(seconds=seconds)
    probes = [
        subprocess.Popen([sys.executable, "-S", "-c", code], stdout=subprocess.PIPE, text=True)
        for _ in range(allowed)
    ]
    obtained = sum(float(p.communicate()[0] or 0) for p in probes)
    return allowed, min(float(allowed), obtained / seconds)


def process_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes `pids` have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class HeldPageReporting:
    """Keep freed guest memory from going back to the host while the benchmark runs (see top)."""

    # A page freed during the run stays in the guest for a minute (the knob refuses 600 s).
    SETTINGS = {"min_free_ms": 60_000, "max_waiting_mib": 65_536}

    def __init__(self) -> None:
        self.saved: dict[str, str] = {}

    def __enter__(self) -> HeldPageReporting:
        for name, value in self.SETTINGS.items():
            knob = PAGE_REPORTING / name
            try:
                old = knob.read_text().strip()
                knob.write_text(str(value))
            except OSError:
                continue  # not this kind of VM, or not root: measure as it is
            self.saved[name] = old
        return self

    def __exit__(self, *exc: object) -> None:
        for name, old in self.saved.items():
            (PAGE_REPORTING / name).write_text(old)

    def describe(self) -> str:
        if not self.saved:
            return "free page reporting: not held (no knobs here, or --leave-page-reporting)"
        was = ", ".join(f"{k}={v}" for k, v in self.saved.items())
        return f"free page reporting: held for the run (was {was}; restored at the end)"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    """Sample the RSS of some pids every 20 ms; remember each one's peak."""

    def __init__(self, pids: list[int]) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.base = {pid: rss_kib(pid) for pid in pids}
        self.peak = dict(self.base)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_kib(pid))
            time.sleep(0.02)

    def growth_mib(self) -> float:
        return max(self.peak[p] - self.base[p] for p in self.pids) / 1024


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    ).stdout
    return [int(p) for p in out.split()]


def http_upload(
    port: int, cookie: str, csrf: str, host_pk: int, src: Path, name: str, chunk: int
) -> tuple[float, float]:
    """Upload `src` with the panel's chunked protocol on one keep-alive connection.

    Returns the wall seconds and the client's CPU seconds.
    """
    size = src.stat().st_size
    headers = {"Cookie": f"sessionid={cookie}; csrftoken={csrf}", "X-CSRFToken": csrf}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = urlencode({"host": host_pk, "file_name": name, "size": size})
    cpu = time.thread_time()
    start = time.perf_counter()
    conn.request(
        "POST",
        "/isos/uploads/",
        body=body,
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = conn.getresponse()
    answer = response.read()
    if response.status != 201:
        raise SystemExit(f"create failed: {response.status} {answer[:500]!r}")
    import json

    url = json.loads(answer)["url"]
    offset = 0
    with open(src, "rb") as fh:
        while offset < size:
            # Each chunk is sent in BLOCK-sized writes, exactly as loopback_copy() sends its bytes
            # (a browser also streams a Blob slice from disk rather than loading it whole).
            length = min(chunk, size - offset)
            conn.putrequest("PUT", url)
            for key, value in {
                **headers,
                "Content-Type": "application/octet-stream",
                "Content-Length": str(length),
                "Upload-Offset": str(offset),
            }.items():
                conn.putheader(key, value)
            conn.endheaders()
            left = length
            while left:
                block = fh.read(min(BLOCK, left))
                conn.send(block)
                left -= len(block)
            response = conn.getresponse()
            answer = response.read()
            if response.status != 200:
                raise SystemExit(f"chunk at {offset} failed: {response.status} {answer[:500]!r}")
            offset = json.loads(answer)["offset"]
            fh.seek(offset)
    seconds, client_cpu = time.perf_counter() - start, time.thread_time() - cpu
    if json.loads(answer)["state"] != "complete":
        raise SystemExit(f"upload did not complete: {answer[:300]!r}")
    conn.close()
    return seconds, client_cpu


def tus_upload(
    port: int, cookie: str, csrf: str, host_code: str, src: Path, name: str, chunk: int
) -> tuple[float, float]:
    """Upload `src` with tus 1.0 (`/api/v1/uploads/`) on one keep-alive connection, signed in
    with the session as the browser is (tus-js-client sends the same requests).

    Returns the wall seconds and the client's CPU seconds.
    """
    import base64

    size = src.stat().st_size
    headers = {
        "Cookie": f"sessionid={cookie}; csrftoken={csrf}",
        "X-CSRFToken": csrf,
        "Tus-Resumable": "1.0.0",
    }
    meta = ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}"
        for key, value in {"filename": name, "host": host_code}.items()
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    cpu = time.thread_time()
    start = time.perf_counter()
    conn.request(
        "POST",
        "/api/v1/uploads/",
        headers={**headers, "Upload-Length": str(size), "Upload-Metadata": meta},
    )
    response = conn.getresponse()
    answer = response.read()
    if response.status != 201:
        raise SystemExit(f"tus creation failed: {response.status} {answer[:500]!r}")
    url = response.getheader("Location") or ""
    offset = 0
    with open(src, "rb") as fh:
        while offset < size:
            length = min(chunk, size - offset)
            conn.putrequest("PATCH", url)
            for key, value in {
                **headers,
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(length),
                "Upload-Offset": str(offset),
            }.items():
                conn.putheader(key, value)
            conn.endheaders()
            left = length
            while left:
                block = fh.read(min(BLOCK, left))
                conn.send(block)
                left -= len(block)
            response = conn.getresponse()
            answer = response.read()
            if response.status != 204:
                raise SystemExit(f"PATCH at {offset} failed: {response.status} {answer[:500]!r}")
            offset = int(response.getheader("Upload-Offset") or -1)
            fh.seek(offset)
    seconds, client_cpu = time.perf_counter() - start, time.thread_time() - cpu
    conn.close()
    return seconds, client_cpu


def setup_django(var_dir: Path, redis_url: str) -> tuple[str, str, int]:
    """Migrate a fresh DB, create an admin and a simulated host; return cookie, csrf, host pk."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "xenpanel.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from hosts.simhosts import create_sim_host

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_superuser("bench", "b@example.com", "pw-bench-1")
    host = create_sim_host("bench1", state_dir=var_dir / "sim" / "bench1")
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value, "b" * 32, host.pk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk-mib", type=int, default=0, help="default: UPLOAD_CHUNK_BYTES")
    parser.add_argument(
        "--protocol",
        choices=["tus", "put"],
        default="tus",
        help="tus: /api/v1/uploads/ (the page's); put: the older POST + PUT /isos/uploads/",
    )
    parser.add_argument(
        "--leave-page-reporting", action="store_true", help="do not hold free page reporting"
    )
    args = parser.parse_args()
    held = HeldPageReporting()
    with contextlib.nullcontext() if args.leave_page_reporting else held:
        run(args, held)


def run(args: argparse.Namespace, held: HeldPageReporting) -> None:
    size = args.size_mib * MiB
    per_gib = GiB / size

    from xenpanel.devservices import free_port, start_redis, wait_for_port

    # Under var/ (the upload directory's file system, not a tmpfs /tmp); a fresh clone has none.
    (ROOT / "var").mkdir(exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="xenpanel-bench-", dir=ROOT / "var"))
    redis = start_redis(tmp)
    env = {
        **os.environ,
        "XENPANEL_VAR_DIR": str(tmp),
        "XENPANEL_REDIS_URL": redis.url,
        "XENPANEL_ISO_UPLOAD_MAX_BYTES": str(size * 2),
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith("XENPANEL_")})
    gunicorn = None
    try:
        cookie, csrf, host_pk = setup_django(tmp, redis.url)
        from hosts.models import Host

        host_code = str(Host.objects.get(pk=host_pk).code)

        def upload(name: str) -> tuple[float, float]:
            if args.protocol == "tus":
                return tus_upload(port, cookie, csrf, host_code, image, name, chunk)
            return http_upload(port, cookie, csrf, host_pk, image, name, chunk)

        from django.conf import settings

        upload_dir = Path(settings.UPLOAD_DIR)
        chunk = args.chunk_mib * MiB or settings.UPLOAD_CHUNK_BYTES
        upload_dir.mkdir(parents=True, exist_ok=True)
        image = tmp / "image.iso"
        make_image(image, size)
        os.sync()  # writeback of the fresh image would otherwise slow the first measurement
        loopback_copy(image, upload_dir / "raw.bin")  # warm-up: page cache and socket buffers
        port = free_port()
        # The Procfile's web line, on a free port.
        gunicorn = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "xenpanel.wsgi", "--bind", f"127.0.0.1:{port}",
             "--worker-class", "gthread", "--workers", "2", "--threads", "8", "--timeout", "300"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(port, timeout=30, process=gunicorn)
        except RuntimeError as exc:
            raise SystemExit(f"gunicorn did not start: {exc}") from None
        # Warm both workers up (imports, DB connection) before taking the RSS baseline.
        for _ in range(8):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/isos/", headers={"Cookie": f"sessionid={cookie}"})
            conn.getresponse().read()
            conn.close()
        # One upload that is not counted: the first one in a fresh worker is always the slowest.
        upload("warmup.iso")
        for part in upload_dir.glob("*.part"):
            part.unlink()
        pids = worker_pids(gunicorn.pid)
        sha = sha256_seconds(size)
        allowed, cpus = available_cpus()
        print(
            f"image: {size / MiB:.0f} MiB in {chunk / MiB:.0f} MiB chunks ({args.protocol}); "
            f"gunicorn gthread 2x8 on :{port}; workers {pids}; {allowed} CPUs allowed, "
            f"{cpus:.2f} available to a probe now\n"
            f"{held.describe()}\n"
            f"SHA-256 alone, from cache: {size / sha / MiB:.0f} MiB/s "
            f"({sha * per_gib:.2f} CPU s/GiB)"
        )
        ratios, ceilings, growths, contended = [], [], [], 0
        for n in range(1, args.rounds + 1):
            _, cpus = available_cpus()
            busy = cpus < allowed * CONTENDED
            contended += busy
            raw = loopback_copy(image, upload_dir / "raw.bin")
            sampler = RssSampler(pids)
            sampler.start()
            workers_before = process_cpu(pids)
            seconds, client_cpu = upload(f"bench{n}.iso")
            workers_cpu = process_cpu(pids) - workers_before
            sampler.stop.set()
            sampler.join()
            for part in upload_dir.glob("*.part"):
                part.unlink()
            raw_rate, http_rate = size / raw.seconds / MiB, size / seconds / MiB
            ratios.append(http_rate / raw_rate)
            # The least any server could take: the same client and receive work as the raw
            # copy plus SHA-256, spread over the CPUs the probe got, but the SHA-256 on one CPU
            # at a time (and on a share of one when less than one is left).
            floor = max(sha / min(1.0, cpus), (raw.client_cpu + raw.server_cpu + sha) / cpus)
            ceilings.append(raw.seconds / floor)
            growths.append(sampler.growth_mib())
            print(
                f"round {n}: raw copy {raw_rate:5.0f} MiB/s ({raw.seconds:.2f} s) | "
                f"upload {http_rate:5.0f} MiB/s ({seconds:.2f} s) | ratio {ratios[-1]:.2f} "
                f"(ceiling {ceilings[-1]:.2f}) | CPU s/GiB: raw "
                f"{raw.client_cpu * per_gib:.2f}+{raw.server_cpu * per_gib:.2f}, upload "
                f"{client_cpu * per_gib:.2f}+{workers_cpu * per_gib:.2f} (client+server) | "
                f"RSS growth {growths[-1]:.1f} MiB | {cpus:.2f} CPUs"
                + (" (contended)" if busy else "")
            )
        print(
            f"median ratio {statistics.median(ratios):.2f} (target >= 0.8; ceiling with the CPUs "
            f"this run got {statistics.median(ceilings):.2f}), worst RSS growth "
            f"{max(growths):.1f} MiB (target <= 64)"
        )
        if contended:
            print(
                f"{contended} of {args.rounds} rounds ran with less than {CONTENDED:.0%} of the "
                f"{allowed} CPUs free: other work shared the machine, so these figures are void "
                "as a measure of the panel (compare them only with a run in the same conditions)"
            )
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            gunicorn.wait(timeout=30)
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
