"""Benchmark: bytes on the wire for a first dashboard load, with all its assets (issue 16).

Seeds a fresh SQLite DB (bench/dashboard.py's seed: hosts × domUs × jobs), runs collectstatic
into the throwaway VAR_DIR, starts gunicorn as the Procfile does, and loads `/` signed in, in a
fresh headless Chromium (empty cache), twice:
  - as a browser does (`Accept-Encoding: gzip, deflate, br, zstd`), and
  - with `Accept-Encoding: identity` (what the same load costs uncompressed),
summing each response's `encodedDataLength` (headers + body as received) from the DevTools
protocol's `Network.loadingFinished`. Then it loads `/` again in the first browser to show what a
return visit fetches (hashed static files are cached as immutable: nothing but the page).
Target: the first load ≤ 200 KB.

    .venv/bin/python bench/first_load.py [--hosts 10] [--domains 20] [--jobs 200] [--no-collect]

`--no-collect` skips collectstatic: the panel then links unhashed names and whitenoise serves
them from the source tree, uncompressed (xenpanel/staticstorage.py) — the state before issue 16.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET = 200 * 1024
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=10)
    parser.add_argument("--domains", type=int, default=20, help="domUs per host")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--no-collect", action="store_true", help="skip collectstatic")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every response")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="xenpanel-bench-first-load-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xenpanel.settings",
        "XENPANEL_VAR_DIR": str(work / "var"),
        "XENPANEL_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from bench.dashboard import seed
    from bench.stack import web_server

    call_command("migrate", verbosity=0)
    if not args.no_collect:
        call_command("collectstatic", "--noinput", verbosity=0)
    user = seed(args.hosts, args.domains, args.jobs)
    cookie = session_cookie(user)

    with web_server(work, env) as port:
        url = f"http://127.0.0.1:{port}/"
        print(
            f"hosts {args.hosts}, domUs {args.hosts * args.domains}, jobs {args.jobs}; "
            f"static files {'not collected' if args.no_collect else 'collected'}"
        )
        loads = measure(url, cookie, verbose=args.verbose)
    compressed, identity, again = loads
    for label, responses in (
        ("first load, gzip accepted", compressed),
        ("first load, identity", identity),
        ("return visit", again),
    ):
        total = sum(size for _, _, size in responses)
        print(f"{label:28s} {total / 1024:8.1f} KB in {len(responses):2d} responses")
    first = sum(size for _, _, size in compressed)
    plain = sum(size for _, _, size in identity)
    print(f"ratio compressed / identity  {first / plain:8.2f}")
    print(f"target: first load <= {TARGET // 1024} KB: {'ok' if first <= TARGET else 'FAIL'}")
    if first > TARGET:
        sys.exit(1)


def session_cookie(user: Any) -> dict[str, str]:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
    }


def measure(url: str, cookie: dict[str, str], *, verbose: bool) -> list[list[tuple[str, str, int]]]:
    """Load `url` in fresh contexts; return each load's (url, content-encoding, bytes) list."""
    from playwright.sync_api import sync_playwright

    results: list[list[tuple[str, str, int]]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            for encoding in ("", "identity"):
                context = browser.new_context()
                context.add_cookies(
                    [{"name": cookie["name"], "value": cookie["value"], "url": url}]
                )
                page = context.new_page()
                loads = [load(page, url, encoding)]
                if not encoding:
                    loads.append(load(page, url, encoding))  # the return visit, same cache
                results.extend(loads)
                context.close()
        finally:
            browser.close()
    # results: gzip first load, gzip return visit, identity first load
    ordered = [results[0], results[2], results[1]]
    if verbose:
        for label, responses in zip(("gzip", "identity", "return"), ordered, strict=True):
            for where, coding, size in responses:
                print(f"  {label:8s} {size:8d} {coding or '-':5s} {where}")
    return ordered


def load(page: Any, url: str, encoding: str) -> list[tuple[str, str, int]]:
    """Navigate to `url`; return what came over the network (cache hits excluded)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    if encoding:
        cdp.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": encoding}})
    seen: dict[str, tuple[str, str]] = {}
    done: dict[str, int] = {}

    def on_response(event: dict[str, Any]) -> None:
        response = event["response"]
        if response.get("fromDiskCache") or response.get("fromMemoryCache"):
            return
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        seen[event["requestId"]] = (response["url"], headers.get("content-encoding", ""))

    def on_finished(event: dict[str, Any]) -> None:
        done[event["requestId"]] = int(event["encodedDataLength"])

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.loadingFinished", on_finished)
    page.goto(url, wait_until="networkidle")
    cdp.detach()
    # A cache hit or a data: URL moves no bytes: only what crossed the network is listed.
    return [(*seen[rid], size) for rid, size in done.items() if rid in seen and size]


if __name__ == "__main__":
    main()
