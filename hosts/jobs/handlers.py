"""Import every module that registers job kinds."""

from domains import jobs as domain_jobs  # noqa: F401
from hosts.jobs import host_refresh, isos, system, volumes  # noqa: F401
