"""Change some keys of an existing xl config file in place, keeping everything else as it is.

A hand-written file the panel imported carries the user's comments, order and spelling; an edit
that changes two keys (Finish install drops the cdrom from `disk`) rewrites only the statements
of those keys, removes the statements of keys that are gone, and appends new keys at the end.
A key counts as unchanged when xl would read the same thing (`"1024"` and `1024` are the same
memory; a disk or vif spec in the old positional form equals its modern rendering).
"""

from __future__ import annotations

from collections.abc import Mapping

from dom0.xlcfg.disks import DiskSpecError, parse_disk
from dom0.xlcfg.domain import DomainConfig, guest_type
from dom0.xlcfg.render import render
from dom0.xlcfg.syntax import Statement, Value, _strtol0, parse, statements
from dom0.xlcfg.vifs import parse_vif

_SPEC_PARSERS = {"disk": parse_disk, "vif": parse_vif}


def same_value(key: str, old: Value | None, new: Value | None) -> bool:
    """Say whether xl reads `old` and `new` alike for `key`."""
    if old == new:
        return True
    if (
        isinstance(old, str)
        and isinstance(new, int)
        or isinstance(old, int)
        and isinstance(new, str)
    ):
        return _as_number(old) == _as_number(new)
    reader = _SPEC_PARSERS.get(key)
    if reader is None or not isinstance(old, list) or not isinstance(new, list):
        return False
    if len(old) != len(new) or not all(isinstance(v, str) for v in [*old, *new]):
        return False
    try:
        return [reader(v) for v in old] == [reader(v) for v in new]  # type: ignore[arg-type]
    except DiskSpecError:
        return False


def _as_number(value: Value) -> int | None:
    return value if isinstance(value, int) else _strtol0(value) if isinstance(value, str) else None


def edit(text: str, settings: Mapping[str, Value], *, source: str = "config") -> str:
    """Return `text` changed to say `settings`, touching only the keys whose value changed.

    `parse(edit(text, s)) == s` up to `same_value`. Statements of changed keys are replaced
    where their first statement stands (later `+=` statements are removed), keys not in
    `settings` are removed, and new keys are appended in `settings`' order.
    """
    old = parse(text, source=source)
    by_key: dict[str, list[Statement]] = {}
    for stmt in statements(text, source):
        by_key.setdefault(stmt.key, []).append(stmt)
    edits: list[tuple[int, int, str]] = []
    for key, stmts in by_key.items():
        if key not in settings:
            edits += [(s.start, s.end, "") for s in stmts]
        elif not same_value(key, old[key], settings[key]):
            value = _keep_old_items(key, old[key], settings[key])
            edits.append((stmts[0].start, stmts[0].end, _statement(key, value)))
            edits += [(s.start, s.end, "") for s in stmts[1:]]
    out = text
    for start, end, replacement in sorted(edits, reverse=True):
        out = out[:start] + replacement + out[end:]
        if not replacement:
            out = _drop_blank_line(out, start)
    added = {k: v for k, v in settings.items() if k not in old}
    if added:
        if out and not out.endswith("\n"):
            out += "\n"
        out += render(added, header=None)
    return out


def _keep_old_items(key: str, old: Value, new: Value) -> Value:
    """Keep the user's spelling of each disk or vif spec that did not change."""
    reader = _SPEC_PARSERS.get(key)
    if reader is None or not isinstance(old, list) or not isinstance(new, list):
        return new
    spelled: dict[object, str] = {}
    for item in old:
        try:
            spelled.setdefault(reader(item), item)  # type: ignore[arg-type]
        except (DiskSpecError, TypeError):
            continue
    out: list[Value] = []
    for item in new:
        try:
            out.append(spelled.get(reader(item), item) if isinstance(item, str) else item)
        except DiskSpecError:
            out.append(item)
    return out


def _statement(key: str, value: Value) -> str:
    return render({key: value}, header=None).removesuffix("\n")


def _drop_blank_line(text: str, at: int) -> str:
    """Remove the line around `at` when a removal left only blanks and `;` on it."""
    begin = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    end = len(text) if end < 0 else end + 1
    if text[begin:end].strip(" \t;\n") == "":
        return text[:begin] + text[end:]
    return text


def edit_config(text: str, cfg: DomainConfig, *, source: str = "config") -> str:
    """Return `text` changed to describe `cfg` (see `edit`); an old `builder` key is kept
    while it still means `cfg`'s type, rather than swapped for `type`."""
    settings = cfg.to_settings()
    old = parse(text, source=source)
    if "type" not in old and "builder" in old:
        kind = settings.pop("type")
        if guest_type(old) != kind:
            settings = {"type": kind, **settings}
        else:
            settings = {"builder": old["builder"], **settings}
    return edit(text, settings, source=source)
