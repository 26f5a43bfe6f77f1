"""Parse `xentop -b` (batch mode) output into typed rows (issue 16 metrics).

Format (Xen tools/xentop/xentop.c; columns and units in docs/day2-cli-facts.md, "Metrics"):
batch mode prints no summary; each iteration prints the header line, then one line per domain,
fields separated by one space and right-aligned to their width, sorted by name. The name is
`%10.10s` (truncated) unless `-f` is given (then right-aligned to the longest name). MAXMEM(k)
is the two words `no limit` for a domain without a memory limit, MAXMEM(%) then `n/a`; the
VBD_* request columns are `-` when every disk of the domain failed to report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dom0 import errors

#: The columns of Xen 4.x xentop, in order (the header is read, so an older or newer set works
#: as long as NAME comes first and a row has one value per header word).
XENTOP_COLUMNS = (
    "NAME",
    "STATE",
    "CPU(sec)",
    "CPU(%)",
    "MEM(k)",
    "MEM(%)",
    "MAXMEM(k)",
    "MAXMEM(%)",
    "VCPUS",
    "NETS",
    "NETTX(k)",
    "NETRX(k)",
    "VBDS",
    "VBD_OO",
    "VBD_RD",
    "VBD_WR",
    "VBD_RSECT",
    "VBD_WSECT",
    "SSID",
)
DOM0_NAME = "Domain-0"
_NO_LIMIT = "no limit"
_REQUIRED = ("NAME", "STATE", "CPU(sec)", "CPU(%)", "MEM(k)", "VCPUS")


@dataclass(frozen=True)
class XentopRow:
    name: str
    state: str  # six letters or dashes: d s b c p r (dying shutdown blocked crashed paused running)
    cpu_seconds: int  # cumulative CPU time, whole seconds
    cpu_pct: float | None  # percent of ONE physical CPU over the last delay (a 4-vCPU domU: ≤400)
    mem_kib: int | None
    maxmem_kib: int | None  # None: "no limit"
    vcpus: int | None
    nets: int | None  # number of vifs whose counters are included (0 on FreeBSD: not collected)
    nettx_kib: int | None  # cumulative KiB sent by the domain (all its vifs)
    netrx_kib: int | None
    vbds: int | None  # number of disks whose counters are included (0 on FreeBSD)
    vbd_rd: int | None  # cumulative read requests (all disks)
    vbd_wr: int | None
    vbd_rsect: int | None  # cumulative 512-byte sectors read
    vbd_wsect: int | None

    @property
    def is_dom0(self) -> bool:
        return self.name == DOM0_NAME


_FIELDS = {
    "CPU(sec)": "cpu_seconds",
    "CPU(%)": "cpu_pct",
    "MEM(k)": "mem_kib",
    "MAXMEM(k)": "maxmem_kib",
    "VCPUS": "vcpus",
    "NETS": "nets",
    "NETTX(k)": "nettx_kib",
    "NETRX(k)": "netrx_kib",
    "VBDS": "vbds",
    "VBD_RD": "vbd_rd",
    "VBD_WR": "vbd_wr",
    "VBD_RSECT": "vbd_rsect",
    "VBD_WSECT": "vbd_wsect",
}


def parse_xentop(text: str) -> list[XentopRow]:
    """Return the rows of the LAST iteration (`-i 2`: the one whose CPU(%) is measured).

    Raises ParseError on output without a header or with a row that does not fit the header.
    """
    iterations = split_iterations(text)
    if not iterations:
        raise errors.ParseError(f"xentop: no header line in the output: {text[:200]!r}")
    header, lines = iterations[-1]
    return [_row(header, line) for line in lines]


def split_iterations(text: str) -> list[tuple[list[str], list[str]]]:
    """Split batch output into (header words, row lines) per iteration."""
    out: list[tuple[list[str], list[str]]] = []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "NAME" and "STATE" in words:
            missing = [c for c in _REQUIRED if c not in words]
            if missing:
                raise errors.ParseError(f"xentop: header lacks {', '.join(missing)}: {line!r}")
            out.append((words, []))
        elif out:
            out[-1][1].append(line)
        else:
            raise errors.ParseError(f"xentop: a row before the header: {line!r}")
    return out


def _row(header: list[str], line: str) -> XentopRow:
    line = _join_no_limit(header, line)
    # Split from the right: the name (first column) is the only one that may hold spaces.
    cells = line.strip().rsplit(None, len(header) - 1)
    if len(cells) != len(header):
        raise errors.ParseError(
            f"xentop: expected {len(header)} columns, got {len(cells)}: {line!r}"
        )
    values = dict(zip(header, cells, strict=True))
    state = values["STATE"]
    if len(state) != 6 or any(c not in "-dsbcpr" for c in state):
        raise errors.ParseError(f"xentop: not a state {state!r} in {line!r}")
    parsed: dict[str, int | float | None] = {}
    for column, attr in _FIELDS.items():
        raw = values.get(column)
        parsed[attr] = None if raw is None else _number(column, raw, line)
    cpu_seconds = parsed.pop("cpu_seconds")
    if cpu_seconds is None:
        raise errors.ParseError(f"xentop: no CPU(sec) in {line!r}")
    cpu_pct = parsed.pop("cpu_pct")
    return XentopRow(
        name=values["NAME"],
        state=state,
        cpu_seconds=int(cpu_seconds),
        cpu_pct=None if cpu_pct is None else float(cpu_pct),
        **{k: None if v is None else int(v) for k, v in parsed.items()},
    )


def _join_no_limit(header: list[str], line: str) -> str:
    """Make MAXMEM(k)'s two-word `no limit` one word, without touching a name holding it."""
    if "MAXMEM(k)" not in header:
        return line
    at = line.rfind(_NO_LIMIT)
    if at < 0:
        return line
    after = len(header) - 1 - header.index("MAXMEM(k)")
    if len(line[at + len(_NO_LIMIT) :].split()) != after:
        return line  # "no limit" is part of the name; MAXMEM(k) is a number
    return f"{line[:at]}no-limit{line[at + len(_NO_LIMIT) :]}"


def _number(column: str, raw: str, line: str) -> int | float | None:
    if raw in ("-", "n/a", "no-limit"):
        return None
    try:
        value = float(raw) if "." in raw or raw.lower() in ("nan", "inf", "-nan") else int(raw)
    except ValueError:
        raise errors.ParseError(
            f"xentop: column {column} is not a number: {raw!r} in {line!r}"
        ) from None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
