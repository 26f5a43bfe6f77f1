"""The role groups (admin, operator, viewer) and the model permissions each one holds.

The panel's own views decide by role (`accounts.access`); these permissions say the same to Django
(the admin site, `user.has_perm`). Apps say which of their models operators manage and which
everyone reads (`register`, from their `AppConfig.ready`); the groups are brought in line after
every `migrate` (and after a test flush), so no migration has to know the apps above this one.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps

ADMIN_GROUP = "admin"
OPERATOR_GROUP = "operator"
VIEWER_GROUP = "viewer"
ROLE_GROUPS = (ADMIN_GROUP, OPERATOR_GROUP, VIEWER_GROUP)

#: (app_label, model_name) pairs: operators add/change/delete/view them, viewers view them.
_OWNED: set[tuple[str, str]] = set()
#: (app_label, model_name) pairs that operators and viewers may only view.
_READ: set[tuple[str, str]] = set()


def register(app_label: str, *, owned: tuple[str, ...] = (), read: tuple[str, ...] = ()) -> None:
    """Declare the role permissions of an app's models (by model name, lower case)."""
    _OWNED.update((app_label, m) for m in owned)
    _READ.update((app_label, m) for m in read)


def _perms(permission: Any, pairs: set[tuple[str, str]], actions: tuple[str, ...]) -> list[Any]:
    found: list[Any] = []
    for app_label, model in sorted(pairs):
        codenames = [f"{action}_{model}" for action in actions]
        found.extend(
            permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )
    return found


def sync_role_permissions(apps: Any = global_apps, **kwargs: Any) -> None:
    """Create the role groups and give each its permissions (a `post_migrate` receiver)."""
    from django.contrib.auth.management import create_permissions

    # On a fresh database permissions are made per app as its migrations end; make them all now.
    for config in apps.get_app_configs():
        # In a migration's app registry the configs are stubs without a models module.
        borrowed = getattr(config, "models_module", None) is None
        if borrowed:
            config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        if borrowed:
            config.models_module = None
    group = apps.get_model("auth", "Group")
    permission = apps.get_model("auth", "Permission")
    admin, _ = group.objects.get_or_create(name=ADMIN_GROUP)
    operator, _ = group.objects.get_or_create(name=OPERATOR_GROUP)
    viewer, _ = group.objects.get_or_create(name=VIEWER_GROUP)
    admin.permissions.set(permission.objects.all())
    operator.permissions.set(
        _perms(permission, _OWNED, ("add", "change", "delete", "view"))
        + _perms(permission, _READ, ("view",))
    )
    viewer.permissions.set(_perms(permission, _OWNED | _READ, ("view",)))
