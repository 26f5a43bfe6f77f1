from django.apps import AppConfig


class HostsConfig(AppConfig):
    name = "hosts"
    verbose_name = "Hosts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from hosts import audit
        from hosts.jobs import handlers  # noqa: F401  (registers the job kinds)

        audit.connect()
