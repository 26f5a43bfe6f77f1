"""Validators for every value that can reach a Dom0.

Each validator returns the normalised value or raises `ValidationError(field, rule)`, where `rule`
is a sentence a person can act on. The caller passes `field` so a form can put the message on the
right input. Nothing here does I/O: DNS checks take a resolver callable.

This module is the one import path; the validators live by concern in `dom0/validators/` (names,
sizes, paths and URLs, network and console, checksums) and ZFS names in `dom0/zfsnames.py`.
"""

from __future__ import annotations

from dom0.pci import pci_bdf
from dom0.validators.checksums import checksum_spec, sha256_hex, sha512_hex
from dom0.validators.names import domain_name, file_name, vdev, volume_leaf
from dom0.validators.network import bridge_name, interface_name, mac, vnc_listen, vnc_password
from dom0.validators.paths import abs_path, redact_url, resolve_and_check, url
from dom0.validators.sizes import (
    MAX_MEMORY_MB,
    MAX_SIZE,
    MAX_VCPUS,
    MIN_MEMORY_MB,
    format_size,
    memory_mb,
    size,
    vcpus,
)
from dom0.zfsnames import MAX_DATASET_LEN, dataset_name, snapshot, snapshot_name

__all__ = [
    "MAX_DATASET_LEN",
    "MAX_MEMORY_MB",
    "MAX_SIZE",
    "MAX_VCPUS",
    "MIN_MEMORY_MB",
    "abs_path",
    "bridge_name",
    "checksum_spec",
    "dataset_name",
    "domain_name",
    "file_name",
    "format_size",
    "interface_name",
    "mac",
    "memory_mb",
    "pci_bdf",
    "redact_url",
    "resolve_and_check",
    "sha256_hex",
    "sha512_hex",
    "size",
    "snapshot",
    "snapshot_name",
    "url",
    "vcpus",
    "vdev",
    "vnc_listen",
    "vnc_password",
    "volume_leaf",
]
