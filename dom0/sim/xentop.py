"""The simulator's `xentop` (batch mode only): Xen tools/xentop/xentop.c's table for this host.

Iterations are not waited for: iteration k of `-i N -d D` is computed at now - (N-1-k)·D from
counters that are functions of time (domains.cpu_seconds, load.counters), so `-i 2 -d 1` answers
at once with the CPU(%) a real one-second wait would show. Like real xentop: the first
iteration's CPU(%) is 0.0; rows are sorted by name, case-insensitively (the default sort field);
Domain-0 has MAXMEM(k) `no limit`. Unlike FreeBSD's libxenstat, which collects no vif or vbd
counters (NETS/VBDS 0), the simulator reports them (as Linux's does) so disk and network charts
have data; the panel treats NETS 0 / VBDS 0 as "not given" either way.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from . import domains, load
from .result import SimResult, fail, ok

if TYPE_CHECKING:
    from .host import SimHost
    from .state import State

#: (header, default width) per column, as xentop.c's fields[] table.
COLUMNS = (
    ("NAME", 10),
    ("STATE", 6),
    ("CPU(sec)", 10),
    ("CPU(%)", 6),
    ("MEM(k)", 10),
    ("MEM(%)", 6),
    ("MAXMEM(k)", 10),
    ("MAXMEM(%)", 9),
    ("VCPUS", 5),
    ("NETS", 4),
    ("NETTX(k)", 8),
    ("NETRX(k)", 8),
    ("VBDS", 4),
    ("VBD_OO", 8),
    ("VBD_RD", 8),
    ("VBD_WR", 8),
    ("VBD_RSECT", 10),
    ("VBD_WSECT", 10),
    ("SSID", 4),
)
#: Columns whose width grows with the largest value (xentop.c adjust_field_widths).
_GROWING = ("NETTX(k)", "NETRX(k)", "VBD_RD", "VBD_WR", "VBD_RSECT", "VBD_WSECT")
#: Sectors are 512 bytes; a simulated request moves 4 KiB.
_SECTORS_PER_KIB = 2
_KIB_PER_REQUEST = 4

_USAGE = "Usage: xentop [OPTION]\nDisplays ongoing information about xen vm resources"


def xentop(host: SimHost, args: list[str]) -> SimResult:
    options = _options(args)
    if isinstance(options, SimResult):
        return options
    batch, full_name, iterations, delay = options
    state = host.store.read()
    if "xen-tools" not in state["packages"]:
        return fail(127, "xentop: Command not found.")
    if not state["xen_running"]:
        return fail(1, "Failed to initialize xenstat library")
    if not batch:
        # Without -b xentop starts curses, which needs a terminal the panel never gives it.
        return fail(1, "Error opening terminal: unknown.")
    now = host.now()
    out: list[str] = []
    for k in range(iterations):
        at = now - (iterations - 1 - k) * delay
        previous = at - delay if k > 0 else None
        out.extend(_table(state, at, previous, delay, full_name))
    return ok("".join(f"{line}\n" for line in out))


def _options(args: list[str]) -> tuple[bool, bool, int, int] | SimResult:
    batch = full_name = False
    iterations, delay = 0, 3  # xentop.c: no -i runs until interrupted; the sim then prints one
    words = list(args)
    while words:
        word = words.pop(0)
        if word in ("-b", "--batch"):
            batch = True
        elif word in ("-f", "--full-name"):
            full_name = True
        elif word in ("-z", "--dom0-first"):
            pass
        elif word in ("-i", "--iterations", "-d", "--delay") or word[:2] in ("-i", "-d"):
            value = word[2:] if len(word) > 2 and not word.startswith("--") else None
            if value is None:
                if not words:
                    return fail(1, f"xentop: option requires an argument -- '{word[-1]}'", _USAGE)
                value = words.pop(0)
            number = int(value) if value.isdigit() else 0  # atoi()
            if word.startswith(("-i", "--iterations")):
                iterations = number
            elif number > 0:
                delay = number
        else:
            return fail(1, f"xentop: invalid option -- '{word.lstrip('-')[:1]}'", _USAGE)
    return batch, full_name, max(iterations, 1), delay


def _table(
    state: State, at: float, previous: float | None, delay: int, full_name: bool
) -> list[str]:
    rows = [_dom0_row(state, at, previous, delay)]
    for dom in domains.domus(state):
        rows.append(_domu_row(state, dom, at, previous, delay))
    rows.sort(key=lambda r: str(r["NAME"]).lower())
    widths = dict(COLUMNS)
    if full_name:
        widths["NAME"] = max([10, *(len(str(r["NAME"])) for r in rows)])
    for column in _GROWING:
        widths[column] = max([widths[column], *(_digits(int(r[column]) + 1) for r in rows)])
    header = " ".join(f"{name:>{widths[name]}}" for name, _ in COLUMNS)
    return [header, *(_line(r, widths, full_name) for r in rows)]


def _digits(n: int) -> int:
    return int(math.log10(n) + 1)  # INT_FIELD_WIDTH


def _line(row: dict[str, Any], w: dict[str, int], full_name: bool) -> str:
    name = str(row["NAME"])
    cells = [f"{name:>{w['NAME']}}" if full_name else f"{name[:10]:>10}", f"{row['STATE']}"]
    cells.append(f"{row['CPU(sec)']:>10}")
    cells.append(f"{row['CPU(%)']:>6.1f}")
    cells.append(f"{row['MEM(k)']:>10}")
    cells.append(f"{row['MEM(%)']:>6.1f}")
    if row["MAXMEM(k)"] is None:
        cells += [f"{'no limit':>10}", f"{'n/a':>9}"]
    else:
        cells += [f"{row['MAXMEM(k)']:>10}", f"{row['MAXMEM(%)']:>9.1f}"]
    cells += [f"{row['VCPUS']:>5}", f"{row['NETS']:>4}"]
    cells += [f"{row[c]:>{w[c]}}" for c in ("NETTX(k)", "NETRX(k)")]
    cells += [f"{row['VBDS']:>4}", f"{row['VBD_OO']:>8}"]
    cells += [f"{row[c]:>{w[c]}}" for c in ("VBD_RD", "VBD_WR", "VBD_RSECT", "VBD_WSECT")]
    cells.append(f"{row['SSID']:>4}")
    return " ".join(cells)


def _pct(part: float, whole: float) -> float:
    return 100.0 * part / whole if whole else 0.0


def _dom0_row(state: State, at: float, previous: float | None, delay: int) -> dict[str, Any]:
    cpu = domains.dom0_cpu_seconds(state, at)
    before = domains.dom0_cpu_seconds(state, previous) if previous is not None else cpu
    mem_k = state["dom0_mem_mib"] * 1024
    return {
        "NAME": "Domain-0",
        "STATE": "-----r",
        "CPU(sec)": int(cpu),
        "CPU(%)": _pct(cpu - before, delay),
        "MEM(k)": mem_k,
        "MEM(%)": _pct(mem_k, state["total_mem_mib"] * 1024),
        "MAXMEM(k)": None,
        "VCPUS": state["dom0_vcpus"],
        **_io({}, 0, 0),
    }


def _domu_row(
    state: State, dom: dict[str, Any], at: float, previous: float | None, delay: int
) -> dict[str, Any]:
    now = load.counters(state, dom, at)
    before = load.counters(state, dom, previous) if previous is not None else now
    total_k = state["total_mem_mib"] * 1024
    mem_k, max_k = dom["memory"] * 1024, dom.get("maxmem", dom["memory"]) * 1024
    return {
        "NAME": dom["name"],
        "STATE": _letters(dom, at),
        "CPU(sec)": int(now["cpu_seconds"]),
        "CPU(%)": _pct(now["cpu_seconds"] - before["cpu_seconds"], delay),
        "MEM(k)": mem_k,
        "MEM(%)": _pct(mem_k, total_k),
        "MAXMEM(k)": max_k,
        "MAXMEM(%)": _pct(max_k, total_k),
        "VCPUS": dom["vcpus"],
        **_io(now, len(dom.get("nics", [])), len(dom.get("disks", []))),
    }


def _io(c: dict[str, float], nets: int, vbds: int) -> dict[str, Any]:
    read_k, write_k = int(c.get("read_kib", 0)), int(c.get("write_kib", 0))
    return {
        "NETS": nets,
        "NETTX(k)": int(c.get("net_tx_kib", 0)),
        "NETRX(k)": int(c.get("net_rx_kib", 0)),
        "VBDS": vbds,
        "VBD_OO": 0,
        "VBD_RD": read_k // _KIB_PER_REQUEST,
        "VBD_WR": write_k // _KIB_PER_REQUEST,
        "VBD_RSECT": read_k * _SECTORS_PER_KIB,
        "VBD_WSECT": write_k * _SECTORS_PER_KIB,
        "SSID": 0,
    }


def _letters(dom: dict[str, Any], at: float) -> str:
    """xentop's flag order is d s b c p r (xl list's is r b p s c d)."""
    xl = domains.state_letters(dom, at)  # "-b----"; a shut-down one "---s<reason>-"
    running, blocked, paused = (c != "-" for c in xl[:3])
    crashed = xl[3] == "s" and xl[4] == "c"  # libxenstat: crashed = shutdown for crash
    shutdown = xl[3] == "s" and not crashed
    flags = ("-", "s" if shutdown else "-", "b" if blocked else "-", "c" if crashed else "-")
    return "".join(flags) + ("p" if paused else "-") + ("r" if running else "-")


TOOLS = {"xentop": lambda host, args, stdin: xentop(host, args)}
