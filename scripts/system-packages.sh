#!/usr/bin/env bash
# Install the OS packages xenpanel needs, only those missing. Debian/Ubuntu (apt) or FreeBSD (pkg).
# Usage: scripts/system-packages.sh run|test
set -euo pipefail
want=(redis-server)
[[ "${1:-run}" == test ]] && want+=(openssh-server chromium xorriso)

missing=()
for p in "${want[@]}"; do
  case $p in
    redis-server) command -v redis-server >/dev/null || missing+=(redis-server) ;;
    openssh-server) [[ -x /usr/sbin/sshd ]] || missing+=(openssh-server) ;;
    chromium) [[ -x /usr/bin/chromium ]] || missing+=(chromium) ;;
    xorriso) command -v xorriso >/dev/null || missing+=(xorriso) ;;
  esac
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "Installing OS packages: ${missing[*]}" >&2
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
if command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v pkg >/dev/null; then
  mapped=()
  for p in "${missing[@]}"; do
    case $p in redis-server) mapped+=(redis) ;; chromium) mapped+=(chromium) ;; xorriso) mapped+=(xorriso) ;; esac
  done
  [[ ${#mapped[@]} -gt 0 ]] && $SUDO pkg install -y "${mapped[@]}"
else
  echo "Please install: ${missing[*]}" >&2
  exit 1
fi
