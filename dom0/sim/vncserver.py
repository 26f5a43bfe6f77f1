"""The process behind one simulated domU's VNC port (what QEMU's device model is on a real Dom0).

Started by `vnc.launch` as `python -m dom0.sim.vncserver ...`. It forks once so the
server is nobody's child (the worker that ran `xl create` must not collect zombies), reports
"ok <pid>" or "fail <reason>" on stdout, then serves until its domU leaves the host state, the
state directory disappears, or it gets SIGTERM. A watchdog checks the state every second.

Two modes: the built-in RFB server on a listening socket handed over as an inherited fd, or
`qemu-system-x86_64` booting the domU's ISO with its VNC on the port (`--qemu ISO`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from . import domains
from .state import StateStore

WATCHDOG_SECONDS = 1.0
QEMU_START_SECONDS = 15.0


def _info(state: dict[str, Any], dom: dict[str, Any]) -> dict[str, str]:
    letters = domains.state_letters(dom, time.time())
    label = "PAUSED" if "p" in letters else "SHUT DOWN" if "s" in letters else "RUNNING"
    uptime = int(time.time() - dom["created"])
    cdrom = next((d["target"] for d in dom["disks"] if d.get("is_cdrom") and d["target"]), "")
    return {
        "name": dom["name"],
        "domid": str(dom["domid"]),
        "state": label,
        "host": state["hostname"],
        "uptime": f"{uptime // 3600:02d}:{uptime // 60 % 60:02d}:{uptime % 60:02d}",
        "cdrom": cdrom.rsplit("/", 1)[-1],
    }


class Watchdog:
    """Say whether this server's domU still exists (same name, same server instance)."""

    def __init__(self, state_dir: Path, name: str, instance: str) -> None:
        self.state_dir = state_dir
        self.store = StateStore(state_dir)
        self.name = name
        self.instance = instance

    def current(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if not self.store.exists():
            return None
        try:
            state = self.store.read()
        except (OSError, ValueError):
            return None
        dom = state["domains"].get(self.name)
        if dom is None or dom.get("vnc_instance") != self.instance:
            return None
        return state, dom


def _run_builtin(args: argparse.Namespace, spec: dict[str, Any], report: Any) -> None:
    from . import rfb

    listener = socket.socket(fileno=args.fd)
    keys_file = args.state_dir / "vnc" / f"{args.name}.keys.json"

    def on_keys(record: dict[str, Any]) -> None:
        # What the keyboard sent, for people and tests to check (paste, Ctrl-Alt-Del, the
        # send-keys menu): written to a temporary file and renamed, so a reader never sees half.
        partial = keys_file.with_suffix(".part")
        partial.write_text(json.dumps(record), "utf-8")
        os.replace(partial, keys_file)

    screen = rfb.Screen(spec["info"], on_keys)
    report(f"ok {os.getpid()}")
    threading.Thread(
        target=rfb.serve,
        args=(listener, screen, spec.get("passwd", ""), f"{args.name} (simulated)"),
        daemon=True,
    ).start()
    watchdog = Watchdog(args.state_dir, args.name, args.instance)
    while True:
        time.sleep(WATCHDOG_SECONDS)
        found = watchdog.current()
        if found is None:
            return
        screen.update(_info(*found))


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _run_qemu(args: argparse.Namespace, spec: dict[str, Any], report: Any) -> None:
    vnc_dir = args.state_dir / "vnc"
    display = args.port - 5900
    vnc = f"{args.listen}:{display}"
    from .qemu import base_argv  # the domU's own memory, capped for the demo machine

    argv = base_argv(args.qemu_binary, args.name, spec.get("memory"), args.qemu)
    secret = vnc_dir / f"{args.name}.secret"
    if spec.get("passwd"):
        fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(spec["passwd"][:8])
        argv += ["-object", f"secret,id=vncpw,file={secret}"]
        vnc += ",password-secret=vncpw"
    argv += ["-vnc", vnc, "-display", "none", "-monitor", "none", "-serial", "none"]
    log = open(vnc_dir / f"{args.name}.qemu.log", "ab")  # noqa: SIM115 - lives as long as QEMU
    qemu = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def stop_qemu(*_: object) -> None:
        if qemu.poll() is None:
            qemu.terminate()
            try:
                qemu.wait(5)
            except subprocess.TimeoutExpired:
                qemu.kill()
        secret.unlink(missing_ok=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop_qemu)
    deadline = time.monotonic() + QEMU_START_SECONDS
    while not _port_open(args.listen, args.port):
        if qemu.poll() is not None or time.monotonic() > deadline:
            tail = (vnc_dir / f"{args.name}.qemu.log").read_text("utf-8", "replace")[-300:]
            report(f"fail qemu did not open its VNC port: {tail.strip()}")
            stop_qemu()
        time.sleep(0.1)
    secret.unlink(missing_ok=True)
    report(f"ok {os.getpid()}")
    watchdog = Watchdog(args.state_dir, args.name, args.instance)
    while qemu.poll() is None and watchdog.current() is not None:
        time.sleep(WATCHDOG_SECONDS)
    stop_qemu()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vncserver")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fd", type=int, help="listening socket (built-in server)")
    parser.add_argument("--qemu", help="ISO to boot in QEMU instead of the built-in server")
    parser.add_argument("--qemu-binary", default="qemu-system-x86_64")
    args = parser.parse_args(argv)
    # The launcher writes the password and the first screen on stdin, never on the command line.
    spec = json.loads(sys.stdin.readline() or "{}")
    read_end, write_end = os.pipe()
    if os.fork() > 0:
        os.close(write_end)
        with os.fdopen(read_end) as status:
            line = status.readline().strip() or "fail the VNC server died while starting"
        print(line, flush=True)
        return 0 if line.startswith("ok ") else 1
    os.close(read_end)
    os.setsid()
    log_fd = os.open(
        args.state_dir / "vnc" / f"{args.name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
    )
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    reported = False

    def report(line: str) -> None:
        nonlocal reported
        if not reported:
            os.write(write_end, (line + "\n").encode())
            os.close(write_end)
            reported = True

    try:
        if args.qemu:
            _run_qemu(args, spec, report)
        else:
            _run_builtin(args, spec, report)
    except Exception as exc:  # the launcher must hear about it, not wait for ever
        report(f"fail {type(exc).__name__}: {exc}")
        traceback.print_exc()
    finally:
        os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
