#!/usr/bin/env bash
# Everything `make demo` does after the venv exists.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh run
export DJANGO_SETTINGS_MODULE=xenpanel.settings
.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py demo_setup
exec .venv/bin/honcho start -f Procfile
