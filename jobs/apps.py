from typing import Any

from celery.signals import worker_ready
from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from accounts import roles

        roles.register("jobs", read=("job", "jobstep", "jobtarget"))
        # A worker that starts sends what is waiting for it at once, not at the next beat tick.
        worker_ready.connect(_sweep_on_start, dispatch_uid="jobs.sweep_on_start", weak=False)

        # Every app keeps its job kinds in its own `jobs` module; importing it registers them.
        autodiscover_modules("jobs")


def _sweep_on_start(**kwargs: Any) -> None:
    import logging

    from jobs.outbox import reap_and_send

    try:
        reap_and_send()
    except Exception:  # the beat sweep tries again; a worker must start anyway
        logging.getLogger(__name__).warning("job sweep at worker start failed", exc_info=True)
