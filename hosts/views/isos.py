"""ISO library pages (the storage issue fills these in)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hosts import access


def iso_list(request: HttpRequest) -> HttpResponse:
    return render(request, "isos/list.html", {"hosts": access.hosts_for_user(request.user)})
