#!/usr/bin/env bash
# Everything `make demo` does after the venv exists.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh demo
export DJANGO_SETTINGS_MODULE=xenpanel.settings
# The demo offers bootable ISOs over HTTP on loopback (scripts/demo_iso.py, the Procfile's
# `isos` line). Fetching from loopback and private addresses is refused by default; the demo
# allows it so its ISO library can be filled offline. Never set this on a real panel.
export XENPANEL_DEMO_ISO_LISTEN="${XENPANEL_DEMO_ISO_LISTEN:-127.0.0.1:8001}"
export XENPANEL_FETCH_ALLOW_PRIVATE=true
XENPANEL_DEMO_ISO_URLS="$(.venv/bin/python scripts/demo_iso.py --urls --listen "$XENPANEL_DEMO_ISO_LISTEN")"
export XENPANEL_DEMO_ISO_URLS
.venv/bin/python manage.py migrate --noinput -v 0
# Hashed, gzipped static files as production serves them (xenpanel/staticstorage.py).
.venv/bin/python manage.py collectstatic --noinput -v 0
.venv/bin/python manage.py demo_setup
# However the demo stops (Ctrl-C, SIGTERM, the supervisor failing), switch the simulated Dom0s
# off so no VNC server or QEMU of a demo domU outlives it.
trap '.venv/bin/python manage.py demo_setup --power-off || true' EXIT
# Every Procfile line in its own process group; one that dies is restarted (1 s, doubling to
# 30 s) while the others keep running. Ctrl-C stops them all, Redis last, and returns here.
.venv/bin/python scripts/supervise.py -f Procfile --stop-last redis
