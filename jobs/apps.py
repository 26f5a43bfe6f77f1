from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from accounts import roles

        roles.register("jobs", read=("job", "jobstep", "jobtarget"))

        # Every app keeps its job kinds in its own `jobs` module; importing it registers them.
        autodiscover_modules("jobs")
