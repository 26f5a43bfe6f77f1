"""Choice sets for hosts and jobs."""

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


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class StepStatus(models.TextChoices):
    RUNNING = "running", "Running"
    OK = "ok", "OK"
    FAILED = "failed", "Failed"


class TargetType(models.TextChoices):
    SYSTEM = "system", "System"
    HOST = "host", "Host"
    VOLUME = "volume", "Volume"
    ISO = "iso", "ISO image"
    DOMAIN = "domain", "DomU"
