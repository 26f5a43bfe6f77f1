"""Prepare the demo: an admin with a known password, two simulated hosts, the panel's SSH key."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from hosts.keys import ensure_panel_key
from hosts.simhosts import create_sim_host

DEMO_HOSTS = [("xen-demo1", "ready"), ("xen-lab2", "unready")]


class Command(BaseCommand):
    help = "Create the demo admin (printing its password) and the simulated demo hosts."

    def handle(self, *args: object, **options: object) -> None:
        username, password = self._admin()
        ensure_panel_key()
        for name, profile in DEMO_HOSTS:
            create_sim_host(name, profile=profile)
        self.stdout.write(f"Admin user: {username}  password: {password}")

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
