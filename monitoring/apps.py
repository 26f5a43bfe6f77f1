from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Watching many domUs (issue 16): samples, charts, Prometheus and alerts.

    The top room below xenpanel: it reads hosts, storage and domains; they learn of it only
    through the registries it fills here (the host poll's sampling step, host page sections).
    """

    name = "monitoring"
    verbose_name = "Monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from monitoring import registry

        registry.connect()
