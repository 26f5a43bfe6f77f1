"""The Dom0 readiness checklist (handbook §A, with the corrections in xen-cli-facts.md §7).

`evaluate` is pure: it takes what a refresh job gathered from the host and returns one item per
requirement, each passed / failed / unknown, with the command an admin runs to fix it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"

# vm.max_user_wired is unsigned on FreeBSD 13+: -1 reads back as 2**64 - 1 (UNVERIFIED read-back,
# so both spellings count).
_UNLIMITED_WIRED = {"-1", str(2**64 - 1)}
_XC0_RE = re.compile(r"^xc0\s+\"/usr/libexec/getty Pc\"\s+\S+\s+(on|onifconsole)\b", re.M)


@dataclass
class Gathered:
    """What the refresh job read on the host; None means it could not be read."""

    virt_caps: set[str] | None = None
    xen_pkgs_installed: bool | None = None
    max_user_wired: str | None = None
    max_wired: str | None = None
    login_conf: str | None = None
    ttys: str | None = None
    xen_kernel: str | None = None
    xen_cmdline: str | None = None
    log_dir_exists: bool | None = None
    xencommons_enable: str | None = None
    cloned_interfaces: str | None = None
    bridge_exists: bool | None = None
    dom0_state: str | None = None  # state letters of Domain-0, if xl list answered
    xl_error: str | None = None
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class Item:
    key: str
    title: str
    status: str
    detail: str
    fix: str = ""


def login_conf_default_class(text: str) -> str:
    """Return the `default` capability record of a login.conf, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", "", text)
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue
        names = stripped.split(":", 1)[0].split("|")
        if "default" in names:
            return stripped
    return ""


def evaluate(g: Gathered, *, bridge: str = "bridge0") -> list[Item]:
    return [
        _hardware(g),
        _packages(g),
        _wired(g),
        _memorylocked(g),
        _ttys(g),
        _loader(g),
        _log_dir(g),
        _xencommons(g),
        _bridge(g, bridge),
        _booted(g),
    ]


def as_dicts(items: list[Item]) -> list[dict[str, Any]]:
    return [asdict(item) for item in items]


def _hardware(g: Gathered) -> Item:
    title = "Hardware virtualization (HVM with EPT/NPT)"
    if g.virt_caps is None:
        return Item("hvm", title, UNKNOWN, "xl info did not answer.", "")
    missing = [cap for cap in ("hvm", "hap") if cap not in g.virt_caps]
    iommu = (
        "IOMMU on (PCI passthrough possible)"
        if "hvm_directio" in g.virt_caps
        else ("IOMMU off: no PCI passthrough")
    )
    if missing:
        return Item(
            "hvm",
            title,
            FAIL,
            f"virt_caps lacks {', '.join(missing)}; {iommu}.",
            "Enable VT-x/AMD-V and EPT/NPT (and VT-d/AMD-Vi) in the firmware setup.",
        )
    return Item("hvm", title, PASS, f"virt_caps: {' '.join(sorted(g.virt_caps))}; {iommu}.")


#: Status of an advisory item: shown next to the checklist, never counted as passed or failed.
ADVISORY = "advisory"


def passthrough_advisory(virt_caps: set[str] | None) -> Item:
    """PCI passthrough needs Xen's IOMMU support (VT-d / AMD-Vi): advice, not a requirement.

    Not part of `evaluate`: the handbook path works without passthrough. A PVH Dom0 (the only
    kind FreeBSD runs) already needs the IOMMU to boot (Xen SUPPORT.md, x86/PVH), and Xen's
    SUPPORT.md lists PCI passthrough among the features a PVH Dom0 lacks: docs/pci-passthrough.md.
    """
    title = "PCI passthrough (IOMMU: Intel VT-d / AMD-Vi)"
    fix = "Enable VT-d / AMD-Vi in the firmware setup; check with: xl dmesg | grep -i iommu"
    if virt_caps is None:
        return Item("passthrough", title, UNKNOWN, "xl info has not been read yet.", fix)
    if "hvm_directio" in virt_caps:
        return Item(
            "passthrough",
            title,
            PASS,
            "IOMMU on (virt_caps has hvm_directio). Xen still lists PCI passthrough as missing "
            "on a PVH Dom0, and FreeBSD's xl has no PCI backend: making a device assignable may "
            "fail on this host.",
        )
    return Item(
        "passthrough",
        title,
        ADVISORY,
        "IOMMU off (no hvm_directio in virt_caps): no PCI passthrough. Not needed otherwise.",
        fix,
    )


@dataclass(frozen=True)
class _YesNo:
    """A requirement that is met or not: what the item says when it is unknown, met or unmet."""

    key: str
    title: str
    fix: str
    unknown: str
    passed: str
    failed: str

    def item(self, met: bool | None) -> Item:
        if met is None:
            return Item(self.key, self.title, UNKNOWN, self.unknown, self.fix)
        if met:
            return Item(self.key, self.title, PASS, self.passed)
        return Item(self.key, self.title, FAIL, self.failed, self.fix)


_PACKAGES = _YesNo(
    key="xen_pkg",
    title="Xen packages installed (xen-kernel, xen-tools)",
    fix="pkg install xen-kernel xen-tools",
    unknown="pkg did not answer.",
    passed="pkg info -e xen-kernel xen-tools: installed.",
    failed="xen-kernel or xen-tools is not installed.",
)
_TTYS = _YesNo(
    key="ttys",
    title="Xen console line xc0 in /etc/ttys",
    fix="echo 'xc0 \"/usr/libexec/getty Pc\" xterm onifconsole secure' >> /etc/ttys",
    unknown="/etc/ttys could not be read.",
    passed="xc0 getty line present.",
    failed="No xc0 line: no login on the Xen console.",
)
_LOG_DIR = _YesNo(
    key="logdir",
    title="Log directory /var/log/xen",
    fix="mkdir -p /var/log/xen",
    unknown="Could not check.",
    passed="/var/log/xen exists.",
    failed="/var/log/xen is missing.",
)


def _packages(g: Gathered) -> Item:
    return _PACKAGES.item(g.xen_pkgs_installed)


def _wired(g: Gathered) -> Item:
    title = "Unlimited wired memory (vm.max_user_wired=-1)"
    fix = "sysrc -f /etc/sysctl.conf vm.max_user_wired=-1 && sysctl vm.max_user_wired=-1"
    value, name = g.max_user_wired, "vm.max_user_wired"
    if value is None and g.max_wired is not None:
        value, name = g.max_wired, "vm.max_wired"  # FreeBSD 12 and older
        fix = "sysrc -f /etc/sysctl.conf vm.max_wired=-1 && sysctl vm.max_wired=-1"
    if value is None:
        return Item("max_wired", title, UNKNOWN, "sysctl did not answer.", fix)
    if value.strip() in _UNLIMITED_WIRED:
        return Item("max_wired", title, PASS, f"{name} = {value.strip()}")
    return Item(
        "max_wired",
        title,
        FAIL,
        f"{name} = {value.strip()}: domUs with more memory may not start.",
        fix,
    )


# Sets memorylocked=unlimited in the `default` record only, as the handbook does: the other
# classes (daemon, russian, ...) keep their own limits, byte for byte. One POSIX awk pass (the
# base system's awk; BSD and GNU sed disagree on -i): a record runs to the first line that does
# not end in a backslash; one without the capability gets it on its second line.
_MEMLOCK_AWK = (
    r'function out(){if(n&&!hit){if(buf[1]~/\\$/)buf[1]=buf[1] "\n\t:memorylocked=unlimited:\\";'
    r'else buf[1]=buf[1] "memorylocked=unlimited:"}'
    r"for(i=1;i<=n;i++)print buf[i];n=0;hit=0;d=0} "
    r"!d&&/^([^:#]*[|])?default[:|\\]/{d=1} "
    r'd{hit+=sub(/:memorylocked=[^:\\]*/,":memorylocked=unlimited");buf[++n]=$0;'
    r"if($0!~/\\$/)out();next} "
    r"{print} END{out()}"
)


def memorylocked_fix(path: str = "/etc/login.conf") -> str:
    """Return the command that sets memorylocked=unlimited in `path`'s default class only."""
    return f"awk '{_MEMLOCK_AWK}' {path} > {path}.new && mv {path}.new {path} && cap_mkdb {path}"


def _memorylocked(g: Gathered) -> Item:
    title = "memorylocked=unlimited in /etc/login.conf"
    fix = memorylocked_fix()
    if g.login_conf is None:
        return Item("memorylocked", title, UNKNOWN, "/etc/login.conf could not be read.", fix)
    record = login_conf_default_class(g.login_conf)
    match = re.search(r":memorylocked=([^:]*):", record + ":")
    if match and match.group(1) == "unlimited":
        return Item("memorylocked", title, PASS, "default class: memorylocked=unlimited")
    current = match.group(1) if match else "not set"
    return Item(
        "memorylocked",
        title,
        FAIL,
        f"default class: memorylocked={current}; creating domUs may fail with "
        "'Cannot allocate memory'.",
        fix,
    )


def _ttys(g: Gathered) -> Item:
    return _TTYS.item(None if g.ttys is None else bool(_XC0_RE.search(g.ttys)))


def _loader(g: Gathered) -> Item:
    title = "Boot Xen from /boot/loader.conf (xen_kernel, xen_cmdline)"
    cmdline = (
        "dom0_mem=8192M dom0_max_vcpus=4 dom0=pvh console=com1,vga com1=115200,8n1 "
        "guest_loglvl=all loglvl=all"
    )
    fix = (
        'sysrc -f /boot/loader.conf xen_kernel="/boot/xen" '
        f'&& sysrc -f /boot/loader.conf xen_cmdline="{cmdline}"'
    )
    if g.xen_kernel is None and g.xen_cmdline is None:
        return Item(
            "loader",
            title,
            UNKNOWN if g.errors.get("loader") is None else FAIL,
            g.errors.get("loader", "sysrc did not answer."),
            fix,
        )
    problems = []
    if not g.xen_kernel:
        problems.append("xen_kernel is not set")
    words = (g.xen_cmdline or "").split()
    if not words:
        problems.append("xen_cmdline is not set")
    else:
        if not any(w.startswith("dom0_mem=") for w in words):
            problems.append("xen_cmdline has no dom0_mem=")
        if "dom0pvh=1" in words:
            problems.append("dom0pvh=1 was removed in Xen 4.9; use dom0=pvh")
        elif "dom0=pvh" not in words:
            problems.append("xen_cmdline has no dom0=pvh")
    if problems:
        return Item("loader", title, FAIL, "; ".join(problems) + ".", fix)
    return Item("loader", title, PASS, f"xen_kernel={g.xen_kernel}; xen_cmdline={g.xen_cmdline}")


def _log_dir(g: Gathered) -> Item:
    return _LOG_DIR.item(g.log_dir_exists)


def _xencommons(g: Gathered) -> Item:
    title = "xencommons service enabled"
    fix = "sysrc xencommons_enable=YES && service xencommons start"
    if g.xencommons_enable is None:
        detail = g.errors.get("xencommons", "sysrc did not answer.")
        status = FAIL if "xencommons" in g.errors else UNKNOWN
        return Item("xencommons", title, status, detail, fix)
    if g.xencommons_enable.strip().lower() == "yes":
        return Item("xencommons", title, PASS, f"xencommons_enable={g.xencommons_enable.strip()}")
    return Item("xencommons", title, FAIL, f"xencommons_enable={g.xencommons_enable.strip()}", fix)


def _bridge(g: Gathered, bridge: str) -> Item:
    title = f"Network bridge {bridge} for guests"
    fix = (
        f'sysrc cloned_interfaces+=" {bridge}" && sysrc ifconfig_{bridge}="addm em0 SYNCDHCP" '
        f"&& service netif cloneup {bridge}"
    )
    if g.bridge_exists is None and g.cloned_interfaces is None:
        return Item("bridge", title, UNKNOWN, "Could not check.", fix)
    configured = bridge in (g.cloned_interfaces or "").split()
    if g.bridge_exists and configured:
        return Item("bridge", title, PASS, f"{bridge} exists and is in cloned_interfaces.")
    if g.bridge_exists:
        return Item(
            "bridge",
            title,
            FAIL,
            f"{bridge} exists but is not in cloned_interfaces: it will be gone after a reboot.",
            fix,
        )
    return Item("bridge", title, FAIL, f"{bridge} does not exist.", fix)


def _booted(g: Gathered) -> Item:
    title = "Booted into Xen (Domain-0 running)"
    fix = "service xencommons start   # or reboot into Xen once the items above pass"
    if g.xl_error:
        return Item("xen_running", title, FAIL, g.xl_error, fix)
    if g.dom0_state is None:
        return Item("xen_running", title, UNKNOWN, "xl list did not answer.", fix)
    return Item("xen_running", title, PASS, f"Domain-0 is up ({g.dom0_state}).")
