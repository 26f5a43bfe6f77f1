"""Real VNC servers for simulated domUs: started by `xl create`, stopped by destroy/shutdown/reboot.

Off unless the host state says `vnc_servers` (seed_host(vnc_servers=True) or
SimHost.set_vnc_servers(True)): tests create many domUs and must not leave processes behind.
When on, an HVM domU with `vnc = 1` gets a process on its vnclisten address and the port the
simulator allocated (see vncserver.py): QEMU booting the domU's ISO where `qemu-system-x86_64`
is installed, the domU has an ISO in its disks and `vnc_qemu` is on; the built-in RFB server
otherwise. A port another process holds is skipped when vncunused is on (QEMU's `to=99`), and
fails the create like a device model that did not start when it is off.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .state import State

if TYPE_CHECKING:
    from .host import SimHost

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 25.0
STOP_TIMEOUT = 5.0


def _dm_failure(domid: int, reason: str) -> list[str]:
    return [
        f"libxl: error: libxl_dm.c:3066:device_model_spawn_outcome: Domain {domid}:"
        f"domain {domid} device model: spawn failed (rc=-3)",
        f"libxl: error: libxl_create.c:1917:domcreate_devmodel_started: Domain {domid}:"
        f"device model did not start: -3 ({reason})",
    ]


def _listen_address(vnc: dict[str, Any]) -> str:
    listen = str(vnc.get("listen") or "127.0.0.1")
    return "127.0.0.1" if listen == "localhost" else listen


def _bind(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        sock.listen(8)
    except OSError:
        sock.close()
        raise
    return sock


def _iso_for(host: SimHost, state: State, dom: dict[str, Any]) -> str | None:
    """Return the local path of the domU's ISO if QEMU should boot it, else None."""
    if not state.get("vnc_qemu", True) or shutil.which("qemu-system-x86_64") is None:
        return None
    for disk in dom["disks"]:
        if disk.get("is_cdrom") and disk["target"]:
            path = host.local(disk["target"])
            if path.is_file() and path.stat().st_size > 0:
                return str(path)
    return None


def _info(state: State, dom: dict[str, Any]) -> dict[str, str]:
    cdrom = next((d["target"] for d in dom["disks"] if d.get("is_cdrom") and d["target"]), "")
    return {
        "name": dom["name"],
        "domid": str(dom["domid"]),
        "state": "PAUSED" if dom["paused"] else "RUNNING",
        "host": state["hostname"],
        "uptime": "00:00:00",
        "cdrom": cdrom.rsplit("/", 1)[-1],
    }


def _spawn(
    host: SimHost, dom: dict[str, Any], spec: dict[str, Any], args: list[str], fds: tuple[int, ...]
) -> tuple[bool, str]:
    (host.state_dir / "vnc").mkdir(exist_ok=True)
    argv = [sys.executable, "-m", "dom0.sim.vncserver", "--state-dir", str(host.state_dir)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [*argv, "--name", dom["name"], *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        pass_fds=fds,
        cwd=PROJECT_ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(json.dumps(spec).encode() + b"\n", timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False, "the VNC server did not report in time"
    line = out.decode("utf-8", "replace").strip()
    return line.startswith("ok "), line.partition(" ")[2]


def launch(host: SimHost, state: State, dom: dict[str, Any]) -> list[str] | None:
    """Start the VNC server of a domU `xl create` just made; return libxl's error lines if not."""
    vnc = dom.get("vnc")
    if not state.get("vnc_servers") or not vnc or not dom.get("vnc_port"):
        return None
    listen = _listen_address(vnc)
    first = int(dom["vnc_port"])
    taken = {d.get("vnc_port") for d in state["domains"].values() if d is not dom}
    candidates = [first]
    if vnc.get("findunused"):
        last = 5900 + int(vnc.get("display") or 0) + 100
        candidates += [p for p in range(first + 1, last) if p not in taken]
    iso = _iso_for(host, state, dom)
    spec = {"passwd": vnc.get("passwd", ""), "info": _info(state, dom), "memory": dom.get("memory")}
    reason = "no free VNC port"
    for port in candidates:
        try:
            sock = _bind(listen, port)
        except OSError as exc:
            reason = f"cannot bind {listen}:{port}: {exc.strerror or exc}"
            continue
        instance = uuid.uuid4().hex
        args = ["--instance", instance, "--listen", listen, "--port", str(port)]
        try:
            if iso:
                sock.close()  # QEMU binds it itself
                started, detail = _spawn(host, dom, spec, [*args, "--qemu", iso], ())
            else:
                args += ["--fd", str(sock.fileno())]
                started, detail = _spawn(host, dom, spec, args, (sock.fileno(),))
        finally:
            sock.close()
        if not started:
            return _dm_failure(dom["domid"], detail or "the VNC server failed")
        dom |= {
            "vnc_port": port,
            "vnc_pid": int(detail),
            "vnc_instance": instance,
            "vnc_server": "qemu" if iso else "builtin",
        }
        return None
    return _dm_failure(dom["domid"], reason)


def _is_ours(pid: int, instance: str) -> bool:
    """Say whether `pid` is still the server started with this instance id (not a reused pid)."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if Path("/proc/self/cmdline").exists():
        try:
            return instance.encode() in cmdline.read_bytes()
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def server_running(dom: dict[str, Any]) -> bool:
    pid, instance = dom.get("vnc_pid"), dom.get("vnc_instance")
    return bool(pid and instance and _is_ours(int(pid), str(instance)))


def stop(dom: dict[str, Any]) -> None:
    """Stop a domU's VNC server (its device model goes with the domain); wait until it is gone."""
    if not server_running(dom):
        return
    pid, instance = int(dom["vnc_pid"]), str(dom["vnc_instance"])
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while _is_ours(pid, instance):
        if time.monotonic() > deadline:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            return
        time.sleep(0.02)
    for key in ("vnc_pid", "vnc_instance"):
        dom.pop(key, None)


def restart(host: SimHost, state: State, dom: dict[str, Any]) -> None:
    """Replace the server after the domain was re-created under a new id (xl reboot)."""
    if not dom.get("vnc_instance"):
        return
    stop(dom)
    launch(host, state, dom)
