"""`xl create`: read and parse a config from the simulated filesystem, then build the domain.

Relative config paths are read from /root, the working directory of a command run over ssh.
A create that fails inside libxl has already been given a domain id by the hypervisor, so the id
is consumed (ids are never reused until reboot).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import domains, pci, vnc
from .result import CommandExit, SimResult, ok
from .state import State
from .xl_build import build_domain, libxl_config
from .xlcfg import CfgError, parse_cfg

if TYPE_CHECKING:
    from .host import SimHost

_FLAGS = {"-q": "quiet", "--quiet": "quiet", "-p": "paused", "-n": "dryrun", "--dryrun": "dryrun"}
_IGNORED = {"-c", "-d", "-e", "-F", "-V", "-A", "-i", "--vncviewer", "--vncviewer-autopass"}


def _libxl(file: str, line: int, func: str, domid: int, text: str) -> str:
    return f"libxl: error: {file}:{line}:{func}: Domain {domid}:{text}"


def _parse_args(args: list[str]) -> tuple[dict[str, bool], str | None, list[str]]:
    opts = {"quiet": False, "paused": False, "dryrun": False}
    cfgfile: str | None = None
    extras: list[str] = []
    it = iter(args)
    for arg in it:
        if arg in _FLAGS:
            opts[_FLAGS[arg]] = True
        elif arg in _IGNORED:
            continue
        elif arg == "-f":
            cfgfile = next(it, None)
        elif arg.startswith("--defconfig="):
            cfgfile = arg.split("=", 1)[1]
        elif arg.startswith("-") and len(arg) > 1:
            raise CommandExit(2, f"option `{arg.lstrip('-')[:1]}' not supported.")
        elif cfgfile is None and "=" not in arg:
            cfgfile = arg
        else:
            extras.append(arg)
    return opts, cfgfile, extras


def xl_create(host: SimHost, args: list[str], dryrun: bool = False) -> SimResult:
    opts, cfgfile, extras = _parse_args(args)
    if cfgfile is None:
        raise CommandExit(1, "Config file not specified")
    try:
        data = host.local(cfgfile).read_bytes()
    except (FileNotFoundError, IsADirectoryError, ValueError) as exc:
        raise CommandExit(
            3, f"Failed to read config file: {cfgfile}: No such file or directory"
        ) from exc
    text = data.decode("utf-8", "replace")
    if extras:
        text = text + "\n" + "\n".join(extras) + "\n"
    stderr = "" if opts["quiet"] else f"Parsing config from {cfgfile}\n"
    try:
        dom = build_domain(parse_cfg(text, cfgfile))
    except CfgError as exc:
        raise CommandExit(1, *stderr.splitlines(), *exc.lines) from exc
    except CommandExit as exc:
        raise CommandExit(exc.rc, *stderr.splitlines(), *exc.lines) from exc
    stderr += "".join(f"{w}\n" for w in dom.pop("warnings"))
    if opts["dryrun"] or dryrun:
        return SimResult(0, json.dumps(libxl_config(dom), indent=4) + "\n", stderr)
    with host.store.edit() as state:
        domid = state["next_domid"]
        state["next_domid"] = domid + 1
        problem = _refuse(host, state, dom, domid)
        if problem is None:
            _start(host, state, dom, domid, opts["paused"])
            # The device model (QEMU, with the VNC server) starts last; if it fails, no domain.
            problem = vnc.launch(host, state, dom)
            if problem is not None:
                del state["domains"][dom["name"]]
                problem = [*problem, *cleanup_cascade(domid)]
    if problem is not None:
        raise CommandExit(3, *stderr.splitlines(), *problem)
    return ok(stderr=stderr)


def cleanup_cascade(domid: int) -> list[str]:
    """What xl prints after libxl already destroyed a domain whose creation failed.

    libxl's own clean-up (libxl_create.c `domcreate_complete`) destroys the half-built domain
    silently; xl's `create_domain` then calls libxl_domain_destroy on the same domid again
    (tools/xl/xl_vmcontrol.c `error_out:`), which finds nothing and logs these three lines
    (libxl_domain.c `libxl__destroy_domid`, `domain_destroy_callback`, `domain_destroy_cb`;
    line numbers of RELEASE-4.18.0, "Non-existant" misspelt as in the source).
    """
    return [
        _libxl("libxl_domain.c", 1179, "libxl__destroy_domid", domid, "Non-existant domain"),
        _libxl("libxl_domain.c", 1133, "domain_destroy_callback", domid, "Unable to destroy guest"),
        _libxl("libxl_domain.c", 1060, "domain_destroy_cb", domid, "Destruction of domain failed"),
    ]


def _refuse(host: SimHost, state: State, dom: dict[str, Any], domid: int) -> list[str] | None:
    """Return libxl's error lines if the hypervisor would refuse this domain, else None."""
    if domains.by_name(state, dom["name"]) is not None:
        return [
            _libxl(
                "libxl_domain.c",
                397,
                "libxl__domain_rename",
                domid,
                f'Domain with name "{dom["name"]}" already exists.',
            ),
            _libxl(
                "libxl_create.c", 1257, "initiate_domain_create", domid, "cannot make domain: -6"
            ),
        ]
    if dom["type"] == "hvm" and not state["hvm"]:
        # UNVERIFIED wording: what a host without VT-x/EPT reports for an HVM guest.
        return [
            _libxl(
                "libxl_create.c",
                690,
                "libxl__domain_make",
                domid,
                "domain creation fail: Operation not supported",
            ),
            _libxl(
                "libxl_create.c", 1257, "initiate_domain_create", domid, "cannot make domain: -3"
            ),
        ]
    if dom["vcpus"] > state["cpus"]:
        # A simulator policy (real Xen allows overcommit up to HVM_MAX_VCPUS); wording UNVERIFIED.
        return [
            _libxl(
                "libxl_create.c",
                1290,
                "initiate_domain_create",
                domid,
                f"max_vcpus ({dom['vcpus']}) exceeds the {state['cpus']} physical cpus",
            ),
            _libxl(
                "libxl_create.c", 1257, "initiate_domain_create", domid, "cannot make domain: -3"
            ),
        ]
    if dom["memory"] > domains.free_memory_mib(state):
        return _no_memory(domid)
    kernel = dom.get("kernel")
    if dom["type"] == "pvh" and kernel and not host.local(kernel).is_file():
        return _no_kernel(kernel, domid)
    for disk in dom["disks"]:
        if disk["target"] and not host.local(disk["target"]).exists():
            return [
                f"libxl: error: libxl_device.c:356:libxl__device_disk_set_backend: Disk "
                f"vdev={disk['vdev']} failed to stat: {disk['target']}: No such file or directory",
                _libxl(
                    "libxl_create.c",
                    1857,
                    "domcreate_launch_dm",
                    domid,
                    "unable to add disk devices",
                ),
                *cleanup_cascade(domid),
            ]
    refused = pci.refuse(state, dom, domid)
    if refused is not None:
        return [*refused, *cleanup_cascade(domid)]
    vnc = dom["vnc"]
    if vnc and vnc["enable"]:
        port = domains.allocate_vnc_port(state, vnc["display"], vnc["findunused"])
        if port is None:
            return [
                _libxl(
                    "libxl_dm.c",
                    3066,
                    "device_model_spawn_outcome",
                    domid,
                    "domain 1 device model: spawn failed (rc=-3)",
                ),
                _libxl(
                    "libxl_create.c",
                    1917,
                    "domcreate_devmodel_started",
                    domid,
                    "device model did not start: -3",
                ),
                *cleanup_cascade(domid),
            ]
        dom["vnc_port"] = port
    return None


def _no_memory(domid: int) -> list[str]:
    """The hypervisor cannot populate the domain's memory (RELEASE-4.18.0 sources).

    tools/libs/guest/xg_dom_boot.c `xc_dom_boot_mem_init` panics with XC_OUT_OF_MEMORY, whose
    description is "Out of memory" (tools/libs/ctrl/xc_private.c); before Xen 4.15 the file was
    tools/libxc/xc_dom_boot.c. libxl_dom.c `libxl__build_dom` logs it with LOGE: the errno
    (ENOMEM, "Cannot allocate memory") is UNVERIFIED.
    """
    return [
        "xc: error: panic: xg_dom_boot.c:120: xc_dom_boot_mem_init: can't allocate low "
        "memory for domain: Out of memory",
        "libxl: error: libxl_dom.c:581:libxl__build_dom: xc_dom_boot_mem_init failed: "
        "Cannot allocate memory",
        _libxl(
            "libxl_create.c", 1653, "domcreate_rebuild_done", domid, "cannot (re-)build domain: -3"
        ),
        *cleanup_cascade(domid),
    ]


def _no_kernel(kernel: str, domid: int) -> list[str]:
    """A PVH kernel libxc cannot open (xg_dom_core.c, libxl_dom.c `libxl__domain_firmware`)."""
    return [
        f"xc: error: panic: xg_dom_core.c:205: failed to open file '{kernel}': "
        "No such file or directory: Internal error",
        "libxl: error: libxl_dom.c:964:libxl__domain_firmware: xc_dom_kernel_file failed: "
        "No such file or directory",
        "libxl: error: libxl_dom.c:1134:libxl__build_hvm: initializing domain firmware failed",
        _libxl(
            "libxl_create.c", 1653, "domcreate_rebuild_done", domid, "cannot (re-)build domain: -3"
        ),
        *cleanup_cascade(domid),
    ]


def _start(host: SimHost, state: State, dom: dict[str, Any], domid: int, paused: bool) -> None:
    now = host.now()
    dom.setdefault("vnc_port", None)
    dom |= {
        "domid": domid,
        "created": now,
        "paused": paused,
        "run_since": None if paused else now,
        "cpu_acc": 0.0,
        "shutdown_reason": None,
        "pv_drivers": False,
    }
    state["domains"][dom["name"]] = dom
