"""Objects are named the way people name them (web1, xen1, the ISO's file name); the API
addresses them by code. A UUID is taken as it is; a name is looked up among what you may see."""

from __future__ import annotations

import uuid
from typing import Any

from xenpanel_cli.client import Api


class CliError(Exception):
    """A mistake on the command line or an object that cannot be found: exit status 2."""


#: collection -> (what to call it, the keys a name may match)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "hosts": ("host", ("name",)),
    "domains": ("domU", ("name",)),
    "volumes": ("volume", ("name", "dataset")),
    "isos": ("ISO image", ("file_name",)),
}


def is_code(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def volume_name(row: dict[str, Any]) -> str:
    return str(row.get("name") or str(row.get("dataset", "")).rsplit("/", 1)[-1])


def matches(row: dict[str, Any], keys: tuple[str, ...], ref: str) -> bool:
    if "name" in keys and "dataset" in keys:  # a volume: its short name or its dataset
        return ref in (volume_name(row), row.get("dataset"))
    return any(row.get(key) == ref for key in keys)


def find(api: Api, collection: str, ref: str, *, host: str | None = None) -> dict[str, Any]:
    """The one object of `collection` called `ref` (on `host`, a code, if given)."""
    what, keys = KINDS[collection]
    if is_code(ref):
        return dict(api.get(f"{collection}/{ref}/"))
    query: dict[str, Any] = {"search": ref}
    if host and collection != "hosts":
        query["host"] = host
    found = [row for row in api.each(f"{collection}/", **query) if matches(row, keys, ref)]
    if host and collection != "hosts":
        found = [row for row in found if host_code(row) in (None, host)]
    if not found:
        where = " on that host" if host and collection != "hosts" else ""
        raise CliError(f"no {what} called {ref!r}{where} among those you may see")
    if len(found) > 1:
        listed = ", ".join(f"{host_label(r)} ({r.get('code')})" for r in found[:5])
        raise CliError(f"several {what}s are called {ref!r}: {listed}; give --host or the code")
    return found[0]


def detail(api: Api, collection: str, ref: str, *, host: str | None = None) -> dict[str, Any]:
    """The whole representation of the object (a list row may carry fewer fields)."""
    code = ref if is_code(ref) else str(find(api, collection, ref, host=host)["code"])
    return dict(api.get(f"{collection}/{code}/"))


def host_code(row: dict[str, Any]) -> str | None:
    """The code of the row's host (a code, or a nested object), None when it does not say."""
    host = row.get("host")
    if isinstance(host, dict):
        return str(host.get("code")) if host.get("code") else None
    return str(host) if host else None


def host_label(row: dict[str, Any]) -> str:
    host = row.get("host")
    if isinstance(host, dict):
        return str(host.get("name") or host.get("code"))
    return str(row.get("host_name") or host or "?")


def code_of(api: Api, collection: str, ref: str, *, host: str | None = None) -> str:
    return ref if is_code(ref) else str(find(api, collection, ref, host=host)["code"])
