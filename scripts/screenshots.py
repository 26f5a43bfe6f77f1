"""Take the README's screenshots from a running `make demo`, through the panel's own pages.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000/ admin PASSWORD docs/screenshots

Run it against a freshly started demo (a new XENPANEL_VAR_DIR): it signs in, refreshes
xen-demo1, fetches the demo's ISO, creates the domU web1 from the form (memtest86+ in QEMU on
its console), finishes its install, edits it, snapshots it, opens the migrate dialog, powers it
off and opens a rollback; makes a template of a second domU and clones it; adds a team and an
operator. Each state is saved as a PNG under the output directory (the names the README uses).
Headless Chromium at 1280x800 (phone-domu.png at 390x844); every wait is on a selector or a
condition of the page, never a fixed delay.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
HOST, RECEIVER = "xen-demo1", "xen-demo2"
IDLE = "#domain-live:not([data-job-active])"
RUNNING = f"{IDLE}[data-state=running], {IDLE}[data-state=blocked]"
STOPPED = f"{IDLE}[data-state=not_running]"
JOB = 60_000  # ms: the longest a demo job (a create, a clone) is waited for
# The share of the console canvas that is memtest86+'s blue: its test screen has a blue
# background; QEMU's BIOS and the boot loader before it are black.
CANVAS_BLUE = """() => {
  const c = document.querySelector("[data-console-screen] canvas");
  if (!c || !c.width) return 0;
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0, blue = 0;
  for (let i = 0; i < d.length; i += 16, n++) if (d[i + 2] > 120 && d[i] < 80) blue++;
  return blue / n;
}"""


class Shots:
    """Sign-in, waits and saving of one browser context."""

    def __init__(self, browser: Browser, base: str, out: Path, **context: Any) -> None:
        self.context = browser.new_context(
            viewport=WIDE, base_url=base, bypass_csp=True, **context
        )  # bypass_csp: wait_for_function compiles its predicate, which the CSP forbids
        self.page: Page = self.context.new_page()
        self.out = out

    def login(self, user: str, password: str) -> None:
        self.page.goto("/accounts/login/")
        self.page.fill("#id_username", user)
        self.page.fill("#id_password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_selector("nav >> text=Sign out", state="attached")

    def save(self, name: str, *, full: bool = False) -> None:
        self.page.wait_for_load_state("networkidle")
        # No focus ring on the last field typed in (blurred until the focus stays away: leaving
        # a field can fire an htmx request whose swap brings it back); sticky columns at the top.
        self.page.wait_for_function(
            "() => { document.activeElement?.blur();"
            " return !document.activeElement || document.activeElement === document.body; }"
        )
        self.page.wait_for_load_state("networkidle")
        self.page.evaluate("window.scrollTo(0, 0)")
        # The focus ring fades out (a CSS transition): wait for it, and any other, to end.
        self.page.wait_for_function(
            "() => document.getAnimations().every((a) => a.playState !== 'running'"
            " || a.effect?.getTiming().iterations === Infinity)"
        )
        path = self.out / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full)
        print(f"saved {path}")

    def confirm(self, selector: str) -> None:
        """Click a button whose form asks first, and confirm in the panel's own dialog."""
        self.page.click(selector)
        self.page.click("#confirm-modal [data-confirm-ok]")

    def has_text(self, selector: str, text: str, timeout: float = JOB) -> None:
        self.page.wait_for_function(
            "([s, t]) => { const el = document.querySelector(s);"
            " return !!el && el.textContent.includes(t); }",
            arg=[selector, text],
            timeout=timeout,
        )

    def until(self, check: Callable[[], bool], what: str, tries: int = 60) -> None:
        """Reload until `check` holds: for states a page shows only once reloaded."""
        for _ in range(tries):
            if check():
                return
            self.page.wait_for_timeout(1000)
            self.page.reload()
        raise RuntimeError(f"gave up waiting for {what} on {self.page.url}")


def host_url(s: Shots, name: str) -> str:
    s.page.goto("/hosts/")
    return str(s.page.get_attribute(f"a:text-is('{name}')", "href"))


def host_readiness(s: Shots) -> str:
    url = host_url(s, HOST)
    s.page.goto(url)
    s.page.click("button:has-text('Refresh facts')")
    s.page.wait_for_selector("table.readiness tr[data-status=pass]", timeout=JOB)
    s.page.wait_for_function("!document.querySelector('#host-body[hx-trigger]')", timeout=JOB)
    s.page.reload()  # without the "Refreshing ..." notice of the job that has ended
    s.page.wait_for_selector("table.readiness tr[data-status=pass]")
    s.save("host-readiness", full=True)
    return url


def iso_fetch(s: Shots, host_code: str) -> None:
    s.page.goto(f"/isos/fetch/?host={host_code}")
    url = s.page.locator("[data-copy*='memtest86']").first.get_attribute("data-copy")
    s.page.fill("#id_url", str(url))
    if s.page.locator("#id_allow_private").count():
        s.page.check("#id_allow_private")
    s.page.click("button:has-text('Fetch on the host')")
    # Mid-way: the demo paces the download so the bar is seen moving.
    s.page.wait_for_function(
        "() => { const b = document.querySelector('#iso-status .job-bar');"
        " const v = b ? parseInt(b.getAttribute('aria-valuenow'), 10) : 0;"
        " return v >= 35 && v < 100; }",
        timeout=JOB,
    )
    s.save("iso-fetch")
    s.page.wait_for_selector("#iso-status[data-state=ready]", timeout=JOB)


def new_domu(s: Shots, host_code: str, name: str, *, iso: bool, shot: str = "") -> str:
    s.page.goto(f"/domains/new/?host={host_code}")
    s.page.fill("#id_name", name)
    s.has_text("[data-testid=cfg-preview]", f'name = "{name}"')
    s.page.fill("#id_memory_mb", "1024")
    s.has_text("[data-testid=cfg-preview]", "memory = 1024")
    if iso:
        option = s.page.locator("#id_iso option", has_text="memtest86").first
        s.page.select_option("#id_iso", str(option.get_attribute("value")))
        s.has_text("[data-testid=cfg-preview]", "devtype=cdrom")
    s.page.wait_for_selector("#cfg-preview .text-success")
    if shot:
        s.save(shot)
    s.page.click("button:has-text('Create and start')")
    s.page.wait_for_url(re.compile(r"/domains/[0-9a-f-]{36}/$"))
    s.page.wait_for_selector(RUNNING, timeout=JOB)
    s.has_text("#domain-body", "ready)")
    return s.page.url


def console(s: Shots, domain_url: str) -> None:
    s.page.goto(domain_url)
    s.page.click("#vnc-card >> text=Console in the browser")
    s.page.wait_for_function(
        "document.getElementById('console-app').dataset.state === 'connected'", timeout=JOB
    )
    # QEMU boots memtest86+ from the ISO: wait for its test screen.
    s.page.wait_for_function(f"({CANVAS_BLUE})() > 0.5", timeout=120_000, polling=500)
    s.save("console")


def day_two(s: Shots, domain_url: str) -> None:
    """Finish the install, edit (memory, a second NIC: restart pending), take a snapshot."""
    s.page.goto(domain_url)
    s.confirm("#domain-live >> text=Finish install")
    s.page.wait_for_selector(RUNNING, timeout=JOB)
    s.page.wait_for_function(
        "!document.querySelector('[data-testid=current-config]').textContent.includes('cdrom')",
        timeout=JOB,
    )
    s.page.click("#domain-live .actions a:text-is('Edit')")
    s.page.wait_for_url("**/edit/")
    s.page.fill("#id_memory_mb", "1536")
    s.has_text("[data-testid=edit-diff]", "+memory = 1536")
    s.page.check("#id_add_nic")
    s.has_text("[data-testid=edit-diff]", "'bridge=bridge0,mac=")
    s.page.wait_for_selector("[data-testid=edit-plan]")
    s.save("edit", full=True)
    s.page.click("#edit-form button[type=submit]:text-is('Save')")
    s.page.wait_for_url(domain_url)
    take_snapshot(s, "before-upgrade")
    s.page.goto(domain_url)
    s.page.wait_for_selector(RUNNING, timeout=JOB)
    s.save("domu-day2", full=True)
    s.page.set_viewport_size(PHONE)
    s.page.wait_for_selector(".navbar-toggler", state="visible")
    s.save("phone-domu")
    s.page.set_viewport_size(WIDE)


def take_snapshot(s: Shots, name: str) -> None:
    s.page.fill("#snapshot-name", name)
    s.page.click("button:has-text('Take snapshot')")
    row = f"#snapshots tr:has-text('{name}')"
    s.until(
        lambda: (
            s.page.locator(row).count() == 1
            and s.page.locator(f"{row} a:has-text('Roll back')").count() == 1
        ),
        f"the snapshot {name}",
    )


def migrate(s: Shots, domain_url: str) -> None:
    s.page.goto(domain_url)
    s.page.click("#domain-live .actions a:text-is('Migrate')")
    s.page.wait_for_url("**/migrate/")
    option = s.page.locator("#id_target option", has_text=RECEIVER).first
    s.page.select_option("#id_target", str(option.get_attribute("value")))
    s.has_text("#migrate-plan", RECEIVER)
    s.page.wait_for_selector("#migrate-plan[data-mode] [data-testid=migrate-checks]")
    s.save("migrate", full=True)


def snapshots(s: Shots, domain_url: str) -> None:
    """Power web1 off, take a clean snapshot, and open the rollback of the earlier one."""
    s.page.goto(domain_url)
    s.confirm("#domain-live >> button:text-is('Destroy')")
    s.page.wait_for_selector(STOPPED, timeout=JOB)
    s.page.goto(f"{domain_url}snapshots/")
    take_snapshot(s, "after-upgrade")
    s.page.click("#snapshots tr:has-text('before-upgrade') a:has-text('Roll back')")
    s.page.wait_for_selector("[data-testid=rollback-confirm]")
    s.save("snapshots", full=True)


def templates(s: Shots, host_code: str) -> None:
    """Make a template of a stopped domU, then clone it from the picker."""
    new_domu(s, host_code, "freebsd14-web", iso=False)
    s.confirm("#domain-live >> button:text-is('Destroy')")
    s.page.wait_for_selector(STOPPED, timeout=JOB)
    clones(s)


def clones(s: Shots) -> None:
    s.page.wait_for_selector("#template-confirm")
    s.page.fill("#template-confirm", "freebsd14-web")
    s.confirm("#template-card button:has-text('Make a template')")
    s.page.wait_for_url("**/jobs/*/")
    s.page.wait_for_selector("text=Succeeded", timeout=JOB)
    picker(s)


def picker(s: Shots) -> None:
    """Ten domUs from the template in the picker; three are made (the demo shares 2 cores)."""
    s.page.goto("/domains/new/from-template/")
    s.page.wait_for_selector("#id_template")
    s.page.fill("#id_name", "web-{n}")
    s.page.fill("#id_count", "10")
    s.save("template-picker")
    s.page.fill("#id_count", "3")
    s.page.click("#clone-form button:has-text('Create and start')")
    s.page.wait_for_load_state("networkidle")
    s.page.goto("/domains/templates/")
    s.page.click("a:text-is('freebsd14-web')")
    s.until(lambda: s.page.locator("a:text-is('web-3')").count() == 1, "the clones")
    s.save("template", full=True)


def users(s: Shots) -> None:
    s.page.goto("/users/teams/")
    s.page.fill("[data-testid=team-form] #id_name", "lab")
    s.page.click("button:has-text('Create team')")
    s.page.wait_for_load_state("networkidle")
    s.page.goto("/users/new/")
    s.page.fill("#id_username", "oscar")
    s.page.fill("#id_email", "oscar@example.org")
    s.page.check("input[name=role][value=operator]")
    s.page.get_by_label("lab", exact=True).check()
    s.page.fill("#id_domus", "4")
    s.page.fill("#id_memory_mb", "8192")
    s.page.click("button:has-text('Add user')")
    s.page.wait_for_selector("[data-testid=password-value]")
    s.page.goto("/users/")
    s.page.wait_for_selector("[data-testid=user-oscar]")
    s.save("users")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="where the demo answers, e.g. http://127.0.0.1:8000/")
    parser.add_argument("user")
    parser.add_argument("password")
    parser.add_argument("out", nargs="?", default="docs/screenshots", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        s = Shots(browser, args.base_url, args.out)
        s.page.set_default_timeout(30_000)
        s.login(args.user, args.password)
        url = host_readiness(s)
        code = url.rstrip("/").rsplit("/", 1)[-1]
        iso_fetch(s, code)
        web1 = new_domu(s, code, "web1", iso=True, shot="new-domu")
        console(s, web1)
        day_two(s, web1)
        migrate(s, web1)
        snapshots(s, web1)
        templates(s, code)
        users(s)
        s.page.goto("/storage/")
        s.save("storage")
        s.page.goto("/")
        s.save("dashboard")
        s.context.close()
        dark = Shots(browser, args.base_url, args.out, color_scheme="dark")
        dark.login(args.user, args.password)
        dark.page.goto("/")
        dark.save("dark-dashboard")
        dark.context.close()
        browser.close()


if __name__ == "__main__":
    main()
