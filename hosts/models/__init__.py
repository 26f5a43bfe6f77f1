from hosts.models.audit import AuditAction, AuditEntry
from hosts.models.host import Host
from hosts.models.job import Job, JobStep
from hosts.models.quota import Quota
from hosts.models.storage import IsoImage, Owned, Volume
from hosts.models.uploads import UploadSession

__all__ = [
    "AuditAction",
    "AuditEntry",
    "Host",
    "IsoImage",
    "Job",
    "JobStep",
    "Owned",
    "Quota",
    "UploadSession",
    "Volume",
]
