"""Stable MAC addresses for domU NICs: chosen once in Xen's OUI, unique across the panel.

Without a `mac=` in the vif spec xl picks a random address at every `xl create`, so DHCP
reservations break after Finish install or a restart. The panel writes one into every vif it
renders and keeps it in DomainNic (unique), so a clone, restore or edit never reuses one.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

#: Xen's organisationally unique identifier (xl.cfg(5), vif `mac`): 00:16:3e.
XEN_OUI = "00:16:3e"
MAC_RE = re.compile(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}")


def normalise(mac: str) -> str:
    """Return the lower-case colon form of a MAC, e.g. `00:16:3e:0a:1b:2c`."""
    return mac.strip().lower().replace("-", ":")


def random_mac() -> str:
    """Return a random address in Xen's OUI (the last three octets random)."""
    tail = secrets.token_bytes(3)
    return XEN_OUI + "".join(f":{b:02x}" for b in tail)


def allocate(taken: Iterable[str], count: int = 1) -> list[str]:
    """Return `count` new MACs in Xen's OUI that are not in `taken` nor repeat each other."""
    used = {normalise(m) for m in taken}
    out: list[str] = []
    while len(out) < count:
        mac = random_mac()
        if mac not in used:
            used.add(mac)
            out.append(mac)
    return out


def allocate_for_panel(count: int = 1, *, also_taken: Iterable[str] = ()) -> list[str]:
    """Return `count` MACs no DomainNic of the panel holds (nor `also_taken`)."""
    from domains.models import DomainNic

    taken = set(DomainNic.objects.values_list("mac", flat=True)) | set(also_taken)
    return allocate(taken, count)
