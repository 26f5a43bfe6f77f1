"""The audit list for admins: filter by who, what, target, address and time."""

from __future__ import annotations

from datetime import UTC, datetime, time

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date

from accounts import access
from accounts.http import PanelRequest
from accounts.listing import Listing
from accounts.models import AuditAction, AuditEntry

PAGE_SIZE = 50  # accounts.listing.PAGE_SIZE, the size of every list's page


def _day(value: str, *, end: bool) -> datetime | None:
    """The start (or end) of the day `value` names, or None for anything that is not a date.

    A day that does not exist (2024-02-30) is ignored like any other bad filter, and so is one at
    the edge of the calendar whose start in UTC falls outside it (0001-01-01 east of Greenwich):
    such a bound would not filter anything out anyway.
    """
    try:
        day = parse_date(value) if value else None
        if day is None:
            return None
        moment = timezone.make_aware(datetime.combine(day, time.max if end else time.min))
        moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return moment


def _text(value: str) -> str:
    """A text filter as typed, without NUL characters (no database stores or compares them)."""
    return value.replace("\x00", "").strip()


def filtered_entries(params: dict[str, str]) -> QuerySet[AuditEntry]:
    """Return the entries matching the list's filters (all of them, newest first)."""
    params = {key: _text(value) for key, value in params.items()}
    qs = AuditEntry.objects.select_related("actor")
    if actor := params.get("actor", "").strip():
        qs = qs.filter(actor_name__icontains=actor)
    if (action := params.get("action", "")) in AuditAction.values:
        qs = qs.filter(action=action)
    if target := params.get("target", "").strip():
        qs = qs.filter(Q(target_label__icontains=target) | Q(target_type__iexact=target))
    if address := params.get("address", "").strip():
        qs = qs.filter(address__startswith=address)
    if since := _day(params.get("since", ""), end=False):
        qs = qs.filter(created_at__gte=since)
    if until := _day(params.get("until", ""), end=True):
        qs = qs.filter(created_at__lte=until)
    return qs


#: The audit list's sortable columns ("-time", newest first, unless asked otherwise).
AUDIT_SORTS = {
    "time": ("created_at",),
    "who": ("actor_name", "created_at"),
    "what": ("action", "created_at"),
    "target": ("target_type", "target_label", "created_at"),
    "address": ("address", "created_at"),
}
FILTERS = ("actor", "action", "target", "address", "since", "until")


def audit_list(request: PanelRequest) -> HttpResponse:
    access.require_admin(request.user)
    listing = Listing(request, filters=FILTERS, sorts=AUDIT_SORTS, default="-time")
    page = listing.paginate(filtered_entries(listing.params))
    context = {
        "page": page,
        "listing": listing,
        "params": listing.params,
        "actions": AuditAction.choices,
        # Suggestions for the Who field; a panel with more users still filters by any name.
        "usernames": get_user_model()
        .objects.order_by("username")
        .values_list("username", flat=True)[:500],
    }
    template = "audit/_rows.html" if request.htmx else "audit/list.html"
    return render(request, template, context)
