"""Choice sets for hosts."""

from django.db import models


class Transport(models.TextChoices):
    SIM = "sim", "Simulated Dom0"
    LOCAL = "local", "Local (panel runs on the Dom0)"
    SSH = "ssh", "SSH"


class HostStatus(models.TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    OK = "ok", "Reachable"
    UNREACHABLE = "unreachable", "Unreachable"
    ERROR = "error", "Error"


class MigrationTransfer(models.TextChoices):
    """How a storage migration's disk bytes travel from this (source) host to another."""

    RELAY = "relay", "Relayed through the panel's worker (the Dom0s need not reach each other)"
    DIRECT = "direct", "Dom0 to Dom0 over SSH (a key and pinned host key the panel sets up)"
