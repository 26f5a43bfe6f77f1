"""Build argv lists for the tools a Dom0 runs; every input goes through `validate` first.

Nothing here is ever joined into a shell string. Paths are checked against a `PathPolicy`: the
directories the panel may write to on a host, so a bad value cannot name `/etc/rc.conf`.
Options come before operands because FreeBSD's getopt stops at the first operand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from dom0 import validate
from dom0.device_commands import (
    pciconf_list,
    xl_block_attach,
    xl_block_detach,
    xl_mem_max,
    xl_mem_set,
    xl_network_attach,
    xl_network_detach,
    xl_network_list,
    xl_pci_assignable_add,
    xl_pci_assignable_list,
    xl_pci_assignable_remove,
    xl_pci_list,
    xl_vcpu_set,
)
from dom0.errors import ValidationError
from dom0.policy import DEFAULT_POLICY, PathPolicy
from dom0.policy import domain_arg as _dom
from dom0.snapshot_commands import (
    DEFAULT_VOLBLOCKSIZE,
    SNAPSHOT_LIST_COLUMNS,
    zfs_clone,
    zfs_destroy_snapshot,
    zfs_list_snapshots,
    zfs_promote,
    zfs_rollback,
    zfs_set_readonly,
    zfs_set_volsize,
    zfs_snapshot,
)
from dom0.zfsnames import ZFS_PROPERTY_RE as _ZFS_PROP_RE

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_VOLBLOCKSIZE",
    "PathPolicy",
    "SNAPSHOT_LIST_COLUMNS",
    "VOLUME_COLUMNS",
    "ZPOOL_COLUMNS",
    "fetch_size",
    "fetch_to",
    "ifconfig",
    "mkdir_p",
    "mv",
    "pciconf_list",
    "pkg_installed",
    "rm_f",
    "sha_digest",
    "sysctl_get",
    "sysrc_get",
    "xl_block_attach",
    "xl_block_detach",
    "xl_cd_eject",
    "xl_cd_insert",
    "xl_create",
    "xl_destroy",
    "xl_info",
    "xl_list",
    "xl_list_long",
    "xl_mem_max",
    "xl_mem_set",
    "xl_network_attach",
    "xl_network_detach",
    "xl_network_list",
    "xl_pause",
    "xl_pci_assignable_add",
    "xl_pci_assignable_list",
    "xl_pci_assignable_remove",
    "xl_pci_list",
    "xl_reboot",
    "xl_shutdown",
    "xl_unpause",
    "xl_vcpu_set",
    "zfs_clone",
    "zfs_create_volume",
    "zfs_destroy",
    "zfs_destroy_snapshot",
    "zfs_get",
    "zfs_list_snapshots",
    "zfs_list_volumes",
    "zfs_promote",
    "zfs_rollback",
    "zfs_set_readonly",
    "zfs_set_volsize",
    "zfs_snapshot",
    "zpool_list",
]


VOLUME_COLUMNS = (
    "name",
    "volsize",
    "used",
    "referenced",
    "available",
    "refreservation",
    "volmode",
)
ZPOOL_COLUMNS = ("name", "size", "alloc", "free", "health")
VOLMODES = ("default", "full", "geom", "dev", "none")
#: Files `sysrc -f` may read: rc.conf and loader.conf variants, nothing else.
SYSRC_FILES = ("/etc/rc.conf", "/etc/rc.conf.local", "/boot/loader.conf", "/boot/loader.conf.local")


def _timeout(seconds: int, field: str = "timeout") -> str:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= 86400:
        raise ValidationError(field, "must be a whole number of seconds from 1 to 86400", seconds)
    return str(seconds)


# --- xl ----------------------------------------------------------------------------------------


def xl_list() -> list[str]:
    return ["xl", "list"]


def xl_list_long(domain: str | int | None = None) -> list[str]:
    argv = ["xl", "list", "-l"]
    if domain is not None:
        argv.append(_dom(domain, allow_dom0=True))
    return argv


def xl_info() -> list[str]:
    return ["xl", "info"]


def xl_create(
    cfg_path: str, *, paused: bool = False, quiet: bool = True, policy: PathPolicy = DEFAULT_POLICY
) -> list[str]:
    """Return `xl create <cfg> [-q] [-p]` (the file first, as in xl's synopsis)."""
    path = validate.abs_path(cfg_path, "config", [policy.config_dir])
    # xl create takes any argument containing '=' as an extra config line, not a file.
    if "=" in path:
        raise ValidationError("config", "the config path must not contain '='", cfg_path)
    argv = ["xl", "create", path]
    if quiet:
        argv.append("-q")
    if paused:
        argv.append("-p")
    return argv


def xl_destroy(dom: str | int) -> list[str]:
    return ["xl", "destroy", _dom(dom)]


def xl_shutdown(dom: str | int, *, wait: bool = False, force: bool = False) -> list[str]:
    """Return `xl shutdown [-w] [-F] dom`; `force` falls back to the ACPI power button."""
    argv = ["xl", "shutdown"]
    if wait:
        argv.append("-w")
    if force:
        argv.append("-F")
    return [*argv, _dom(dom)]


def xl_reboot(dom: str | int, *, force: bool = False) -> list[str]:
    return ["xl", "reboot", *(["-F"] if force else []), _dom(dom)]


def xl_pause(dom: str | int) -> list[str]:
    return ["xl", "pause", _dom(dom)]


def xl_unpause(dom: str | int) -> list[str]:
    return ["xl", "unpause", _dom(dom)]


def xl_cd_eject(dom: str | int, vdev: str) -> list[str]:
    return ["xl", "cd-eject", _dom(dom), validate.vdev(vdev)]


def xl_cd_insert(
    dom: str | int, vdev: str, path: str, *, policy: PathPolicy = DEFAULT_POLICY
) -> list[str]:
    iso = validate.abs_path(path, "iso", [policy.iso_dir])
    return ["xl", "cd-insert", _dom(dom), validate.vdev(vdev), iso]


# --- zfs ---------------------------------------------------------------------------------------


def zfs_create_volume(
    dataset: str, size: int | str, *, sparse: bool = False, volmode: str = "dev"
) -> list[str]:
    """Return `zfs create [-s] -V <size> -o volmode=<m> <dataset>`."""
    name = validate.dataset_name(dataset, require_child=True)
    nbytes = validate.size(size)
    if volmode not in VOLMODES:
        raise ValidationError("volmode", f"must be one of {', '.join(VOLMODES)}", volmode)
    argv = ["zfs", "create"]
    if sparse:
        argv.append("-s")
    return [*argv, "-V", validate.format_size(nbytes), "-o", f"volmode={volmode}", name]


def zfs_destroy(dataset: str, *, recursive: bool = False) -> list[str]:
    """Return `zfs destroy [-r] <dataset>`; never a pool root."""
    name = validate.dataset_name(dataset, require_child=True)
    return ["zfs", "destroy", *(["-r"] if recursive else []), name]


def zfs_list_volumes(parent: str | None = None) -> list[str]:
    argv = ["zfs", "list", "-H", "-p", "-t", "volume", "-o", ",".join(VOLUME_COLUMNS)]
    if parent is not None:
        argv += ["-r", validate.dataset_name(parent, "parent")]
    return argv


def zfs_get(dataset: str, props: Iterable[str]) -> list[str]:
    """Return `zfs get -H -p -o property,value <p1,p2> <dataset>`."""
    names = list(props)
    if not names or not all(_ZFS_PROP_RE.fullmatch(p) for p in names):
        raise ValidationError(
            "props", "must be one or more ZFS property names such as volsize", names
        )
    name = validate.dataset_name(dataset)
    return ["zfs", "get", "-H", "-p", "-o", "property,value", ",".join(names), name]


def zpool_list() -> list[str]:
    return ["zpool", "list", "-H", "-p", "-o", ",".join(ZPOOL_COLUMNS)]


# --- fetch -------------------------------------------------------------------------------------


def fetch_size(url: str, timeout: int, *, allow_private: bool = False) -> list[str]:
    """Return `fetch -s -A -T N URL` (prints the size in bytes, or `Unknown`).

    -A: never follow a redirect. The panel checked where the URL points; a 302 to an internal
    address must not turn the Dom0 into a proxy into its own network.
    """
    checked = validate.url(url, allow_private=allow_private)
    return ["fetch", "-s", "-A", "-T", _timeout(timeout), checked]


def fetch_to(
    url: str,
    path: str,
    timeout: int,
    *,
    allow_private: bool = False,
    policy: PathPolicy = DEFAULT_POLICY,
) -> list[str]:
    """Return `fetch -q -A -T N -o <path> URL`, writing only inside the ISO directory."""
    checked = validate.url(url, allow_private=allow_private)
    target = validate.abs_path(path, "path", [policy.iso_dir])
    return ["fetch", "-q", "-A", "-T", _timeout(timeout), "-o", target, checked]


# --- host facts --------------------------------------------------------------------------------

_OID_RE = re.compile(r"[a-z0-9_%]+(\.[A-Za-z0-9_%]+)*")
_RCVAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PKG_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")


def _names(values: Sequence[str], pattern: re.Pattern[str], field: str, rule: str) -> list[str]:
    if not values:
        raise ValidationError(field, "at least one name is required")
    for value in values:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValidationError(field, rule, value)
    return list(values)


def sysctl_get(*oids: str, ignore_unknown: bool = False) -> list[str]:
    """Return `sysctl [-i] -n oid...`; `-i` skips unknown oids instead of failing."""
    names = _names(oids, _OID_RE, "oid", "must be a sysctl name such as vm.max_user_wired")
    return ["sysctl", *(["-i"] if ignore_unknown else []), "-n", *names]


def sysrc_get(*names: str, file: str | None = None, ignore_unknown: bool = False) -> list[str]:
    """Return `sysrc [-f file] [-i] -n name...` (read only; no `=` can reach it)."""
    checked = _names(
        names, _RCVAR_RE, "name", "must be an rc variable name such as xencommons_enable"
    )
    argv = ["sysrc"]
    if file is not None:
        if file not in SYSRC_FILES:
            raise ValidationError("file", f"must be one of {', '.join(SYSRC_FILES)}", file)
        argv += ["-f", file]
    if ignore_unknown:
        argv.append("-i")
    return [*argv, "-n", *checked]


def pkg_installed(*pkgs: str) -> list[str]:
    """Return `pkg info -e pkg...` (exit 0 only when all are installed)."""
    names = _names(pkgs, _PKG_RE, "package", "must be a package name such as xen-kernel")
    return ["pkg", "info", "-e", *names]


def ifconfig(iface: str) -> list[str]:
    return ["ifconfig", validate.interface_name(iface)]


# --- files -------------------------------------------------------------------------------------

SHA_TOOLS = {"sha256": "sha256", "sha512": "sha512"}


def sha_digest(
    path: str, algo: str = "sha256", *, policy: PathPolicy = DEFAULT_POLICY
) -> list[str]:
    """Return FreeBSD's `sha256 -q <path>` (or sha512), which prints only the digest."""
    if algo not in SHA_TOOLS:
        raise ValidationError("algo", "must be sha256 or sha512", algo)
    target = validate.abs_path(path, "path", policy.writable_roots)
    return [SHA_TOOLS[algo], "-q", target]


def mkdir_p(path: str, *, policy: PathPolicy = DEFAULT_POLICY) -> list[str]:
    target = validate.abs_path(path, "path", policy.writable_roots, allow_root=True)
    return ["mkdir", "-p", target]


def rm_f(path: str, *, policy: PathPolicy = DEFAULT_POLICY) -> list[str]:
    return ["rm", "-f", validate.abs_path(path, "path", policy.writable_roots)]


def mv(src: str, dst: str, *, policy: PathPolicy = DEFAULT_POLICY) -> list[str]:
    source = validate.abs_path(src, "source", policy.writable_roots)
    target = validate.abs_path(dst, "destination", policy.writable_roots)
    return ["mv", "-f", source, target]


# --- moving domUs between Dom0s (issue 14): dom0/migration_commands.py -------------------------
from dom0.migration_commands import (  # noqa: E402
    migrate_ssh_command,
    xl_migrate,
    xl_migrate_receive,
    zfs_receive_resume_token,
    zfs_recv,
    zfs_recv_abort,
    zfs_send,
    zfs_send_resume,
)

__all__ += [
    "migrate_ssh_command",
    "xl_migrate",
    "xl_migrate_receive",
    "zfs_receive_resume_token",
    "zfs_recv",
    "zfs_recv_abort",
    "zfs_send",
    "zfs_send_resume",
]
