"""Read a host's ZFS pools (`zpool list`) into `Pool` rows, for the Storage page."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from dom0 import commands, parsers
from hosts.models import Host
from jobs.context import JobContext
from storage.models import Pool


def read_pools(ctx: JobContext, host: Host) -> None:
    """Run `zpool list` on the host and keep what it shows (pools gone from it are dropped)."""
    result = ctx.run(commands.zpool_list(), label="List ZFS pools", timeout=30)
    rows = parsers.parse_zpool_list(result.stdout)
    now = timezone.now()
    with transaction.atomic():
        for row in rows:
            Pool.objects.update_or_create(
                host=host,
                name=row.name,
                defaults={
                    "size_bytes": row.size,
                    "allocated_bytes": row.alloc,
                    "free_bytes": row.free,
                    "health": row.health[:16],
                    "seen_at": now,
                },
            )
        Pool.objects.filter(host=host).exclude(name__in=[r.name for r in rows]).delete()
    ctx.result(pools=len(rows))
