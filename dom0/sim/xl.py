"""The `xl` command: global options, the Xen-is-running check and the subcommand table."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import pci
from . import xl_control as control
from . import xl_devices as devices
from .result import CommandExit, SimResult, fail
from .xl_create import xl_create
from .xl_info import xl_info, xl_list

if TYPE_CHECKING:
    from .host import SimHost

Handler = Callable[["SimHost", list[str]], SimResult]

SUBCOMMANDS: dict[str, Handler] = {
    "list": xl_list,
    "info": xl_info,
    "create": xl_create,
    "destroy": control.xl_destroy,
    "shutdown": control.xl_shutdown,
    "reboot": control.xl_reboot,
    "pause": control.xl_pause,
    "unpause": control.xl_unpause,
    "cd-insert": control.xl_cd_insert,
    "cd-eject": control.xl_cd_eject,
    "domid": control.xl_domid,
    "mem-set": devices.xl_mem_set,
    "mem-max": devices.xl_mem_max,
    "vcpu-set": devices.xl_vcpu_set,
    "block-attach": devices.xl_block_attach,
    "block-detach": devices.xl_block_detach,
    "network-attach": devices.xl_network_attach,
    "network-detach": devices.xl_network_detach,
    "network-list": devices.xl_network_list,
    "pci-assignable-list": pci.xl_pci_assignable_list,
    "pci-assignable-add": pci.xl_pci_assignable_add,
    "pci-assignable-remove": pci.xl_pci_assignable_remove,
    "pci-list": pci.xl_pci_list,
}

# Derived from libxl_ctx_alloc's failure path (facts §1.4); the exact composition is UNVERIFIED.
NOT_RUNNING = (
    "xencall: error: Could not obtain handle on privileged command interface "
    "/dev/xen/privcmd: No such file or directory",
    "libxl: error: libxl.c:102:libxl_ctx_alloc: cannot open libxc handle: "
    "No such file or directory",
    "cannot init xl context",
)


def main(host: SimHost, args: list[str]) -> SimResult:
    dry_run = False
    while args and args[0].startswith("-"):
        if args[0] == "-N":
            dry_run = True
        elif args[0] in ("-f", "-t", "-T") or args[0].strip("v") == "-":
            pass
        else:
            return fail(2, f"option `{args[0][1:2]}' not supported.")
        args = args[1:]
    if not args:
        return fail(1, "Usage: xl [-vfNtT] <subcommand> [args]")
    if not host.store.read()["xen_running"]:
        return fail(1, *NOT_RUNNING)
    handler = SUBCOMMANDS.get(args[0])
    if handler is None:
        return fail(1, "command not implemented")
    try:
        if args[0] == "create" and dry_run:
            return xl_create(host, args[1:], dryrun=True)
        return handler(host, args[1:])
    except CommandExit as exc:
        return exc.result()
