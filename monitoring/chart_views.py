"""JSON for the charts (static/js/charts.js draws them with uPlot).

Same access as the pages they sit on: every signed-in user sees hosts, pools and the dashboard;
a domU's series only for those who may see the domU (404 otherwise, as its page). Responses are
private (per user) and cached briefly: a sample lands once a minute, so a browser re-asking within
that time needs no new answer; longer windows change even more slowly.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from accounts.http import PanelRequest
from domains.access import domains_for_user, get_domain_for_user
from hosts.access import get_host_for_user, hosts_for_user
from monitoring import chart_data
from monitoring.series import WINDOWS
from storage.models import Pool

#: Seconds a browser may reuse an answer, by window (about a tenth of a bucket or less).
MAX_AGE = {"1h": 30, "1d": 60, "1w": 300, "1m": 600}
DASHBOARD_MAX_AGE = 30


def _window(request: PanelRequest, default: str) -> str | None:
    window = request.GET.get("window", default)
    return window if window in WINDOWS else None


def _bad_window(window: Any) -> JsonResponse:
    return JsonResponse(
        {"error": f"Unknown window {window!r}: use one of {', '.join(WINDOWS)}."}, status=400
    )


def _cached(payload: dict[str, Any], max_age: int) -> HttpResponse:
    # Compact separators: a month of hourly points for four charts stays a few KB smaller.
    response = JsonResponse(payload, json_dumps_params={"separators": (",", ":")})
    response["Cache-Control"] = f"private, max-age={max_age}"
    return response


@require_GET
def host_charts(request: PanelRequest, code: str) -> HttpResponse:
    host = get_host_for_user(request.user, code)
    window = _window(request, "1h")
    if window is None:
        return _bad_window(request.GET.get("window"))
    return _cached(chart_data.host_charts(host, window), MAX_AGE[window])


@require_GET
def domain_charts(request: PanelRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code)
    window = _window(request, "1h")
    if window is None:
        return _bad_window(request.GET.get("window"))
    return _cached(chart_data.domain_charts(domain, window), MAX_AGE[window])


@require_GET
def pool_chart(request: PanelRequest, code: str, pool: str) -> HttpResponse:
    host = get_host_for_user(request.user, code)
    if not Pool.objects.filter(host=host, name=pool).exists():
        raise Http404("No such pool on this host")
    window = _window(request, "1w")
    if window is None:
        return _bad_window(request.GET.get("window"))
    return _cached(chart_data.pool_chart(host, pool, window), MAX_AGE[window])


@require_GET
def dashboard_charts(request: PanelRequest) -> HttpResponse:
    summary = chart_data.dashboard_summary(
        hosts_for_user(request.user), domains_for_user(request.user)
    )
    return _cached(summary, DASHBOARD_MAX_AGE)


def host_section_context(request: Any, host: Any) -> dict[str, Any]:
    """The host page's charts section needs only the host (its data comes from host_charts)."""
    return {}
