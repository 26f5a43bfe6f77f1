"""Issue 17 item 11: the demo's QEMU runs with the domU's memory, capped for the demo machine."""

from __future__ import annotations

import pytest

from dom0.sim import qemu


@pytest.mark.parametrize(
    ("memory", "expected"),
    [(512, 512), (1024, 1024), (4096, 1024), (64, 64), (None, 128), ("x", 128), (0, 128)],
)
def test_qemu_gets_the_domus_memory_capped(memory: object, expected: int) -> None:
    assert qemu.memory_mib(memory) == expected


def test_the_argv_names_the_domu_its_memory_and_its_iso() -> None:
    argv = qemu.base_argv("/usr/bin/qemu-system-x86_64", "web1", 512, "/tmp/boot.iso")
    assert argv == [
        "/usr/bin/qemu-system-x86_64",
        *("-name", "web1", "-m", "512", "-boot", "d", "-cdrom", "/tmp/boot.iso"),
    ]
    assert qemu.base_argv("q", "big", 16384, "i.iso")[4] == str(qemu.DEMO_MEMORY_CAP_MIB)
