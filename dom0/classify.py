"""Turn a failed command into a typed error with a message and a hint (re-exported by
`dom0.parsers`, where job code has always found `check` and `classify_error`)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from typing import Any, Protocol

from dom0 import errors, libxl_log
from dom0.migration_errors import classify_xl_migrate_error, classify_zfs_send_recv_error
from dom0.snapshots import classify_zfs_snapshot_error
from dom0.validate import redact_url

__all__ = ["check", "check_result", "classify_error"]


# --- errors ------------------------------------------------------------------------------------

_XL_BAD_NAME_RE = re.compile(r"^(?P<dom>.+?) is an invalid domain identifier", re.M)
# `Domain 'x' does not exist.` (xl list), `Domain 3 does not exist.` (xl vcpu-set).
_XL_BAD_ID_RE = re.compile(r"Domain '?(?P<dom>[^'\s]*)'? does not exist")
_XL_NAME_USED_RE = re.compile(r'Domain with name "(?P<name>[^"]*)" already exists')
# xc_dom_boot_mem_init's panic (tools/libs/guest/xg_dom_boot.c) ends in xc's description of
# XC_OUT_OF_MEMORY, "Out of memory" (tools/libs/ctrl/xc_private.c `xc_error_code_to_desc`).
_XL_NOMEM_RE = re.compile(
    r"Cannot allocate memory|failed to free memory|cannot \(re-\)build domain: -5\b"
    r"|can't allocate low memory|: Out of memory\b"
)
# A missing xl.conf is only a warning: xl prints this line for it and carries on (facts §1.4).
_XL_CFG_READ_RE = re.compile(
    r"Failed to read config file: (?P<path>(?!\S*/xl\.conf:).+?): (?P<why>.+)$", re.M
)
_XL_CFG_PARSE_RE = re.compile(r"^.*config parsing error.*$", re.M)
_ZFS_RE = re.compile(r"cannot (?P<action>[a-z]+(?: [a-z]+)*) '(?P<ds>[^']*)': (?P<why>.+)$", re.M)
_FETCH_RE = re.compile(r"^fetch: (?:(?P<subject>\S+): )?(?P<reason>.+)$", re.M)
_RESOLVER_REASONS = (
    "No address record",
    "Host not found",
    "Transient resolver failure",
    "Non-recoverable resolver failure",
)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def classify_error(argv: Sequence[str], rc: int, stdout: str, stderr: str) -> errors.Dom0Error:
    """Return the typed error for a failed command, with a one-sentence message and a hint."""
    tool = posixpath.basename(argv[0]) if argv else ""
    kw: dict[str, Any] = {"argv": argv, "rc": rc, "stderr": stderr}
    if tool == "xl":
        found = _classify_xl(stderr, kw)
    elif tool in ("zfs", "zpool"):
        found = _classify_zfs(stderr, kw)
    elif tool == "fetch":
        found = _classify_fetch(stderr, kw)
    else:
        found = None
    if found is not None:
        return found
    if rc == 127 or "not found" in _last_line(stderr) and "command" in _last_line(stderr):
        return errors.CommandFailed(
            f"The command '{tool}' is not installed on the host",
            hint="Install the package that provides it (see the readiness checklist).",
            **kw,
        )
    detail = _last_line(stderr) or _last_line(stdout) or "no output"
    shown = " ".join([tool, *[redact_url(a) for a in argv[1:2]]]) if argv else "command"
    return errors.CommandFailed(
        f"'{shown}' failed with exit code {rc}: {detail}",
        hint="See the command output in the job log.",
        **kw,
    )


def _classify_xl(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    argv = kw["argv"] or []
    # The receiver's messages share xl migrate's stderr, so its rules come before the general ones.
    if len(argv) > 1 and argv[1] == "migrate":
        if found := classify_xl_migrate_error(stderr, kw):
            return found
    if "cannot init xl context" in stderr:
        return errors.XenNotRunning(
            "Xen is not running on the host (xl cannot connect to the hypervisor)",
            hint="Boot the host into Xen and start xencommons (service xencommons start).",
            **kw,
        )
    sub = argv[1] if len(argv) > 1 else ""
    match = _XL_BAD_NAME_RE.search(stderr) or _XL_BAD_ID_RE.search(stderr)
    # "Non-existant domain" names a missing domain only when it is the first error; after a
    # failed build it is libxl's clean-up noise (issue 17 item 12).
    domid = libxl_log.nonexistent_domid(stderr) if sub != "create" else None
    if match or domid is not None:
        dom = match["dom"] if match else (libxl_log.domain_arg(argv) or domid or "?")
        return errors.DomainNotFound(
            f"Domain '{dom}' does not exist on the host",
            hint="Refresh the host's domain list; it may have stopped or been destroyed.",
            **kw,
        )
    if match := _XL_NAME_USED_RE.search(stderr):
        return errors.DomainNameInUse(
            f"A domain named '{match['name']}' already exists on the host",
            hint="Choose another name, or destroy the existing domain first.",
            **kw,
        )
    cause = libxl_log.first_cause(stderr)
    said = f" ({libxl_log.message(cause).rstrip('.')})" if cause else ""
    if _XL_NOMEM_RE.search(_without_cleanup(stderr)):
        return errors.OutOfMemory(
            f"The hypervisor does not have enough free memory for this domain{said}",
            hint=(
                "Give the domU less memory or stop another domU; check memorylocked=unlimited "
                "in /etc/login.conf (then cap_mkdb /etc/login.conf)."
            ),
            **kw,
        )
    if match := _XL_CFG_READ_RE.search(stderr):
        return errors.RemoteFileMissing(
            f"xl could not read the config file {match['path']}: {match['why']}",
            hint="Write the domain's configuration to the host again.",
            **kw,
        )
    if match := re.search(r"Cannot stat file: (?P<path>.+)$", stderr, re.M):
        return errors.RemoteFileMissing(
            f"The file {match['path']} does not exist on the host",
            hint="Check that the ISO image is still in the host's ISO directory.",
            **kw,
        )
    if match := _XL_CFG_PARSE_RE.search(stderr):
        return errors.CommandFailed(
            f"xl rejected the domain configuration: {match[0].strip()}",
            hint="Fix the configuration and save it again.",
            **kw,
        )
    if "PV control interface not available" in stderr:
        return errors.CommandFailed(
            "The domain has no PV drivers, so it cannot be asked to shut down or reboot",
            hint="Use the forced action (an ACPI button press), or shut it down from inside.",
            **kw,
        )
    if sub == "create" and cause:
        return errors.CommandFailed(
            f"'xl create' failed with exit code {kw['rc']}: {libxl_log.message(cause).rstrip('.')}",
            hint="The domain was not started; see the full libxl output in the job log.",
            **kw,
        )
    return _xl_device_failure(stderr, kw)


def _without_cleanup(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if not libxl_log.is_cleanup(line))


#: What is left on the host when one of these xl subcommands fails, and what to do next.
_XL_DEVICE_HINTS = {
    "mem-set": (
        "The domU kept its memory. It can balloon only up to its maxmem, and only into the "
        "host's free memory."
    ),
    "mem-max": "The domU's memory ceiling was not changed.",
    "vcpu-set": (
        "The domU kept its vCPUs. xl brings vCPUs online only up to maxvcpus and the host's "
        "CPU count."
    ),
    "block-attach": (
        "The disk was not attached. Check that the volume exists on the host and that the domU "
        "runs PV drivers."
    ),
    "block-detach": "The disk is still attached; stop using it inside the domU, then try again.",
    "network-attach": (
        "The NIC was not attached. Check that the bridge exists on the host and that the domU "
        "runs PV drivers."
    ),
    "network-detach": "The NIC is still attached.",
    "pci-assignable-add": (
        "The device was not made assignable. Check that the IOMMU is on (hvm_directio in xl info)."
    ),
    "pci-assignable-remove": "The device is still assignable.",
}


def _xl_device_failure(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    """A plain CommandFailed in xl's own words: libxl's last error and xl's last line."""
    argv = kw["argv"] or []
    sub = argv[1] if len(argv) > 1 else ""
    if sub not in _XL_DEVICE_HINTS:
        return None
    last = _last_line(stderr)
    cause = libxl_log.first_cause(stderr)
    parts = [libxl_log.message(cause)] if cause else []
    if last and not last.startswith(("libxl: error:", "xc: error:")):
        parts.append(last)
    detail = "; ".join(part.rstrip(".") for part in parts) or "no output"
    return errors.CommandFailed(
        f"'xl {sub}' failed with exit code {kw['rc']}: {detail}",
        hint=_XL_DEVICE_HINTS[sub],
        **kw,
    )


def _classify_zfs(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    if found := classify_zfs_send_recv_error(stderr, kw):
        return found
    if found := classify_zfs_snapshot_error(stderr, kw):
        return found
    # Every "cannot <verb> '<ds>'" line is examined (a destroy -r prints one per busy child
    # before the parent's own line): the first line that names a known cause wins.
    for match in _ZFS_RE.finditer(stderr):
        if found := _zfs_cause(match["ds"], match["why"].strip(), kw):
            return found
    return None


def _zfs_cause(ds: str, why: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    if "dataset already exists" in why:
        return errors.DatasetExists(
            f"The ZFS dataset '{ds}' already exists",
            hint="Choose another volume name, or use the existing volume.",
            **kw,
        )
    if "dataset is busy" in why:
        return errors.DatasetBusy(
            f"The ZFS volume '{ds}' is in use",
            hint="Stop the domU that uses this volume first.",
            **kw,
        )
    if any(s in why for s in ("dataset does not exist", "no such pool", "parent does not exist")):
        return errors.DatasetMissing(
            f"The ZFS dataset '{ds}' cannot be used: {why}",
            hint="Refresh the host's volume list and check the pool and parent dataset names.",
            **kw,
        )
    # `zfs set volsize=` grows the refreservation first (libzfs_util.c `zfs_setprop_error`).
    if "out of space" in why or "size is greater than available space" in why:
        return errors.PoolFull(
            f"The ZFS pool has no room for '{ds}'",
            hint="Choose a smaller size, a sparse volume, or free space on the pool.",
            **kw,
        )
    return None


def _classify_fetch(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    matches = list(_FETCH_RE.finditer(stderr))
    if not matches:
        return None
    reason = matches[-1]["reason"].strip()
    urls = [a for a in kw["argv"] if "://" in a]
    where = redact_url(urls[-1]) if urls else "the file"
    if reason in _RESOLVER_REASONS:
        hint = "Check the host name in the URL and the Dom0's DNS settings."
    elif "timed out" in reason:
        hint = "Try again later, or raise the download timeout."
    elif reason in ("Not Found", "Forbidden", "Gone"):
        hint = "Check the URL; the server does not offer this file."
    else:
        hint = "Check the URL and the Dom0's network connection."
    return errors.FetchFailed(f"Could not download {where}: {reason}", hint=hint, **kw)


class _HasOutput(Protocol):
    rc: int
    stdout: str
    stderr: str


def check(argv: Sequence[str], rc: int, stdout: str, stderr: str) -> str:
    """Return stdout, or raise the classified error when `rc` is not 0."""
    if rc != 0:
        raise classify_error(argv, rc, stdout, stderr)
    return stdout


def check_result(argv: Sequence[str], result: _HasOutput) -> str:
    """`check` for a transport `Result` (anything with rc, stdout and stderr)."""
    return check(argv, result.rc, result.stdout, result.stderr)
