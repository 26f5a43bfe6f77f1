"""The API's browsable documentation: a panel page that shows the live schema (vendored UI)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def docs(request: HttpRequest) -> HttpResponse:
    return render(request, "api/docs.html")
