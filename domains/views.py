"""DomU pages. Until the domU model lands, the list shows what each host's `xl list` reported."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hosts import access


def domain_list(request: HttpRequest) -> HttpResponse:
    rows = []
    for host in access.hosts_for_user(request.user):
        for dom in (host.facts or {}).get("domains", []):
            if dom.get("domid") != 0:
                rows.append({"host": host, **dom})
    return render(request, "domains/list.html", {"rows": rows})
