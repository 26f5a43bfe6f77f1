from hosts.models.host import Host
from hosts.models.job import Job, JobStep
from hosts.models.storage import IsoImage, Owned, Volume

__all__ = ["Host", "IsoImage", "Job", "JobStep", "Owned", "Volume"]
