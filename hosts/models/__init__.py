from hosts.models.host import Host
from hosts.models.job import Job, JobStep

__all__ = ["Host", "Job", "JobStep"]
