"""The `xl network-list` parser (re-exported by `dom0.parsers`).

Format (xen tools/xl/xl_nic.c `main_networklist`, the same in RELEASE-4.18.0): a header printed
with `"%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\\n"`, then per vif `"%-3d %-2d "`, the MAC
(`LIBXL_MAC_FMT`, lower-case hex) and `"%6d %5d %6d %5d/%-11d %-30s\\n"`: devid, backend domid,
MAC, handle, xenbus state, event channel, tx/rx ring refs and the backend's xenstore path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dom0 import errors

__all__ = ["XENBUS_STATES", "VifRow", "parse_xl_network_list"]

#: xen/include/public/io/xenbus.h `enum xenbus_state`.
XENBUS_STATES = {
    0: "unknown",
    1: "initialising",
    2: "init-wait",
    3: "initialised",
    4: "connected",
    5: "closing",
    6: "closed",
    7: "reconfiguring",
    8: "reconfigured",
}


@dataclass(frozen=True)
class VifRow:
    devid: int
    backend_id: int
    mac: str
    handle: int
    state: int
    evtch: int
    tx_ring_ref: int
    rx_ring_ref: int
    backend_path: str

    @property
    def state_name(self) -> str:
        return XENBUS_STATES.get(self.state, str(self.state))

    @property
    def connected(self) -> bool:
        return self.state == 4


_HEADER_RE = re.compile(r"Idx\s+BE\s+Mac Addr\.\s+handle\s+state\s+evt-ch\s+tx-\s*/rx-ring-ref")
_ROW_RE = re.compile(
    r"(?P<devid>-?\d+)\s+(?P<be>-?\d+)\s+(?P<mac>[0-9a-f]{2}(?::[0-9a-f]{2}){5})\s+"
    r"(?P<handle>-?\d+)\s+(?P<state>-?\d+)\s+(?P<evtch>-?\d+)\s+(?P<tx>-?\d+)/(?P<rx>-?\d+)"
    r"(?:\s+(?P<path>\S+))?"
)


def parse_xl_network_list(text: str) -> list[VifRow]:
    """Parse `xl network-list <dom>...`; the header comes once, before every domain's rows."""
    rows: list[VifRow] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or _HEADER_RE.match(stripped):
            continue
        match = _ROW_RE.fullmatch(stripped)
        if not match:
            raise errors.ParseError(f"xl network-list: unrecognised line {line!r}")
        rows.append(
            VifRow(
                devid=int(match["devid"]),
                backend_id=int(match["be"]),
                mac=match["mac"],
                handle=int(match["handle"]),
                state=int(match["state"]),
                evtch=int(match["evtch"]),
                tx_ring_ref=int(match["tx"]),
                rx_ring_ref=int(match["rx"]),
                backend_path=match["path"] or "",
            )
        )
    return rows
