"""The simulated VNC server's record of key events (what the console's send-keys menu sends)."""

from __future__ import annotations

from typing import Any

from dom0.sim import rfb

CTRL, ALT, SHIFT, F2, BACKSPACE, DELETE = 0xFFE3, 0xFFE9, 0xFFE1, 0xFFBF, 0xFF08, 0xFFFF
INFO = {
    "name": "web1",
    "domid": "1",
    "state": "RUNNING",
    "host": "xen1",
    "uptime": "0",
    "cdrom": "",
}


def _press(screen: rfb.Screen, *keys: int) -> None:
    for key in keys:
        screen.key(key, True)
    for key in reversed(keys):
        screen.key(key, False)


def test_combinations_and_events_are_recorded_and_reported() -> None:
    seen: list[dict[str, Any]] = []
    screen = rfb.Screen(INFO, seen.append)
    _press(screen, CTRL, ALT, F2)
    _press(screen, CTRL, ALT, BACKSPACE)
    _press(screen, CTRL, ALT, DELETE)
    _press(screen, 0xFF61)  # Print, alone: an event, not a combination
    _press(screen, SHIFT, ord("A"))
    record = seen[-1]
    assert record["combos"] == ["Ctrl+Alt+F2", "Ctrl+Alt+BackSpace", "Ctrl+Alt+Delete", "Shift+A"]
    assert record["events"][:6] == [[CTRL, 1], [ALT, 1], [F2, 1], [F2, 0], [ALT, 0], [CTRL, 0]]
    assert [0xFF61, 1] in record["events"] and [0xFF61, 0] in record["events"]
    assert record["ctrl_alt_del"] == 1 and record["typed"] == "A"
    assert len(seen) == 2 * (3 + 3 + 3 + 1 + 2)  # every event reaches the record


def test_the_record_keeps_only_the_newest_events() -> None:
    screen = rfb.Screen(INFO)
    for _ in range(rfb.MAX_EVENTS):
        _press(screen, ord("x"))
    with screen.lock:
        record = screen.record()
    assert len(record["events"]) == rfb.MAX_EVENTS and record["typed"].startswith("xxx")
