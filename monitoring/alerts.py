"""Alert evaluation: which subjects each enabled rule finds, and the Alert rows that follow.

One Alert row per (rule, subject) while its condition holds; it is resolved when the condition
clears. A subject is stable across evaluations (`pool:<host pk>:<pool>`, `host:<pk>`,
`domain:<pk>`, `job:<pk>`, `quota:<pk>:<resource>`), so the pages can tell who may see it.

Evaluation runs every minute (beat, `monitoring.alert_tasks.evaluate`) and after each host poll
for that host's pools and domUs (`evaluate(host=...)`). Both take one Redis lock, so a beat run
and a poll never open the same alert twice. Notifications go out in Celery tasks after commit
(monitoring.notify): evaluation never waits on a mail server or a webhook.

A rule's quiet period: after a notification for (rule, subject), no other *firing*
notification for it within `quiet_minutes` (a flapping pool mails once). An alert opened
silently inside a quiet period is sent once the period is over if it still fires. A resolve is
sent only for an alert whose firing was sent (also when an edit or disable ends it), so the
receiver always sees pairs.

Job failures are events, not states: a failed job is a subject for JOB_FAILED_WINDOW after it
finished (then its alert resolves on its own); only jobs that failed after the rule was made.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts import quotas
from accounts.models import Quota
from domains.models import Domain, DomainState
from hosts.choices import HostStatus
from hosts.models import Host
from jobs.choices import JobStatus
from jobs.models import Job
from monitoring import locks, notify
from monitoring.models import Alert, AlertKind, AlertRule
from storage.models import Pool

log = logging.getLogger(__name__)

#: Thresholds a rule without one uses.
DEFAULTS = {AlertKind.POOL_FULL: 80.0, AlertKind.HOST_UNREACHABLE: 5.0, AlertKind.QUOTA_HIGH: 90.0}
JOB_FAILED_WINDOW = timedelta(hours=1)
#: Kinds a host's poll evaluates (what the poll itself just read).
HOST_KINDS = (AlertKind.POOL_FULL, AlertKind.DOMAIN_CRASHED)


@dataclass(frozen=True)
class Finding:
    subject: str
    label: str
    message: str


def threshold(rule: AlertRule) -> float:
    return rule.threshold if rule.threshold is not None else DEFAULTS.get(AlertKind(rule.kind), 0.0)


def _gib(value: int) -> str:
    return f"{value / 2**30:.1f} GiB"


# --- what each kind finds --------------------------------------------------------------------
def _pools(rule: AlertRule, host: Host | None) -> Iterator[Finding]:
    limit = threshold(rule)
    rows = Pool.objects.select_related("host").filter(size_bytes__gt=0)
    for pool in rows.filter(host=host) if host is not None else rows:
        if pool.allocated_bytes is None or not pool.size_bytes:
            continue
        pct = 100 * pool.allocated_bytes / pool.size_bytes
        if pct >= limit:
            yield Finding(
                f"pool:{pool.host_id}:{pool.name}",
                f"pool {pool.name} on {pool.host.name}",
                f"Pool {pool.name} on {pool.host.name} is {pct:.0f} % full "
                f"({_gib(pool.allocated_bytes)} of {_gib(pool.size_bytes)}; the rule says "
                f"{limit:g} %). Free space (destroy unused volumes or snapshots) or add disks.",
            )


def _unreachable(rule: AlertRule, now: datetime) -> Iterator[Finding]:
    minutes = threshold(rule)
    for host in Host.objects.filter(status=HostStatus.UNREACHABLE):
        since = _last_reached(host)
        if now - since < timedelta(minutes=minutes):
            continue
        gone = int((now - since).total_seconds() // 60)
        reason = host.status_reason[:200] or "no answer"
        yield Finding(
            f"host:{host.pk}",
            f"host {host.name}",
            f"Host {host.name} has not answered for {gone} minutes ({reason}). Check that "
            "it is up and that the panel can reach it over SSH.",
        )


def _last_reached(host: Host) -> datetime:
    """When a poll or refresh of the host last succeeded (its creation if none ever did)."""
    from hosts.jobs import POLL, REFRESH

    last = (
        Job.objects.on(host)
        .filter(kind__in=[POLL, REFRESH], status=JobStatus.SUCCEEDED)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    return last or host.created_at


def _crashed(rule: AlertRule, host: Host | None) -> Iterator[Finding]:
    rows = Domain.objects.select_related("host").filter(state=DomainState.CRASHED)
    for dom in rows.filter(host=host) if host is not None else rows:
        yield Finding(
            f"domain:{dom.pk}",
            f"domU {dom.name} on {dom.host.name}",
            f"DomU {dom.name} on {dom.host.name} crashed (xl list shows it shut down for a "
            "crash). Look at its console log, then start it again or destroy it.",
        )


def _failed_jobs(rule: AlertRule, now: datetime) -> Iterator[Finding]:
    since = max(rule.created_at, now - JOB_FAILED_WINDOW)
    rows = Job.objects.filter(status=JobStatus.FAILED, finished_at__gte=since)
    for job in rows.order_by("finished_at")[:200]:
        first_line = (job.error or "no error recorded").strip().splitlines()[0][:300]
        yield Finding(
            f"job:{job.pk}",
            f"job #{job.pk} {job.title}",
            f"Job #{job.pk} “{job.title}” failed: {first_line}",
        )


def _quotas(rule: AlertRule) -> Iterator[Finding]:
    limit = threshold(rule)
    for quota in Quota.objects.select_related("user", "team"):
        for resource in quotas.RESOURCES:
            cap = getattr(quota, resource)
            if not cap:
                continue
            used = quotas.usage(quota, resource)
            pct = 100 * used / cap
            if pct >= limit:
                whose = f"user {quota.user.get_username()}" if quota.user else f"team {quota.team}"
                name = quotas.LABELS[resource]
                yield Finding(
                    f"quota:{quota.pk}:{resource}",
                    f"{name} quota of {whose}",
                    f"The {name} quota of {whose} is {pct:.0f} % used "
                    f"({quotas.fmt(resource, used)} of {quotas.fmt(resource, cap)}). Raise it on "
                    "Users & teams or free some.",
                )


def findings(rule: AlertRule, now: datetime, host: Host | None = None) -> list[Finding]:
    if rule.kind == AlertKind.POOL_FULL:
        return list(_pools(rule, host))
    if rule.kind == AlertKind.DOMAIN_CRASHED:
        return list(_crashed(rule, host))
    if host is not None:
        return []
    if rule.kind == AlertKind.HOST_UNREACHABLE:
        return list(_unreachable(rule, now))
    if rule.kind == AlertKind.JOB_FAILED:
        return list(_failed_jobs(rule, now))
    if rule.kind == AlertKind.QUOTA_HIGH:
        return list(_quotas(rule))
    return []


def _scope(rule: AlertRule, host: Host | None) -> dict[str, object]:
    """Which firing alerts an evaluation may resolve: all of the rule's, or one host's."""
    if host is None:
        return {}
    if rule.kind == AlertKind.POOL_FULL:
        return {"subject__startswith": f"pool:{host.pk}:"}
    pks = Domain.objects.filter(host=host).values_list("pk", flat=True)
    return {"subject__in": [f"domain:{pk}" for pk in pks]}


# --- firing and resolving ----------------------------------------------------------------------
def evaluate_rule(rule: AlertRule, now: datetime, host: Host | None = None) -> tuple[int, int]:
    """Open alerts for new findings, resolve those that cleared; (fired, resolved)."""
    found = {f.subject: f for f in findings(rule, now, host)}
    firing = {
        a.subject: a for a in rule.alerts.filter(state=Alert.State.FIRING, **_scope(rule, host))
    }
    fired = resolved = 0
    quiet = now - timedelta(minutes=rule.quiet_minutes)
    for subject, finding in found.items():
        alert = firing.get(subject)
        notified = rule.alerts.filter(subject=subject, last_notified_at__gt=quiet)
        if alert is not None:
            changes: dict[str, object] = {}
            if alert.message != finding.message:
                alert.message = changes["message"] = finding.message
            if alert.last_notified_at is None and not notified.exists():
                # Opened silently inside a quiet period that is over now: a lasting
                # condition is sent (else the receiver's last word stays "resolved").
                alert.last_notified_at = changes["last_notified_at"] = now
                alert.notifications = changes["notifications"] = alert.notifications + 1
                notify.queue(alert, notify.FIRING)
            if changes:
                Alert.objects.filter(pk=alert.pk).update(**changes)
            continue
        recent = notified.exists()
        alert = Alert.objects.create(
            rule=rule, subject=subject, subject_label=finding.label[:200],
            message=finding.message, started_at=now,
            last_notified_at=None if recent else now, notifications=0 if recent else 1,
        )  # fmt: skip
        fired += 1
        if not recent:
            notify.queue(alert, notify.FIRING)
    for subject, alert in firing.items():
        if subject in found:
            continue
        alert.state, alert.resolved_at = Alert.State.RESOLVED, now
        update = ["state", "resolved_at"]
        if alert.last_notified_at is not None:  # its firing was sent
            alert.notifications += 1
            update.append("notifications")
            notify.queue(alert, notify.RESOLVED)
        alert.save(update_fields=update)
        resolved += 1
    return fired, resolved


def evaluate(host: Host | None = None) -> tuple[int, int]:
    """Evaluate every enabled rule (only the host kinds, for one host, when `host` is given)."""
    now = timezone.now()
    rules = AlertRule.objects.filter(enabled=True)
    if host is not None:
        rules = rules.filter(kind__in=HOST_KINDS)
    fired = resolved = 0
    with _lock() as held:
        if not held:
            log.warning("alerts: another evaluation held the lock for a minute; skipped this one")
            return 0, 0
        for rule in rules:
            with transaction.atomic():
                f, r = evaluate_rule(rule, now, host)
            fired, resolved = fired + f, resolved + r
    return fired, resolved


def resolve_rule(
    rule: AlertRule, sent_to: AlertRule | None = None, *, deleting: bool = False
) -> int:
    """A disabled, edited or deleted rule's open alerts end now; those whose firing was sent get
    a resolve, so receivers see pairs. `sent_to` is the rule as it was before the edit: the
    resolve goes to the addresses the firing went to. `deleting`: the resolve carries what it
    says, since the alert is gone when it is sent. Returns how many were resolved."""
    now = timezone.now()
    was = sent_to or rule
    count = 0
    for alert in rule.alerts.filter(state=Alert.State.FIRING).select_related("rule"):
        alert.state, alert.resolved_at = Alert.State.RESOLVED, now
        update = ["state", "resolved_at"]
        if alert.last_notified_at is not None:
            alert.notifications += 1
            update.append("notifications")
            notify.queue(
                alert,
                notify.RESOLVED,
                email=was.email,
                webhook_url=was.webhook_url,
                frozen=deleting,
            )
        alert.save(update_fields=update)
        count += 1
    return count


def _lock() -> AbstractContextManager[bool]:
    """One evaluation at a time across workers: a second one waits up to a minute."""
    return locks.held("alerts:evaluate", timeout=120, wait=60)
