"""Attach model permissions to the role groups.

admin: every permission; operator: see hosts and jobs, create/change/delete domUs, volumes, ISO
images and uploads; viewer: see them. The panel's own views decide by role (hosts/access.py);
these permissions say the same to Django (the admin site, `user.has_perm`).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OWNED = [
    ("domains", "domain"),
    ("domains", "domainconfigversion"),
    ("hosts", "volume"),
    ("hosts", "isoimage"),
    ("hosts", "uploadsession"),
]
READ = [("hosts", "host"), ("hosts", "job"), ("hosts", "jobstep")]


def _perms(Permission, pairs, actions):
    found = []
    for app_label, model in pairs:
        for action in actions:
            found.extend(
                Permission.objects.filter(
                    content_type__app_label=app_label, codename=f"{action}_{model}"
                )
            )
    return found


def attach(apps, schema_editor):
    """Create the role groups with their permissions (also used by tests after a DB flush)."""
    # On a fresh database the permissions are made after all migrations; make them now.
    for config in apps.get_app_configs():
        borrowed = getattr(config, "models_module", None) is None  # migration state: no module
        if borrowed:
            config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
        if borrowed:
            config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="admin")
    operator, _ = Group.objects.get_or_create(name="operator")
    viewer, _ = Group.objects.get_or_create(name="viewer")
    admin.permissions.set(Permission.objects.all())
    operator.permissions.set(
        _perms(Permission, OWNED, ("add", "change", "delete", "view"))
        + _perms(Permission, READ, ("view",))
    )
    viewer.permissions.set(_perms(Permission, OWNED + READ, ("view",)))


def detach(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name__in=["admin", "operator", "viewer"]):
        group.permissions.clear()


class Migration(migrations.Migration):
    dependencies = [
        ("hosts", "0005_audit_quota"),
        ("domains", "0001_initial"),
        ("axes", "0010_accessattemptexpiration"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    operations = [migrations.RunPython(attach, detach)]
