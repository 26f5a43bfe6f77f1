"""Storage job kinds (imported by `autodiscover_modules("jobs")`)."""

from storage.jobs import isos, volumes  # noqa: F401
