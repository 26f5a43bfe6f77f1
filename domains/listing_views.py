"""The domU list: one page of rows from the URL's search, filters and sort; the poll that sends
only the rows that changed; bulk and per-row lifecycle actions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import access
from accounts.http import PanelRequest
from domains import bulk, listing
from domains.models import DomainState
from hosts.models import Host

#: Seconds between polls: quick while a job runs on a row of the page, slow when all is quiet.
FAST_POLL, SLOW_POLL = 2, 15
#: The columns a header may sort by, in the table's order (None: not sortable).
COLUMNS: list[tuple[str, str | None, str]] = [
    ("Name", "name", ""),
    ("Host", "host", ""),
    ("State", "state", ""),
    ("ID", "domid", "d-none d-md-table-cell"),
    ("Memory", "memory_mb", "d-none d-sm-table-cell"),
    ("vCPUs", "vcpus", "d-none d-md-table-cell"),
    ("VNC", "vnc", "d-none d-lg-table-cell"),
    ("Owner", "owner", "d-none d-lg-table-cell"),
]


@require_GET
def domain_list(request: PanelRequest) -> HttpResponse:
    # Links, sort headers and the filter form swap the table only; a history restore after a
    # cache miss wants the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "domains/_list_table.html", table_context(request.user, request.GET))
    return render(request, "domains/list.html", list_context(request.user, request.GET))


def table_context(user: Any, params: QueryDict) -> dict[str, Any]:
    """One page of rows, its headers, pager and poll (a fixed number of queries)."""
    query = listing.ListQuery.from_params(params)
    page, rows = listing.page_of(user, query)
    domains = listing.decorate(rows)
    return {
        **_poll_context(domains, query),
        "page": page,
        "query": query,
        "columns": _headers(query),
        "can_operate": access.can_operate(user),
        "pages": _pager(page, query),
    }


def list_context(user: Any, params: QueryDict) -> dict[str, Any]:
    """The whole page: the table and the filter form's choices."""
    owners, teams = listing.owners_and_teams(user)
    return {
        **table_context(user, params),
        "hosts": list(Host.objects.order_by("name").values_list("name", flat=True)),
        "owners": owners,
        "teams": teams,
        "states": [(v, label) for v, label in DomainState.choices if v != DomainState.BLOCKED],
    }


@require_GET
def domain_list_changes(request: PanelRequest) -> HttpResponse:
    """The rows of the page whose fingerprint changed, as out-of-band swaps; 204 if none."""
    seen = listing.parse_token(request.GET.get("v", ""))
    if not seen:
        return HttpResponse(status=204)
    found = listing.changes(request.user, seen)
    was_fast = request.GET.get("fast") == "1"
    if not found.rows and not found.gone and found.fast == was_fast:
        return HttpResponse(status=204)
    query = listing.ListQuery.from_params(_back_params(request.GET.get("back", "")))
    context = {
        **_poll_context(found.current, query),
        "rows": found.rows,
        "gone": found.gone,
        "can_operate": access.can_operate(request.user),
    }
    return render(request, "domains/_list_changes.html", context)


@require_POST
def domain_bulk(request: PanelRequest) -> HttpResponse:
    """Queue one lifecycle job per chosen domU; one message for what was queued and one for
    what was refused."""
    access.require_operator(request.user)
    action = request.POST.get("action", "")
    back = _back_params(request.POST.get("back", ""))
    target = reverse("domains:list") + (f"?{back.urlencode()}" if back else "")
    if action not in bulk.ACTIONS:
        messages.error(request, "Choose Start, Shut down or Destroy.")
        return redirect(target)
    ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit() and len(v) < 19]
    if not ids:
        messages.error(request, "Select the domUs to act on first (the boxes at the left).")
        return redirect(target)
    result = bulk.run(request.user, action, ids)
    for level, text in result.messages():
        messages.add_message(request, level, text)
    return redirect(target)


# --- helpers -------------------------------------------------------------------------------------


def _back_params(text: str) -> QueryDict:
    """The list's own parameters from a query string (anything else is dropped)."""
    query = listing.ListQuery.from_params(QueryDict(text[:2000]))
    result = QueryDict(mutable=True)
    result.update(query.params())
    return result


def _poll_context(domains: list[Any], query: listing.ListQuery) -> dict[str, Any]:
    fast = any(d.busy_job for d in domains)
    return {
        "domains": domains,
        "token": listing.token(domains),
        "fast": fast,
        "interval": FAST_POLL if fast else SLOW_POLL,
        "back": query.urlencode(),
    }


def _headers(query: listing.ListQuery) -> list[dict[str, Any]]:
    """Each column's title, the link that sorts by it (again: the other way), and its arrow."""
    current = query.sort.lstrip("-")
    reverse_now = query.sort.startswith("-")
    headers = []
    for title, key, css in COLUMNS:
        header: dict[str, Any] = {"title": title, "css": css, "key": key}
        if key:
            descending = key == current and not reverse_now
            header["href"] = "?" + query.urlencode(sort=f"-{key}" if descending else key, page="1")
            header["arrow"] = ("▼" if reverse_now else "▲") if key == current else ""
        headers.append(header)
    return headers


def _pager(page: Any, query: listing.ListQuery) -> dict[str, str]:
    links = {}
    if page.has_previous():
        links["previous"] = "?" + query.urlencode(page=str(page.previous_page_number()))
        links["first"] = "?" + query.urlencode(page="1")
    if page.has_next():
        links["next"] = "?" + query.urlencode(page=str(page.next_page_number()))
        links["last"] = "?" + query.urlencode(page=str(page.paginator.num_pages))
    return links
