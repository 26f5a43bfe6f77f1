"""`xl list` and `xl info`: the read-only views of the hypervisor (facts §1, §2)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from . import domains
from .result import CommandExit, SimResult, ok
from .state import State
from .xl_build import libxl_config

if TYPE_CHECKING:
    from .host import SimHost

LIST_HEADER = "Name                                        ID   Mem VCPUs\tState\tTime(s)"
_ROW = "{:<40} {:>5} {:>5} {:>5}     {}  {:>8.1f}"
#: `xl info` hw_caps: 8 words `%08x` (the simulated CPU's; state["hw_caps"] overrides it).
HW_CAPS = "bfebfbff:77fafbff:2c100800:00000121:0000000f:009c6fbf:00000000:00000100"


def _row(name: str, domid: int, mem: int, vcpus: int, state: str, cpu: float) -> str:
    return _ROW.format(name, domid, mem, vcpus, state, cpu)


def _rows(state: State, now: float, only: int | None) -> list[str]:
    rows = []
    if only in (None, 0):
        cpu0 = domains.dom0_cpu_seconds(state, now)
        rows.append(_row("Domain-0", 0, state["dom0_mem_mib"], state["dom0_vcpus"], "r-----", cpu0))
    for dom in domains.domus(state):
        if only is None or dom["domid"] == only:
            cpu = domains.cpu_seconds(dom, now)
            letters = domains.state_letters(dom, now)
            rows.append(_row(dom["name"], dom["domid"], dom["memory"], dom["vcpus"], letters, cpu))
    return rows


def dom0_config(state: State) -> dict[str, object]:
    # xen-init-dom0 stores a minimal JSON config for Domain-0; its exact fields are UNVERIFIED.
    return {
        "c_info": {"type": "pvh", "name": "Domain-0"},
        "b_info": {
            "max_vcpus": state["dom0_vcpus"],
            "avail_vcpus": list(range(state["dom0_vcpus"])),
            "max_memkb": state["dom0_mem_mib"] * 1024,
            "target_memkb": state["dom0_mem_mib"] * 1024,
        },
    }


def _long(state: State, only: int | None) -> str:
    items: list[dict[str, object]] = []
    if only in (None, 0):
        items.append({"domid": 0, "config": dom0_config(state)})
    for dom in domains.domus(state):
        if only is None or dom["domid"] == only:
            items.append({"domid": dom["domid"], "config": libxl_config(dom)})
    return json.dumps(items, indent=4) + "\n"


def xl_list(host: SimHost, args: list[str]) -> SimResult:
    long_form = False
    targets = []
    for arg in args:
        if arg in ("-l", "--long"):
            long_form = True
        elif arg in ("-v", "--verbose", "-Z", "--context", "-c", "--cpupool", "-n", "--numa"):
            pass  # extra columns are not simulated; the plain table is printed
        elif arg.startswith("-") and len(arg) > 1:
            raise CommandExit(2, f"option `{arg.lstrip('-')[:1]}' not supported.")
        else:
            targets.append(arg)
    if len(targets) > 1:
        raise CommandExit(1, "Usage: xl [-v] list [options] [Domain]")
    state = host.store.read()
    only: int | None = None
    if targets:
        only, dom = domains.find_domain(state, targets[0])
        if dom is None and only != 0:
            raise CommandExit(1, f"Error: Domain '{targets[0]}' does not exist.")
    if long_form:
        return ok(_long(state, only))
    rows = _rows(state, host.now(), only)
    return ok("".join(f"{line}\n" for line in [LIST_HEADER, *rows]))


def info_lines(state: State) -> list[tuple[str, str]]:
    """Return `xl info`'s (key, value) pairs in xl's order (facts §2)."""
    free = domains.free_memory_mib(state)
    caps = (
        " pv hvm hvm_directio pv_directio hap shadow iommu_hap_pt_share gnttab-v1 gnttab-v2"
        if state["hvm"]
        else " pv shadow gnttab-v1 gnttab-v2"
    )
    cpus = state["cpus"]
    return [
        ("host", state["hostname"]),
        ("release", "14.1-RELEASE"),
        ("version", "FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC"),
        ("machine", "amd64"),
        ("nr_cpus", str(cpus)),
        ("max_cpu_id", str(cpus - 1)),
        ("nr_nodes", "1"),
        ("cores_per_socket", str(max(1, cpus // 2))),
        ("threads_per_core", "2" if cpus > 1 else "1"),
        ("cpu_mhz", "2394.454"),
        # A test may give a host another CPU (state["hw_caps"]) for the migration CPU check.
        ("hw_caps", state.get("hw_caps") or HW_CAPS),
        ("virt_caps", caps),
        ("total_memory", str(state["total_mem_mib"])),
        ("free_memory", str(free)),
        ("sharing_freed_memory", "0"),
        ("sharing_used_memory", "0"),
        ("outstanding_claims", "0"),
        ("free_cpus", "0"),
        ("xen_major", "4"),
        ("xen_minor", "18"),
        ("xen_extra", ".0"),
        ("xen_version", "4.18.0"),
        ("xen_caps", "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"),
        ("xen_scheduler", "credit2"),
        ("xen_pagesize", "4096"),
        ("platform_params", "virt_start=0xffff800000000000"),
        ("xen_changeset", ""),
        ("xen_commandline", state["xen_commandline"]),
        ("cc_compiler", "FreeBSD clang version 18.1.5 (llvmorg-18.1.5-0-g617a15a9eac9)"),
        ("cc_compile_by", "root"),
        ("cc_compile_domain", "freebsd.org"),
        ("cc_compile_date", "Fri Jun 14 07:31:08 UTC 2024"),
        ("build_id", "6f2a9c1d0e8b4b7a93c5d2e1f0a4b6c8d7e9f102"),
        ("xend_config_format", "4"),
    ]


def _format(key: str, value: str) -> str:
    # virt_caps tokens carry their own leading space: the format is "%-23s:%s" for that line.
    if key == "virt_caps":
        return f"{key:<23}:{value}"
    return f"{key:<23}: {value}"


def xl_info(host: SimHost, args: list[str]) -> SimResult:
    prefixes = [a for a in args if not a.startswith("-")]
    lines = [_format(k, v) for k, v in info_lines(host.store.read())]
    if not prefixes:
        return ok("".join(f"{line}\n" for line in lines))
    out = []
    for line in lines:
        # xl prints only the value of a line that starts with the query and has ": " in it.
        if line.startswith(prefixes[0]) and ": " in line:
            out.append(line.split(": ", 1)[1] + "\n")
    return ok("".join(out))
