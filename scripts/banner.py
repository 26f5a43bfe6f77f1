"""Wait for the web server, then print where the panel is and how to sign in."""

import os
import subprocess
import time
import urllib.request
from pathlib import Path

bind = os.environ.get("XENPANEL_BIND", "127.0.0.1:8000")
host, port = bind.rsplit(":", 1)
url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"  # noqa: S104
for _ in range(120):
    try:
        urllib.request.urlopen(url + "accounts/login/", timeout=2)  # noqa: S310
        break
    except OSError:
        time.sleep(0.5)
subprocess.run([".venv/bin/python", "manage.py", "refresh_hosts"], check=False)
password = (Path(os.environ.get("XENPANEL_VAR_DIR", "var")) / "admin-password").read_text().strip()
isos = [u for u in os.environ.get("XENPANEL_DEMO_ISO_URLS", "").split(",") if u]
offered = "".join(f"    {u}\n" for u in isos)
print(
    "\n" + "=" * 64 + f"\n  xenpanel is running at {url}\n"
    f"  Sign in as: admin   password: {password}\n"
    + (f"  Bootable ISOs to fetch (ISOs > Fetch from URL):\n{offered}" if isos else "")
    + "  Press Ctrl-C to stop web, worker, beat and Redis.\n"
    + "=" * 64
    + "\n",
    flush=True,
)
while True:
    time.sleep(3600)
