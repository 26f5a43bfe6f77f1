"""Turn a failed command into a typed error with a message and a hint (re-exported by
`dom0.parsers`, where job code has always found `check` and `classify_error`)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
_XL_STAT_RE = re.compile(r"Cannot stat file: (?P<path>.+)$", re.M)
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


@dataclass(frozen=True)
class _Failure:
    """One failed command as the rule tables look at it."""

    stderr: str
    kw: dict[str, Any]

    @property
    def sub(self) -> str:
        argv = self.kw["argv"] or []
        return str(argv[1]) if len(argv) > 1 else ""

    @property
    def cause(self) -> str | None:
        return libxl_log.first_cause(self.stderr)

    def said(self) -> str:
        """libxl's first error in brackets, to end a sentence with ('' when there is none)."""
        cause = self.cause
        return f" ({libxl_log.message(cause).rstrip('.')})" if cause else ""


#: A rule: a test of the failure (its truthy answer, e.g. a regex match, goes to the builder) and
#: the builder of the typed error. A table of rules is walked in order; the first that fits wins.
_Rule = tuple[Callable[[_Failure], Any], Callable[[_Failure, Any], errors.Dom0Error]]


def _first(rules: Sequence[_Rule], failure: _Failure) -> errors.Dom0Error | None:
    for test, build in rules:
        if found := test(failure):
            return build(failure, found)
    return None


def _on(pattern: re.Pattern[str], error: type[errors.Dom0Error], message: str, hint: str) -> _Rule:
    """A rule for a line xl prints: `message` takes the match's named groups ({0}: the line)."""
    return (
        lambda f: pattern.search(f.stderr),
        lambda f, m: error(message.format(m[0].strip(), **m.groupdict()), hint=hint, **f.kw),
    )


def _missing_domain(f: _Failure) -> str | None:
    """The domain an xl call says does not exist, or None."""
    found = _XL_BAD_NAME_RE.search(f.stderr) or _XL_BAD_ID_RE.search(f.stderr)
    # "Non-existant domain" names a missing domain only when it is the first error; after a
    # failed build it is libxl's clean-up noise (issue 17 item 12).
    domid = libxl_log.nonexistent_domid(f.stderr) if f.sub != "create" else None
    if found:
        return str(found["dom"])
    if domid is not None:
        return libxl_log.domain_arg(f.kw["argv"] or []) or domid or "?"
    return None


_XL_RULES: list[_Rule] = [
    # The receiver's messages share xl migrate's stderr, so its rules come before the general ones.
    (
        lambda f: f.sub == "migrate" and classify_xl_migrate_error(f.stderr, f.kw),
        lambda f, found: found,
    ),
    (
        lambda f: "cannot init xl context" in f.stderr,
        lambda f, _: errors.XenNotRunning(
            "Xen is not running on the host (xl cannot connect to the hypervisor)",
            hint="Boot the host into Xen and start xencommons (service xencommons start).",
            **f.kw,
        ),
    ),
    (
        _missing_domain,
        lambda f, dom: errors.DomainNotFound(
            f"Domain '{dom}' does not exist on the host",
            hint="Refresh the host's domain list; it may have stopped or been destroyed.",
            **f.kw,
        ),
    ),
    _on(
        _XL_NAME_USED_RE,
        errors.DomainNameInUse,
        "A domain named '{name}' already exists on the host",
        "Choose another name, or destroy the existing domain first.",
    ),
    (
        lambda f: _XL_NOMEM_RE.search(_without_cleanup(f.stderr)),
        lambda f, _: errors.OutOfMemory(
            f"The hypervisor does not have enough free memory for this domain{f.said()}",
            hint=(
                "Give the domU less memory or stop another domU; check memorylocked=unlimited "
                "in /etc/login.conf (then cap_mkdb /etc/login.conf)."
            ),
            **f.kw,
        ),
    ),
    _on(
        _XL_CFG_READ_RE,
        errors.RemoteFileMissing,
        "xl could not read the config file {path}: {why}",
        "Write the domain's configuration to the host again.",
    ),
    _on(
        _XL_STAT_RE,
        errors.RemoteFileMissing,
        "The file {path} does not exist on the host",
        "Check that the ISO image is still in the host's ISO directory.",
    ),
    _on(
        _XL_CFG_PARSE_RE,
        errors.CommandFailed,
        "xl rejected the domain configuration: {0}",
        "Fix the configuration and save it again.",
    ),
    (
        lambda f: "PV control interface not available" in f.stderr,
        lambda f, _: errors.CommandFailed(
            "The domain has no PV drivers, so it cannot be asked to shut down or reboot",
            hint="Use the forced action (an ACPI button press), or shut it down from inside.",
            **f.kw,
        ),
    ),
    (
        lambda f: f.cause if f.sub == "create" else None,
        lambda f, cause: errors.CommandFailed(
            f"'xl create' failed with exit code {f.kw['rc']}: "
            f"{libxl_log.message(cause).rstrip('.')}",
            hint="The domain was not started; see the full libxl output in the job log.",
            **f.kw,
        ),
    ),
    (lambda f: f.sub in _XL_DEVICE_HINTS, lambda f, _: _xl_device_failure(f)),
]


def _classify_xl(stderr: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    return _first(_XL_RULES, _Failure(stderr, kw))


def _without_cleanup(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if not libxl_log.is_cleanup(line))


def _xl_device_failure(f: _Failure) -> errors.Dom0Error:
    """A plain CommandFailed in xl's own words: libxl's last error and xl's last line."""
    last = _last_line(f.stderr)
    cause = f.cause
    parts = [libxl_log.message(cause)] if cause else []
    if last and not last.startswith(("libxl: error:", "xc: error:")):
        parts.append(last)
    detail = "; ".join(part.rstrip(".") for part in parts) or "no output"
    return errors.CommandFailed(
        f"'xl {f.sub}' failed with exit code {f.kw['rc']}: {detail}",
        hint=_XL_DEVICE_HINTS[f.sub],
        **f.kw,
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


#: What a "cannot <verb> '<ds>': <why>" line means: (words in <why>, error, message, hint).
#: `zfs set volsize=` grows the refreservation first (libzfs_util.c `zfs_setprop_error`), hence
#: its "size is greater than available space" for a full pool.
_ZFS_CAUSES: list[tuple[tuple[str, ...], type[errors.Dom0Error], str, str]] = [
    (
        ("dataset already exists",),
        errors.DatasetExists,
        "The ZFS dataset '{ds}' already exists",
        "Choose another volume name, or use the existing volume.",
    ),
    (
        ("dataset is busy",),
        errors.DatasetBusy,
        "The ZFS volume '{ds}' is in use",
        "Stop the domU that uses this volume first.",
    ),
    (
        ("dataset does not exist", "no such pool", "parent does not exist"),
        errors.DatasetMissing,
        "The ZFS dataset '{ds}' cannot be used: {why}",
        "Refresh the host's volume list and check the pool and parent dataset names.",
    ),
    (
        ("out of space", "size is greater than available space"),
        errors.PoolFull,
        "The ZFS pool has no room for '{ds}'",
        "Choose a smaller size, a sparse volume, or free space on the pool.",
    ),
]


def _zfs_cause(ds: str, why: str, kw: dict[str, Any]) -> errors.Dom0Error | None:
    for words, error, message, hint in _ZFS_CAUSES:
        if any(word in why for word in words):
            return error(message.format(ds=ds, why=why), hint=hint, **kw)
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
