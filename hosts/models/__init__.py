from hosts.models.host import Host
from hosts.models.job import Job, JobStep
from hosts.models.storage import IsoImage, Owned, Volume
from hosts.models.uploads import UploadSession

__all__ = ["Host", "IsoImage", "Job", "JobStep", "Owned", "UploadSession", "Volume"]
