"""The QEMU command line of a simulated domU's console (what `vncserver --qemu ISO` runs).

QEMU gets the domU's own memory, so the guest sees the size the panel configured (memtest on a
512 MiB domU shows 512 MiB), capped so a demo of several domUs fits on a small machine.
"""

from __future__ import annotations

#: The most one demo QEMU gets, in MiB: a 16 GiB domU still boots on a laptop.
DEMO_MEMORY_CAP_MIB = 1024
#: What QEMU gets when the domain record has no memory (an older state file).
DEFAULT_MEMORY_MIB = 128


def memory_mib(memory: object) -> int:
    """Return the MiB QEMU runs with: the domU's memory, at most DEMO_MEMORY_CAP_MIB."""
    try:
        wanted = int(memory) if isinstance(memory, int | float | str) else int(str(memory))
    except (TypeError, ValueError):
        return DEFAULT_MEMORY_MIB
    if wanted <= 0:
        return DEFAULT_MEMORY_MIB
    return min(wanted, DEMO_MEMORY_CAP_MIB)


def base_argv(binary: str, name: str, memory: object, iso: str) -> list[str]:
    """Return QEMU's argv up to the VNC options: the domU's name and memory, booting `iso`."""
    return [binary, "-name", name, "-m", str(memory_mib(memory)), "-boot", "d", "-cdrom", iso]
