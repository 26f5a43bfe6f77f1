from django.apps import AppConfig


class StorageConfig(AppConfig):
    name = "storage"
    verbose_name = "Storage"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import access, quotas, roles
        from hosts.jobs import register_refresh_step
        from hosts.sections import register_section
        from storage import usage
        from storage.models import IsoImage, Volume
        from storage.panel import host_storage_context
        from storage.pools import read_pools

        access.register_visible(Volume)
        access.register_visible(IsoImage)
        quotas.register_usage("disk_bytes", usage.disk_bytes)
        quotas.register_usage("iso_bytes", usage.iso_bytes)
        roles.register("storage", owned=("volume", "isoimage", "uploadsession"), read=("pool",))
        register_section("storage", "storage/_host_panel.html", host_storage_context, order=20)
        register_refresh_step(read_pools)
