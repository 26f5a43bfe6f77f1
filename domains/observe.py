"""Reconcile domUs with what a host's `xl list` showed (the domUs work fills this in)."""

from __future__ import annotations

from typing import Any

from hosts.models import Host


def observe_domains(
    host: Host, rows: list[dict[str, Any]], *, dom0_cpu_seconds: float | None
) -> None:
    """Called by every host refresh/poll after `xl list`, inside the worker."""
