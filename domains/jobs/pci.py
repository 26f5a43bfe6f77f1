"""Jobs: read a host's PCI devices (`pciconf -l`, `xl pci-assignable-list`); make one assignable
to domUs (`xl pci-assignable-add`) or give it back to the Dom0 (`xl pci-assignable-remove`).

Both store the listing they read last in the job's result; the host page and the attach form read
the newest one (domains.pci.listing). Attaching a device to a domU needs no job: it is a config
version, written to the host at the domU's next start.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dom0 import commands
from dom0.errors import CommandFailed, Dom0Error
from dom0.pci import parse_pci_assignable_list, parse_pciconf_list
from domains import actions
from domains.pci import logic
from hosts.models import Host
from jobs.context import JobContext, StepFailed
from jobs.registry import job_kind

#: Why xl's PCI commands may fail on a FreeBSD Dom0 (docs/pci-passthrough.md has the sources).
FREEBSD_HINT = (
    "Upstream libxl has no PCI backend on FreeBSD (its pciback path there is /dev/null) and Xen "
    "lists PCI passthrough as missing on a PVH Dom0; see docs/pci-passthrough.md"
)
_FIELDS = ("bdf", "driver", "class_code", "vendor", "device", "description")
_HEX = {"class_code": 6, "vendor": 4, "device": 4}


def _host(ctx: JobContext) -> Host:
    host: Host | None = ctx.target("host")
    if host is None:
        raise StepFailed("This host was removed from the panel before the job ran.")
    return host


def _device(row: Any) -> dict[str, str] | None:
    """A `pciconf -l` row as the listing stores it (numbers in pciconf's hex spelling)."""
    # `is_dataclass` is also true of a dataclass itself: only an instance can be a row.
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        values = dataclasses.asdict(row)
    else:
        values = dict(vars(row))
    try:
        values["bdf"] = logic.canonical_bdf(str(values.get("bdf", "")))
    except logic.PciRefused:
        return None
    for key, width in _HEX.items():
        if isinstance(values.get(key), int):
            values[key] = f"0x{values[key]:0{width}x}"
    return {key: str(values.get(key) or "") for key in _FIELDS}


def _assignable(ctx: JobContext) -> tuple[list[str], str]:
    """Return the assignable BDFs and, if xl complained, what it said."""
    result = ctx.run(
        commands.xl_pci_assignable_list(),
        label="Assignable devices (xl pci-assignable-list)",
        timeout=30,
        check=False,
    )
    complaint = result.stderr.strip()
    if result.rc != 0:
        return [], complaint or f"xl pci-assignable-list exited {result.rc}"
    out: list[str] = []
    for bdf in parse_pci_assignable_list(result.stdout):
        try:
            out.append(logic.canonical_bdf(bdf))
        except logic.PciRefused:
            continue
    # libxl logs "Couldn't open <pciback dir>" and still exits 0 (xl_pci.c pciassignable_list).
    return out, complaint if not out else ""


def read_devices(ctx: JobContext) -> dict[str, Any]:
    """Read and store the listing: every device the Dom0 sees, and the assignable ones."""
    result = ctx.run(commands.pciconf_list(), label="List PCI devices (pciconf -l)", timeout=30)
    devices = [d for d in map(_device, parse_pciconf_list(result.stdout)) if d]
    assignable, complaint = _assignable(ctx)
    listing = {"devices": devices, "assignable": assignable, "assignable_error": complaint}
    ctx.result(**listing)
    return listing


@job_kind(actions.PCI_LIST)
def pci_list(ctx: JobContext) -> str:
    host = _host(ctx)
    ctx.progress(20, "Reading PCI devices")
    listing = read_devices(ctx)
    return (
        f"{len(listing['devices'])} PCI devices on {host.name}, "
        f"{len(listing['assignable'])} assignable"
    )


@job_kind(actions.PCI_ASSIGNABLE)
def pci_assignable(ctx: JobContext) -> str:
    host = _host(ctx)
    add = bool(ctx.job.params.get("add"))
    try:
        bdf = logic.canonical_bdf(str(ctx.job.params.get("bdf", "")))
    except logic.PciRefused as exc:
        raise StepFailed(str(exc)) from exc
    ctx.progress(10, "Reading the assignable devices")
    before, _ = _assignable(ctx)
    if add and bdf in before:
        ctx.note("Already assignable", f"{bdf} is in xl pci-assignable-list; nothing to do")
    elif not add and bdf not in before:
        ctx.note("Not assignable", f"{bdf} is not in xl pci-assignable-list; the Dom0 has it")
    else:
        _change(ctx, bdf, add=add)
    ctx.progress(70, "Reading the PCI devices again")
    listing = read_devices(ctx)
    if add != (bdf in listing["assignable"]):
        state = "still not" if add else "still"
        raise StepFailed(
            f"xl reported success, but xl pci-assignable-list {state} shows {bdf}. "
            f"{listing['assignable_error']}".strip()
        )
    if add:
        return f"{bdf} is assignable on {host.name}; the Dom0 no longer uses it"
    return f"{bdf} is back with the Dom0 of {host.name}"


def _change(ctx: JobContext, bdf: str, *, add: bool) -> None:
    if add:
        argv, label = commands.xl_pci_assignable_add(bdf), f"Make {bdf} assignable"
    else:
        argv, label = commands.xl_pci_assignable_remove(bdf), f"Give {bdf} back to the Dom0"
    ctx.progress(30, label)
    try:
        ctx.run(argv, label=f"{label} (xl {argv[1]})", timeout=120)
    except CommandFailed as exc:
        # Show what the host has now; the failure stays the job's error.
        try:
            read_devices(ctx)
        except Dom0Error:
            pass  # the change's own failure is the one worth reporting
        left = (
            "Nothing was handed to the guests; the PCI list read after the failure shows whether "
            "the Dom0 still drives the device."
            if add
            else f"{bdf} stays assignable; the Dom0 has not taken it back."
        )
        raise type(exc)(
            f"{label} failed: {exc.message}. {left}",
            argv=exc.argv,
            rc=exc.rc,
            stderr=exc.stderr,
            hint=FREEBSD_HINT,
        ) from exc
