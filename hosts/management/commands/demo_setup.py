"""Prepare the demo: an admin with a known password, two simulated hosts, the panel's SSH key.

The demo hosts run a real VNC server for each domU they start (QEMU booting the domU's ISO where
qemu-system-x86_64 is installed, the simulator's built-in RFB screen otherwise), so the console
page shows something. `--power-off`, run when the demo stops, switches the simulated Dom0s off:
their domUs and VNC servers (and QEMU) end, as on a real Dom0 going down.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from hosts.keys import ensure_panel_key
from hosts.models import Host
from hosts.simhosts import create_sim_host

# Two ready hosts to move domUs between, and one that fails two readiness items.
DEMO_HOSTS = [("xen-demo1", "ready"), ("xen-demo2", "ready"), ("xen-lab2", "unready")]


class Command(BaseCommand):
    help = "Create the demo admin (printing its password) and the simulated demo hosts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--power-off",
            action="store_true",
            help="Stop every simulated host's domUs and VNC servers (the demo runs this on exit).",
        )

    def handle(self, *args: object, **options: Any) -> None:
        if options["power_off"]:
            self._power_off()
            return
        username, password = self._admin()
        ensure_panel_key()
        for name, profile in DEMO_HOSTS:
            # The simulated hosts share this machine's loopback: a domU moved to xen-demo2 would
            # find its VNC port still held by its paused copy on xen-demo1. xen-demo2 runs no
            # VNC servers, so a migration to it completes (its consoles are not viewable).
            create_sim_host(name, profile=profile, vnc_servers=name != "xen-demo2")
        self.stdout.write(f"Admin user: {username}  password: {password}")

    def _power_off(self) -> None:
        from dom0.sim import SimHost

        for host in Host.objects.exclude(sim_dir=""):
            state_dir = Path(host.sim_dir)
            if (state_dir / "state.json").exists():
                SimHost(state_dir).reboot()
                self.stdout.write(f"Simulated host {host.name} powered off.")

    def _admin(self) -> tuple[str, str]:
        User = get_user_model()
        path = Path(settings.VAR_DIR) / "admin-password"
        username = "admin"
        user = User.objects.filter(username=username).first()
        if path.exists():
            password = path.read_text().strip()
        else:
            password = secrets.token_urlsafe(12)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(password + "\n")
        if user is None:
            User.objects.create_superuser(username, "admin@localhost", password)
        elif not user.check_password(password):
            password = "(changed since the demo set it)"  # noqa: S105
        return username, password
