"""Import every module that registers job kinds."""

from hosts.jobs import host_refresh, system  # noqa: F401
