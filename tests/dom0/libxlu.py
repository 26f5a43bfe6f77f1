"""Read xl config text with libxlutil itself (xl's config library, Debian's libxen-dev), by ctypes.

`read(text)` returns what libxlu makes of a text: refused (with its message) or the value of
each asked key, as strings and nested lists of strings (libxlu keeps numbers as their text).
`missing_reason()` says why the library cannot be used here, or None.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from dataclasses import dataclass, field
from functools import cache

HEADER = "/usr/include/libxlutil.h"
LIBRARY = "libxlutil.so"
Tree = str | list["Tree"]

c_p = ctypes.c_void_p


@dataclass
class Reading:
    """libxlu's verdict: `error` is its report (e.g. `config:2: config parsing error ...`)."""

    ok: bool
    error: str = ""
    values: dict[str, Tree] = field(default_factory=dict)


def missing_reason() -> str | None:
    if not os.path.exists(HEADER):
        return f"{HEADER} is absent: install libxen-dev (scripts/system-packages.sh test)"
    try:
        _libs()
    except OSError as exc:
        return f"{LIBRARY} cannot be loaded: {exc}"
    return None


@cache
def _libs() -> tuple[ctypes.CDLL, ctypes.CDLL]:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    xlu = ctypes.CDLL(LIBRARY)
    libc.tmpfile.restype = c_p
    libc.fflush.argtypes = [c_p]
    libc.rewind.argtypes = [c_p]
    libc.fclose.argtypes = [c_p]
    libc.fread.argtypes = [c_p, ctypes.c_size_t, ctypes.c_size_t, c_p]
    libc.free.argtypes = [c_p]
    xlu.xlu_cfg_init.restype = c_p
    xlu.xlu_cfg_init.argtypes = [c_p, ctypes.c_char_p]
    xlu.xlu_cfg_readdata.argtypes = [c_p, ctypes.c_char_p, ctypes.c_int]
    xlu.xlu_cfg_destroy.argtypes = [c_p]
    xlu.xlu_cfg_get_string.argtypes = [c_p, ctypes.c_char_p, ctypes.POINTER(c_p), ctypes.c_int]
    xlu.xlu_cfg_get_list.argtypes = [
        c_p,
        ctypes.c_char_p,
        ctypes.POINTER(c_p),
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    xlu.xlu_cfg_get_listitem2.restype = c_p
    xlu.xlu_cfg_get_listitem2.argtypes = [c_p, ctypes.c_int]
    xlu.xlu_cfg_value_type.argtypes = [c_p]
    xlu.xlu_cfg_value_get_string.argtypes = [c_p, c_p, ctypes.POINTER(c_p), ctypes.c_int]
    xlu.xlu_cfg_value_get_list.argtypes = [c_p, c_p, ctypes.POINTER(c_p), ctypes.c_int]
    return libc, xlu


def read(text: str, keys: list[str] | set[str]) -> Reading:
    """Parse `text` with libxlu; on success return the value of each of `keys` it holds."""
    libc, xlu = _libs()
    report = libc.tmpfile()
    cfg = xlu.xlu_cfg_init(report, b"config")
    try:
        data = text.encode()
        if xlu.xlu_cfg_readdata(cfg, data, len(data)) != 0:
            return Reading(ok=False, error=_drain(libc, report))
        values = {}
        for key in sorted(keys):
            value = _get(xlu, cfg, key)
            if value is not None:
                values[key] = value
        return Reading(ok=True, values=values)
    finally:
        xlu.xlu_cfg_destroy(cfg)
        libc.fclose(report)


def _drain(libc: ctypes.CDLL, report: int) -> str:
    libc.fflush(report)
    libc.rewind(report)
    buf = ctypes.create_string_buffer(65536)
    n = libc.fread(buf, 1, len(buf), report)
    return buf.raw[:n].decode("utf-8", "replace")


def _get(xlu: ctypes.CDLL, cfg: int, key: str) -> Tree | None:
    out = c_p()
    rc = xlu.xlu_cfg_get_string(cfg, key.encode(), ctypes.byref(out), 1)
    if rc == 0:
        return ctypes.string_at(out.value).decode() if out.value else ""
    if rc == errno.ESRCH:
        return None
    lst, count = c_p(), ctypes.c_int()
    rc = xlu.xlu_cfg_get_list(cfg, key.encode(), ctypes.byref(lst), ctypes.byref(count), 1)
    assert rc == 0, f"libxlu: {key} is neither a string nor a list (rc {rc})"
    return _items(xlu, cfg, lst.value)


def _items(xlu: ctypes.CDLL, cfg: int, lst: int | None) -> list[Tree]:
    items: list[Tree] = []
    while lst and (item := xlu.xlu_cfg_get_listitem2(lst, len(items))):
        out = c_p()
        if xlu.xlu_cfg_value_type(item) == 0:  # XLU_STRING
            assert xlu.xlu_cfg_value_get_string(cfg, item, ctypes.byref(out), 1) == 0
            items.append(ctypes.string_at(out.value).decode() if out.value else "")
        else:
            assert xlu.xlu_cfg_value_get_list(cfg, item, ctypes.byref(out), 1) == 0
            items.append(_items(xlu, cfg, out.value))
    return items


def strtol0(text: str) -> int | None:
    """C's `strtol(text, &end, 0)` when it reads all of `text` without overflow (errno)."""
    libc, _ = _libs()
    libc.strtol.restype = ctypes.c_long
    libc.strtol.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]
    raw = text.encode()
    end = ctypes.c_char_p()
    ctypes.set_errno(0)
    value = libc.strtol(raw, ctypes.byref(end), 0)
    consumed = len(raw) - len(end.value or b"")
    if not raw or consumed != len(raw) or ctypes.get_errno() != 0:
        return None
    return value
