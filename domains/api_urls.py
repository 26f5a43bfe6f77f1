"""API routes of the domains room (under /api/v1/, namespace "api")."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from domains.api import actions, moves, templates, versions, views

D = "domains/<uuid:code>/"
urlpatterns: list[URLPattern | URLResolver] = [
    path("domains/", views.DomainList.as_view(), name="domains"),
    path(D, views.DomainDetail.as_view(), name="domain"),
    path(D + "actions/<slug:action>/", actions.DomainAction.as_view(), name="domain-action"),
    path(D + "vnc/", actions.DomainVnc.as_view(), name="domain-vnc"),
    path(D + "versions/", versions.VersionList.as_view(), name="domain-versions"),
    path(D + "versions/<int:number>/", versions.VersionDetail.as_view(), name="domain-version"),
    path(
        D + "versions/<int:number>/restore/",
        versions.VersionRestore.as_view(),
        name="domain-restore",
    ),
    path(D + "snapshots/", moves.SnapshotList.as_view(), name="domain-snapshots"),
    path(D + "snapshots/<str:name>/", moves.SnapshotDetail.as_view(), name="domain-snapshot"),
    path(
        D + "snapshots/<str:name>/rollback/",
        moves.SnapshotRollback.as_view(),
        name="domain-rollback",
    ),
    path(D + "migrate/", moves.Migrate.as_view(), name="domain-migrate"),
    path(D + "migrate/checks/", moves.MigrateChecks.as_view(), name="domain-migrate-checks"),
    path(D + "make-template/", templates.MakeTemplate.as_view(), name="domain-make-template"),
    path(D + "promote/", templates.Promote.as_view(), name="domain-promote"),
    path("templates/", templates.TemplateList.as_view(), name="domain-templates"),
    path("templates/<uuid:code>/", templates.TemplateDetail.as_view(), name="domain-template"),
    path(
        "templates/<uuid:code>/clones/",
        templates.TemplateClones.as_view(),
        name="domain-template-clones",
    ),
]
