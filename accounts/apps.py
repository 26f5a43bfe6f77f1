from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import audit, roles

        audit.connect()
        # After any app's migrations (and a test flush): the role groups and their permissions.
        post_migrate.connect(
            roles.sync_role_permissions, sender=self, dispatch_uid="accounts.roles"
        )
