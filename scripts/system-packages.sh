#!/usr/bin/env bash
# Install the OS packages xenpanel needs, only those missing. Debian/Ubuntu (apt) or FreeBSD (pkg).
# Usage: scripts/system-packages.sh run|demo|test
#   demo also tries QEMU and memtest86+ (a domU's console then shows a real booting ISO); when
#   they cannot be installed the demo still works, with the simulator's built-in VNC screens.
set -euo pipefail
want=(python3-venv redis-server openssh-client)  # ssh-keygen makes the panel's own SSH key
optional=()
[[ "${1:-run}" == test ]] && want+=(openssh-server chromium xorriso postgresql libxen-dev)
[[ "${1:-run}" == demo ]] && optional+=(qemu-system-x86 memtest86+)

is_missing() {
  case $1 in
    python3-venv) ! "${PYTHON:-python3}" -c "import ensurepip, venv" 2>/dev/null ;;
    redis-server) ! command -v redis-server >/dev/null ;;
    openssh-client) ! command -v ssh-keygen >/dev/null ;;
    openssh-server) [[ ! -x /usr/sbin/sshd ]] ;;
    chromium) [[ ! -x /usr/bin/chromium ]] ;;
    xorriso) ! command -v xorriso >/dev/null ;;
    # The tests start a throwaway server themselves (tests/support/postgres.py); Debian's
    # package also registers a `main` cluster on 5432, which they never use.
    postgresql) ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
      && [[ ! -x /usr/local/bin/initdb ]] ;;
    # libxlutil, xl's own config parser: tests/dom0/test_xlcfg_libxlu.py reads configs with it.
    libxen-dev) [[ ! -f /usr/include/libxlutil.h ]] ;;
    qemu-system-x86) ! command -v qemu-system-x86_64 >/dev/null ;;
    memtest86+) [[ ! -f /usr/lib/memtest86+/memtest86+x64.iso ]] ;;
  esac
}

install() {
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  if command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq || true
    $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  elif command -v pkg >/dev/null; then
    mapped=()
    for p in "$@"; do
      case $p in
        redis-server) mapped+=(redis) ;;
        chromium) mapped+=(chromium) ;;
        xorriso) mapped+=(xorriso) ;;
        postgresql) mapped+=(postgresql15-server) ;;
        qemu-system-x86) mapped+=(qemu-nox11) ;;
      esac
    done
    [[ ${#mapped[@]} -gt 0 ]] && $SUDO pkg install -y "${mapped[@]}"
  else
    echo "Please install: $*" >&2
    return 1
  fi
}

missing=()
for p in "${want[@]}"; do is_missing "$p" && missing+=("$p"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "Installing OS packages: ${missing[*]}" >&2
  install "${missing[@]}"
fi

extra=()
for p in "${optional[@]+"${optional[@]}"}"; do is_missing "$p" && extra+=("$p"); done
if [[ ${#extra[@]} -gt 0 ]]; then
  echo "Installing optional OS packages: ${extra[*]}" >&2
  install "${extra[@]}" || echo "Could not install ${extra[*]}: the demo's consoles show the simulator's built-in screen instead." >&2
fi
exit 0
