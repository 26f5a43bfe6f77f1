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
