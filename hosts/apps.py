from django.apps import AppConfig


class HostsConfig(AppConfig):
    name = "hosts"
    verbose_name = "Hosts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import roles
        from hosts.connect import transport_for
        from hosts.jobs import POLL
        from hosts.models import Host
        from jobs import registry

        registry.register_transport(Host, transport_for)
        registry.register_target_filter("host", "Host", Host)
        registry.register_quiet_kind(POLL)
        roles.register("hosts", read=("host",))
