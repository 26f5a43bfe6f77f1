"""Refresh a host: `xl info` facts, `xl list`, and (on demand) the readiness checklist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from dom0 import commands, parsers
from dom0.errors import Dom0Error, HostUnreachable, XenNotRunning
from hosts import readiness
from hosts.choices import HostStatus
from hosts.listing import domu_totals, listing_row
from hosts.models import Host
from hosts.signals import listing_observed
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.context import JobContext
from jobs.enqueue import Target, enqueue
from jobs.models import Job, JobTarget
from jobs.registry import job_kind

REFRESH = "host.refresh"
POLL = "host.poll"  # the scheduled, lighter refresh (facts + xl list)

#: Steps other apps add to a full refresh (storage reads `zpool list`): fn(ctx, host).
RefreshStep = Callable[[JobContext, Host], None]
_REFRESH_STEPS: list[RefreshStep] = []


#: Steps other apps add to EVERY refresh, the scheduled poll included (monitoring samples
#: `xentop` and `zpool list` there: one round per host per poll, not one job per host).
_POLL_STEPS: list[RefreshStep] = []


def register_poll_step(step: RefreshStep) -> None:
    """Run `step(ctx, host)` at the end of every refresh and poll of a reachable host."""
    if step not in _POLL_STEPS:
        _POLL_STEPS.append(step)


def register_refresh_step(step: RefreshStep) -> None:
    """Run `step(ctx, host)` at the end of every full refresh (the Refresh button), not polls."""
    if step not in _REFRESH_STEPS:
        _REFRESH_STEPS.append(step)


def queue_refresh(host: Host, *, user: Any = None, full: bool = True) -> Job:
    return enqueue(
        REFRESH if full else POLL,
        title=f"{'Refresh' if full else 'Poll'} {host.name}",
        targets=[Target.locking("host", host)],
        user=user,
    )


def queue_refresh_all() -> int:
    """Queue one poll per host (parallel, one task each); skip hosts with a refresh pending."""
    busy = JobTarget.objects.filter(
        job__kind__in=[REFRESH, POLL],
        job__status__in=ACTIVE_JOB_STATUSES,
        content_type=ContentType.objects.get_for_model(Host),
    ).values("object_id")
    count = 0
    with transaction.atomic():
        for host in Host.objects.exclude(pk__in=busy):
            queue_refresh(host, full=False)
            count += 1
    return count


@job_kind(REFRESH)
def refresh(ctx: JobContext) -> str:
    return _refresh(ctx, full=True)


@job_kind(POLL)
def poll(ctx: JobContext) -> str:
    return _refresh(ctx, full=False)


def _refresh(ctx: JobContext, *, full: bool) -> str:
    host: Host = ctx.target("host")
    gathered = readiness.Gathered()
    try:
        ctx.progress(5, "Reading xl info")
        facts = _facts(ctx, gathered)
        ctx.progress(40 if full else 70, "Reading xl list")
        _domains(ctx, host, facts, gathered)
        host.facts = facts  # the poll steps (monitoring's sample) read this poll's memory
        if full:
            ctx.progress(60, "Checking Dom0 readiness")
            _gather_readiness(ctx, host, gathered)
            for step in _REFRESH_STEPS:
                step(ctx, host)
        for step in _POLL_STEPS:
            step(ctx, host)
    except HostUnreachable as exc:
        _save(host, status=HostStatus.UNREACHABLE, reason=str(exc))
        raise
    except XenNotRunning as exc:
        gathered.xl_error = str(exc)
        facts = {}
        if full:
            _gather_readiness(ctx, host, gathered)
        _save(
            host,
            status=HostStatus.ERROR,
            reason=str(exc),
            facts=facts,
            checklist=readiness.evaluate(gathered, bridge=host.default_bridge) if full else None,
        )
        raise
    except Dom0Error as exc:
        _save(host, status=HostStatus.ERROR, reason=str(exc))
        raise
    checklist = readiness.evaluate(gathered, bridge=host.default_bridge) if full else None
    _save(host, status=HostStatus.OK, reason="", facts=facts, checklist=checklist)
    ctx.progress(100, "Done")
    summary = f"Xen {facts.get('xen_version', '?')}, {facts.get('free_memory_mib', '?')} MiB free"
    if checklist is not None:
        passed = sum(1 for item in checklist if item.status == readiness.PASS)
        summary += f", readiness {passed}/{len(checklist)}"
    return summary


def _facts(ctx: JobContext, gathered: readiness.Gathered) -> dict[str, Any]:
    result = ctx.run(commands.xl_info(), label="Read hypervisor facts", timeout=30)
    info = parsers.parse_xl_info(result.stdout)
    gathered.virt_caps = set(info.virt_caps)
    return {
        "hostname": info.host,
        "release": info.release,
        "xen_version": info.xen_version,
        "nr_cpus": info.nr_cpus,
        "total_memory_mib": info.total_memory_mib,
        "free_memory_mib": info.free_memory_mib,
        "virt_caps": sorted(info.virt_caps),
        # The migration checklist compares these between two hosts (dom0.migration_checks).
        "hw_caps": info.values.get("hw_caps"),
        "xen_major": info.values.get("xen_major"),
        "xen_minor": info.values.get("xen_minor"),
        "xen_commandline": info.xen_commandline,
        "hvm": info.hvm,
        "hap": info.hap,
        "iommu": info.iommu,
    }


def _domains(
    ctx: JobContext, host: Host, facts: dict[str, Any], gathered: readiness.Gathered
) -> None:
    result = ctx.run(commands.xl_list(), label="List domains", timeout=30)
    rows = parsers.parse_xl_list(result.stdout)
    domains = [listing_row(row) for row in rows]
    facts["domains"] = domains
    dom0 = next((d for d in domains if d["domid"] == 0), None)
    gathered.dom0_state = dom0["state_letters"] if dom0 else None
    facts.update(domu_totals(domains))
    facts["dom0_memory_mib"] = dom0["mem_mib"] if dom0 else None
    facts["dom0_vcpus"] = dom0["vcpus"] if dom0 else None
    facts["dom0_cpu_seconds"] = dom0["cpu_seconds"] if dom0 else None
    ctx.result(domains=facts["domu_count"])
    listing_observed.send(
        sender=Host, host=host, domains=domains, dom0_cpu_seconds=facts["dom0_cpu_seconds"]
    )


def _gather_readiness(ctx: JobContext, host: Host, g: readiness.Gathered) -> None:
    """Read (never change) what the checklist needs; a failed read leaves the item unknown."""
    t = ctx.transport

    def value(argv: list[str], label: str) -> str | None:
        result = ctx.run(argv, label=label, timeout=20, check=False)
        return result.stdout.strip() if result.rc == 0 else None

    g.xen_pkgs_installed = (
        ctx.run(
            commands.pkg_installed("xen-kernel", "xen-tools"),
            label="Xen packages",
            timeout=20,
            check=False,
        ).rc
        == 0
    )
    g.max_user_wired = value(commands.sysctl_get("vm.max_user_wired"), "Wired memory limit")
    if g.max_user_wired is None:
        g.max_wired = value(commands.sysctl_get("vm.max_wired"), "Wired memory limit (old name)")
    g.login_conf = _read(ctx, t, "/etc/login.conf")
    g.ttys = _read(ctx, t, "/etc/ttys")
    loader = ctx.run(
        commands.sysrc_get("xen_kernel", "xen_cmdline", file="/boot/loader.conf"),
        label="Xen boot settings",
        timeout=20,
        check=False,
    )
    if loader.rc == 0:
        values = parsers.parse_sysrc(loader.stdout)
        g.xen_kernel, g.xen_cmdline = (values + [None, None])[:2]
    else:
        g.errors["loader"] = loader.stderr.strip() or "xen_kernel/xen_cmdline not set"
    with ctx.step("Check /var/log/xen") as record:
        st = t.stat("/var/log/xen")
        g.log_dir_exists = bool(st and st.is_dir)
        record.output = "exists" if g.log_dir_exists else "missing"
    commons = ctx.run(
        commands.sysrc_get("xencommons_enable"), label="xencommons enabled", timeout=20, check=False
    )
    if commons.rc == 0:
        g.xencommons_enable = commons.stdout.strip()
    else:
        g.errors["xencommons"] = commons.stderr.strip()
    cloned = ctx.run(
        commands.sysrc_get("cloned_interfaces"), label="Cloned interfaces", timeout=20, check=False
    )
    g.cloned_interfaces = cloned.stdout.strip() if cloned.rc == 0 else ""
    g.bridge_exists = (
        ctx.run(commands.ifconfig(host.default_bridge), label="Bridge", timeout=20, check=False).rc
        == 0
    )


def _read(ctx: JobContext, t: Any, path: str) -> str | None:
    with ctx.step(f"Read {path}") as record:
        try:
            text = t.read_file(path).decode("utf-8", "replace")
        except Dom0Error as exc:
            record.output = str(exc)
            return None
        record.output = f"{len(text)} bytes"
        return text


def _save(
    host: Host,
    *,
    status: str,
    reason: str,
    facts: dict[str, Any] | None = None,
    checklist: list[readiness.Item] | None = None,
) -> None:
    values: dict[str, Any] = {
        "status": status,
        "status_reason": reason[:2000],
        "refreshed_at": timezone.now(),
    }
    if facts:
        values["facts"] = facts
        values.update(Host.capacity_values(facts))
    if checklist is not None:
        values["readiness"] = readiness.as_dicts(checklist)
        values.update(Host.readiness_values(values["readiness"]))
    Host.objects.filter(pk=host.pk).update(**values)


# The migration access set-up (its job kind and host-page section) registers on import.
from hosts import migration_access  # noqa: E402,F401
