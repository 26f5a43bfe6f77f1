"""Names a user types that reach a Dom0: domUs, volume leaves, files, virtual disks."""

from __future__ import annotations

import re

from dom0.errors import ValidationError
from dom0.validators.base import match

_DOMAIN_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
_DOMAIN_RULE = (
    "may contain only letters, digits, '_', '.' and '-', must start with a letter, "
    "at most 64 characters"
)
_MIGRATION_SUFFIXES = ("--incoming", "--migratedaway")


def domain_name(value: object, field: str = "name") -> str:
    """Return a domU name that xl can address by name and that is safe in log file names."""
    name = match(_DOMAIN_RE, value, field, _DOMAIN_RULE)
    if name.endswith(_MIGRATION_SUFFIXES):
        raise ValidationError(
            field,
            "must not end with '--incoming' or '--migratedaway' (xl uses them while migrating)",
        )
    if name.lower() == "domain-0":
        raise ValidationError(field, "'Domain-0' is the name of the host's own domain", value)
    return name


# ZFS dataset and snapshot names are in dom0/zfsnames.py.
_LEAF_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_LEAF_RULE = (
    "may contain only letters, digits, '_', '.' and '-', must start with a letter or digit, at "
    "most 64 characters"
)


def volume_leaf(value: object, field: str = "volume") -> str:
    """Return the last component of a volume name as a user types it (no '/', no ':')."""
    return match(_LEAF_RE, value, field, _LEAF_RULE)


_FILE_RE = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9._+-]{0,254}")
_FILE_RULE = (
    "may contain only letters, digits, '.', '_', '+' and '-', must not start with '.' or '-', at "
    "most 255 characters"
)


def file_name(value: object, field: str = "file_name") -> str:
    """Return a single safe path component, e.g. an ISO file name."""
    return match(_FILE_RE, value, field, _FILE_RULE)


_VDEV_RE = re.compile(r"(hd|xvd|sd)[a-z]")
_VDEV_RULE = "must be a virtual device such as hda, hdc, xvda or sda"


def vdev(value: object, field: str = "vdev") -> str:
    """Return a virtual disk name: hd[a-z], xvd[a-z] or sd[a-z]."""
    return match(_VDEV_RE, value, field, _VDEV_RULE)
