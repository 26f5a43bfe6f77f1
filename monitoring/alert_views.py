"""Alerts pages: every signed-in user sees the alerts about what they may see; admins manage
the rules (list, create, edit, delete; each audited, the webhook without its query)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import CharField, Count, Q, QuerySet, Value
from django.db.models.functions import Cast, Concat
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import access, audit
from accounts.admin_lookups import fits_int64
from accounts.models import Quota
from domains.access import domains_for_user
from jobs.access import jobs_for_user
from monitoring import alerts, notify
from monitoring.alert_forms import AlertRuleForm
from monitoring.models import Alert, AlertKind, AlertRule

PAGE_SIZE = 50
#: The audit action of rule changes (not yet one of accounts.models.AuditAction's choices).
RULE_CHANGE = "alert_rule_change"
AUDITED = ("name", "kind", "threshold", "quiet_minutes", "email", "webhook_url", "enabled")
STATES = {"firing": Alert.State.FIRING, "resolved": Alert.State.RESOLVED}


def _subjects(qs: QuerySet[Any], prefix: str) -> QuerySet[Any]:
    """The subjects ("domain:<pk>") of the rows of `qs`, as a subquery."""
    return qs.annotate(
        s=Concat(Value(prefix), Cast("pk", output_field=CharField()), output_field=CharField())
    ).values("s")


def visible_alerts(user: Any) -> QuerySet[Alert]:
    """Alerts about what `user` may see: hosts and pools (everyone sees hosts), their domUs and
    jobs, their own and their teams' quotas; admins see all."""
    qs = Alert.objects.select_related("rule")
    if access.is_admin(user):
        return qs
    teams = user.groups.exclude(name__in=access.ROLE_GROUPS)
    quota_q = Q(pk__in=[])
    for pk in Quota.objects.filter(Q(user=user) | Q(team__in=teams)).values_list("pk", flat=True):
        quota_q |= Q(subject__startswith=f"quota:{pk}:")
    return qs.filter(
        Q(subject__startswith="pool:")
        | Q(subject__startswith="host:")
        | Q(subject__in=_subjects(domains_for_user(user), "domain:"))
        | Q(subject__in=_subjects(jobs_for_user(user), "job:"))
        | quota_q
    )


def firing_count(user: Any) -> int:
    return visible_alerts(user).filter(state=Alert.State.FIRING).count()


def alert_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "firing")
    rule = request.GET.get("rule", "")
    rows = visible_alerts(request.user)
    if state in STATES:
        rows = rows.filter(state=STATES[state])
    else:
        state = "all"
    if rule.isdigit() and fits_int64(rule):
        rows = rows.filter(rule_id=int(rule))
    else:
        rule = ""
    page = Paginator(rows.order_by("-started_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "state": state,
        "rule": rule,
        "rules": AlertRule.objects.only("pk", "name"),
        "is_admin": access.is_admin(request.user),
    }
    return render(request, "monitoring/alerts.html", context)


def rule_list(request: HttpRequest) -> HttpResponse:
    access.require_admin(request.user)
    rules = AlertRule.objects.all()
    firing = dict(
        Alert.objects.filter(state=Alert.State.FIRING)
        .values_list("rule_id")
        .annotate(n=Count("pk"))
        .values_list("rule_id", "n")
    )
    rows = [(rule, firing.get(rule.pk, 0)) for rule in rules]
    return render(request, "monitoring/alerts_rules.html", {"rows": rows, "kinds": AlertKind})


def _rule(pk: int) -> AlertRule:
    if not fits_int64(str(pk)):
        raise Http404("No such alert rule.")
    return get_object_or_404(AlertRule, pk=pk)


def _audited(rule: AlertRule, name: str) -> object:
    value = getattr(rule, name)
    return notify.safe_url(value) if name == "webhook_url" and value else value


def _audit(request: HttpRequest, rule: AlertRule, **details: object) -> None:
    audit.record(
        RULE_CHANGE, request=request, target_type="alert rule", target_label=rule.name,
        details=details,
    )  # fmt: skip


def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    access.require_admin(request.user)
    rule = _rule(pk) if pk is not None else None
    form = AlertRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        # The rule as stored (form validation already changed `rule` in memory).
        before = AlertRule.objects.get(pk=rule.pk) if rule is not None else None
        saved = form.save(commit=False)
        with transaction.atomic():
            if rule is None:
                saved.created_by = request.user
            saved.save()
            if before is None:
                _audit(request, saved, created={f: _audited(saved, f) for f in AUDITED})
            elif form.changed_data:
                # A webhook whose query alone changed shows the same twice: changed, not shown.
                changed = {
                    f: [_audited(before, f), _audited(saved, f)]
                    for f in AUDITED
                    if getattr(before, f) != getattr(saved, f)
                }
                _audit(request, saved, changed=changed)
                # A changed condition starts afresh: what fired under the old one is over
                # (resolves go where the firing went, after the commit).
                alerts.resolve_rule(saved, sent_to=before)
        verb = "Saved" if rule is not None else "Created"
        messages.success(
            request,
            f"{verb} the alert rule “{saved.name}”. It is evaluated every minute and after each "
            "host poll; firing alerts show on the Alerts page.",
        )
        return redirect("monitoring:alert_rules")
    return render(request, "monitoring/alerts_rule_form.html", {"form": form, "rule": rule})


@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    access.require_admin(request.user)
    rule = _rule(pk)
    if request.POST.get("confirm") != rule.name:
        messages.error(
            request,
            f"The alert rule “{rule.name}” was not deleted: type its name to confirm.",
        )
        return redirect("monitoring:alert_rule_edit", pk=rule.pk)
    name = rule.name
    with transaction.atomic():
        _audit(request, rule, deleted={f: _audited(rule, f) for f in AUDITED})
        # Receivers that got a firing get its resolve, as for a disabled rule.
        alerts.resolve_rule(rule, deleting=True)
        rule.delete()
    messages.success(request, f"Deleted the alert rule “{name}” and its past alerts.")
    return redirect("monitoring:alert_rules")
