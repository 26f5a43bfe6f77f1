"""Register simulated Dom0s as hosts (for `make demo`, tests and anyone without Xen)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from hosts.choices import Transport
from hosts.models import Host


def create_sim_host(
    name: str,
    *,
    profile: str = "ready",
    transport: str = Transport.SIM,
    state_dir: Path | None = None,
    reset: bool = False,
    vnc_servers: bool = False,
    vnc_qemu: bool = True,
    **seed: object,
) -> Host:
    """Seed a simulated Dom0 in `state_dir` and register (or update) the Host row for it.

    With transport "local" the host is reached through the simulator's command shims, as a
    panel installed on a Dom0 would run the real tools. vnc_servers=True gives each domU it
    starts with `vnc = 1` a real VNC server (QEMU booting the domU's ISO when vnc_qemu and
    qemu-system-x86_64 allow, the built-in RFB server otherwise); it applies to an existing
    state directory too, so the demo turns it on for hosts it made before.
    """
    from dom0.sim import SimHost, make_shims, seed_host

    state_dir = Path(state_dir or Path(settings.SIM_DIR) / name)
    if reset or not (state_dir / "state.json").exists():
        sim = seed_host(state_dir, profile=profile, hostname=name, **seed)  # type: ignore[arg-type]
    else:
        sim = SimHost(state_dir)
    if vnc_servers:
        sim.set_vnc_servers(True, qemu=vnc_qemu)
    values: dict[str, object] = {
        "transport": transport,
        "address": "127.0.0.1",
        "sim_dir": str(state_dir),
        "volumes_parent": "zroot/xen",
        "iso_dir": "/var/lib/xenpanel/isos",
        "config_dir": "/usr/local/etc/xen",
        "default_bridge": "bridge0",
        "vnc_listen": "127.0.0.1",
        "tool_dir": "",
        "fs_root": "",
    }
    if transport != Transport.SIM:
        values["tool_dir"] = str(make_shims(state_dir, state_dir / "bin"))
        values["fs_root"] = str(sim.root)
    host, _ = Host.objects.update_or_create(name=name, defaults=values)
    return host
