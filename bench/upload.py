"""Benchmark: upload 1 GiB through the HTTP stack `make demo` runs (gunicorn as in the Procfile).

Reports the upload rate as a ratio to a raw loopback copy of the same bytes (a TCP socket on
127.0.0.1 into a file in the same upload directory) measured in the same run, and the peak RSS
growth of the gunicorn workers while they receive it. Targets: ratio >= 0.8, growth <= 64 MiB.

    .venv/bin/python bench/upload.py [--size-mib 1024] [--rounds 2]

It uses a throwaway var dir (SQLite, uploads) and a private redis-server; nothing is left behind.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MiB = 2**20
BLOCK = 16 * MiB


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def raw_copy(src: Path, dest_dir: Path) -> float:
    """Copy `src` over a loopback TCP socket into a file in `dest_dir`; return seconds."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    target = dest_dir / "raw.bin"
    done = threading.Event()

    def receive() -> None:
        conn, _ = server.accept()
        buf = bytearray(MiB)
        view = memoryview(buf)
        with conn, open(target, "wb") as out:
            while n := conn.recv_into(view):
                out.write(view[:n])
        done.set()

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    start = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock, open(src, "rb") as fh:
        while block := fh.read(BLOCK):
            sock.sendall(block)
    done.wait()
    seconds = time.perf_counter() - start
    server.close()
    target.unlink()
    return seconds


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
) -> float:
    """Upload `src` with the panel's chunked protocol on one keep-alive connection."""
    size = src.stat().st_size
    headers = {"Cookie": f"sessionid={cookie}; csrftoken={csrf}", "X-CSRFToken": csrf}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = urlencode({"host": host_pk, "file_name": name, "size": size})
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
            # Each chunk is sent in BLOCK-sized writes, exactly as raw_copy() sends its bytes (a
            # browser also streams a Blob slice from disk rather than loading it whole).
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
    seconds = time.perf_counter() - start
    if json.loads(answer)["state"] != "complete":
        raise SystemExit(f"upload did not complete: {answer[:300]!r}")
    conn.close()
    return seconds


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
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--chunk-mib", type=int, default=0, help="default: UPLOAD_CHUNK_BYTES")
    args = parser.parse_args()
    size = args.size_mib * MiB

    from tests.support.services import start_redis

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
        from django.conf import settings

        upload_dir = Path(settings.UPLOAD_DIR)
        chunk = args.chunk_mib * MiB or settings.UPLOAD_CHUNK_BYTES
        upload_dir.mkdir(parents=True, exist_ok=True)
        image = tmp / "image.iso"
        make_image(image, size)
        os.sync()  # writeback of the fresh image would otherwise slow the first measurement
        raw_copy(image, upload_dir)  # warm-up: page cache and socket buffers
        port = free_port()
        # The Procfile's web line, on a free port.
        gunicorn = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "xenpanel.wsgi", "--bind", f"127.0.0.1:{port}",
             "--worker-class", "gthread", "--workers", "2", "--threads", "8", "--timeout", "300"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        # Warm both workers up (imports, DB connection) before taking the RSS baseline.
        for _ in range(8):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/isos/", headers={"Cookie": f"sessionid={cookie}"})
            conn.getresponse().read()
            conn.close()
        pids = worker_pids(gunicorn.pid)
        print(
            f"image: {size / MiB:.0f} MiB in {chunk / MiB:.0f} MiB chunks; "
            f"gunicorn gthread 2x8 on :{port}; workers {pids}"
        )
        ratios, growths = [], []
        for n in range(1, args.rounds + 1):
            raw = raw_copy(image, upload_dir)
            sampler = RssSampler(pids)
            sampler.start()
            seconds = http_upload(port, cookie, csrf, host_pk, image, f"bench{n}.iso", chunk)
            sampler.stop.set()
            sampler.join()
            for part in upload_dir.glob("*.part"):
                part.unlink()
            raw_rate, http_rate = size / raw / MiB, size / seconds / MiB
            ratios.append(http_rate / raw_rate)
            growths.append(sampler.growth_mib())
            print(
                f"round {n}: raw loopback copy {raw_rate:7.0f} MiB/s ({raw:.2f} s) | "
                f"HTTP upload {http_rate:7.0f} MiB/s ({seconds:.2f} s) | ratio {ratios[-1]:.2f} | "
                f"worker peak RSS growth {growths[-1]:.1f} MiB"
            )
        ratios.sort()
        print(
            f"median ratio {ratios[len(ratios) // 2]:.2f} (target >= 0.8), worst RSS growth "
            f"{max(growths):.1f} MiB (target <= 64)"
        )
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            gunicorn.wait(timeout=30)
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
