"""API routes of the jobs room (under /api/v1/, namespace "api")."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from jobs import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("jobs/", api.JobList.as_view(), name="jobs"),
    path("jobs/<uuid:code>/", api.JobDetail.as_view(), name="job"),
    path("jobs/<uuid:code>/cancel/", api.JobCancel.as_view(), name="job-cancel"),
    path("jobs/<uuid:code>/events", api.JobEvents.as_view(), name="job-events"),
]
