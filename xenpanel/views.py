"""Pages that belong to the panel as a whole."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hosts import access


def dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        "hosts": access.hosts_for_user(request.user),
        "jobs": access.jobs_for_user(request.user)[:10],
    }
    return render(request, "dashboard.html", context)
