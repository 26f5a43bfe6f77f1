"""Typed errors for everything that talks to a Dom0.

Each error carries what a person needs to act on it: a one-line message, and where it came from a
tool, the argv, exit code and stderr. Job code catches `Dom0Error` and writes `str(err)` as the
job's error text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Dom0Error(Exception):
    """Base class: something on (or on the way to) a Dom0 went wrong."""

    #: A short, stable identifier for templates and tests.
    code = "dom0_error"

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str] | None = None,
        rc: int | None = None,
        stderr: str = "",
        hint: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.argv = list(argv) if argv is not None else None
        self.rc = rc
        self.stderr = stderr
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class ValidationError(Dom0Error, ValueError):
    """An input was refused before anything reached a host; names the field and the rule."""

    code = "invalid"

    def __init__(self, field: str, rule: str, value: object = None) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule
        self.value = value

    @property
    def sentence(self) -> str:
        """The rule as a sentence for a form: capitalised, with a full stop."""
        return f"{self.rule[:1].upper()}{self.rule[1:]}."


class HostUnreachable(Dom0Error):
    """The host did not answer (connection refused, DNS, auth, no route)."""

    code = "unreachable"


class HostKeyMismatch(HostUnreachable):
    """The SSH host key differs from the pinned one; we refuse to talk to it."""

    code = "host_key_mismatch"


class CommandTimeout(Dom0Error):
    """A command did not finish within its timeout."""

    code = "timeout"


class CommandFailed(Dom0Error):
    """A tool exited non-zero and no more specific error applies."""

    code = "command_failed"


class XenNotRunning(CommandFailed):
    """`xl` cannot reach the hypervisor (`cannot init xl context`)."""

    code = "xen_not_running"


class DomainNotFound(CommandFailed):
    code = "domain_not_found"


class DomainNameInUse(CommandFailed):
    code = "name_in_use"


class OutOfMemory(CommandFailed):
    code = "out_of_memory"


class DatasetExists(CommandFailed):
    code = "dataset_exists"


class DatasetBusy(CommandFailed):
    code = "dataset_busy"


class DatasetMissing(CommandFailed):
    code = "dataset_missing"


class SnapshotExists(DatasetExists):
    """`zfs snapshot` found a snapshot of that name (libzfs_dataset.c `zfs_snapshot_nvl`)."""

    code = "snapshot_exists"


class DependentsExist(CommandFailed):
    """ZFS refused because other datasets are in the way; `datasets` lists them as zfs did."""

    code = "dependents_exist"

    def __init__(self, message: str, *, datasets: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.datasets = tuple(datasets)


class HasClones(DependentsExist):
    """`cannot destroy '…': snapshot has dependent clones` (zfs_main.c
    `destroy_check_dependent`)."""

    code = "has_clones"


class HasChildren(DependentsExist):
    """`cannot destroy '…': volume has children` (zfs_main.c `destroy_check_dependent`)."""

    code = "has_children"


class RollbackBlocked(DependentsExist):
    """`cannot rollback to '…': more recent snapshots or bookmarks exist`, or clones of them
    (`clones` is True then) (zfs_main.c `rollback_check`, `rollback_check_dependent`)."""

    code = "rollback_blocked"

    def __init__(self, message: str, *, clones: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.clones = clones


class PoolFull(CommandFailed):
    code = "pool_full"


class FetchFailed(CommandFailed):
    code = "fetch_failed"


class RemoteFileMissing(Dom0Error):
    """A file operation named a path that does not exist on the host."""

    code = "file_missing"


class ParseError(Dom0Error):
    """A tool's output did not have the expected format."""

    code = "parse_error"
