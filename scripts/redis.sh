#!/usr/bin/env bash
# Run a local redis-server for the demo on the port of XENPANEL_REDIS_URL (default 6379),
# unless one already answers there.
set -euo pipefail
port=$(python3 -c 'import os,urllib.parse as u; print(u.urlsplit(os.environ.get("XENPANEL_REDIS_URL","redis://127.0.0.1:6379/0")).port or 6379)')
if redis-cli -p "$port" ping >/dev/null 2>&1; then
  echo "Using the Redis already running on port $port."
  exec sleep infinity
fi
mkdir -p var/redis
exec redis-server --port "$port" --bind 127.0.0.1 --dir var/redis --save 60 1 --appendonly no
