"""bench/load.py's server side: the seeded hosts, domUs and users, and the job feeder.

Django is imported inside the functions: the bench sets up Django (settings, database) first.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from load_client import Targets


class JobFeeder(threading.Thread):
    """Keep jobs running for the whole run; publish the latest domU jobs' codes to the pages.

    Every host always has a full refresh queued or running, and every host has a pause or an
    unpause of one of its domUs queued or running (the next domU each time). The job pages
    show the domU jobs, which admins and the operators of the owning team may all see.
    """

    def __init__(self, hosts: list, domains: list, targets: Targets) -> None:  # type: ignore[type-arg]
        super().__init__(daemon=True)
        self.hosts = hosts
        self.domains = {h.pk: [d for d in domains if d.host_id == h.pk] for h in hosts}
        self.turn = dict.fromkeys(self.domains, 0)
        self.paused: set[int] = set()
        self.targets = targets
        self.stop = threading.Event()
        self.queued: Counter[str] = Counter()
        self.error: BaseException | None = None

    def tick(self) -> None:
        from django.db import transaction

        from domains import actions
        from hosts.jobs import queue_refresh
        from jobs.choices import ACTIVE_JOB_STATUSES
        from jobs.models import Job

        active = Job.objects.filter(status__in=ACTIVE_JOB_STATUSES)
        for host in self.hosts:
            busy = set(
                active.filter(targets__object_id=host.pk, targets__role="host").values_list(
                    "kind", flat=True
                )
            )
            with transaction.atomic():
                if "host.refresh" not in busy:
                    queue_refresh(host, full=True)
                    self.queued["host.refresh"] += 1
                if not busy & {actions.PAUSE, actions.UNPAUSE}:
                    ring = self.domains[host.pk]
                    domain = ring[self.turn[host.pk] % len(ring)]
                    self.turn[host.pk] += 1
                    if domain.pk in self.paused:
                        kind, verb = actions.UNPAUSE, "Unpause"
                        self.paused.discard(domain.pk)
                    else:
                        kind, verb = actions.PAUSE, "Pause"
                        self.paused.add(domain.pk)
                    actions.queue(domain, kind, f"{verb} {domain.name}")
                    self.queued[kind] += 1
        codes = Job.objects.filter(kind__in=[actions.PAUSE, actions.UNPAUSE]).order_by("-id")
        latest = [str(c) for c in codes.values_list("code", flat=True)[: 2 * len(self.hosts)]]
        with self.targets.lock:
            self.targets.job_codes = latest

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.stop.is_set():
                self.tick()
                self.stop.wait(0.3)
        except BaseException as exc:  # noqa: BLE001 (reported by the main thread)
            self.error = exc
        finally:
            connection.close()


def seed(n_hosts: int, domus_per_host: int, sessions: int, latency_ms: int, sim_dir: Path):  # type: ignore[no-untyped-def]
    """Create the hosts, their running domUs and the users; return (hosts, domUs, users).

    The domUs exist on the simulated hosts too (`xl create` of their config), so the pause and
    unpause jobs the feeder queues on them work as on a real Dom0.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.roles import ADMIN_GROUP, OPERATOR_GROUP, sync_role_permissions
    from dom0.sim import SimHost
    from domains.models import Domain, DomainConfigVersion, DomainState
    from hosts.simhosts import create_sim_host

    sync_role_permissions()
    User = get_user_model()
    admin_group = Group.objects.get(name=ADMIN_GROUP)
    operator_group = Group.objects.get(name=OPERATOR_GROUP)
    team, _ = Group.objects.get_or_create(name="load-team")
    users = []
    for i in range(sessions):
        user = User.objects.create_user(f"load{i:03d}", f"load{i}@example.com", None)
        if i % 2 == 0:
            user.groups.add(admin_group)
        else:
            user.groups.add(operator_group, team)
        users.append(user)
    owner = users[1]
    hosts, domains = [], []
    for h in range(n_hosts):
        host = create_sim_host(f"load{h:02d}", state_dir=sim_dir / f"load{h:02d}")
        sim = SimHost(host.sim_dir)
        hosts.append(host)
        for i in range(domus_per_host):
            name = f"vm{h:02d}-{i:02d}"
            text = (
                f'name = "{name}"\ntype = "hvm"\nmemory = 512\nvcpus = 1\n'
                f'vif = ["bridge=bridge0"]\nvnc = 1\nvnclisten = "127.0.0.1"\n'
                f'vncdisplay = {i + 1}\nserial = "pty"\n'
            )
            path = f"{host.config_dir}/{name}.cfg"
            sim.local(path).parent.mkdir(parents=True, exist_ok=True)
            sim.local(path).write_text(text)
            result = sim.run(["xl", "create", path])
            assert result.rc == 0, result
            domain = Domain.objects.create(
                host=host,
                name=name,
                owner=owner,
                team=team,
                memory_mb=512,
                vcpus=1,
                vnc_display=i + 1,
                bridge="bridge0",
                state=DomainState.RUNNING,
                should_run=True,
            )
            DomainConfigVersion.objects.create(domain=domain, number=1, text=text, author=owner)
            domains.append(domain)
        sim.set_faults(latency_ms=latency_ms)
    return hosts, domains, users


def session_cookies(users: list) -> list[str]:  # type: ignore[type-arg]
    """Sign every user in server-side (a session row, as a login makes); return Cookie headers."""
    from django.conf import settings
    from django.test import Client

    cookies = []
    for user in users:
        client = Client()
        client.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        cookies.append(f"{name}={client.cookies[name].value}")
    return cookies
