"""The volume and ISO image lists of the Storage page and the ISO library, a page at a time.

Both read their search, filters (host, owner, team, state), sort and page from the URL through
`accounts.listing.Listing`, and load each row's host without its `facts`/`readiness` JSON (a
list shows only the host's name: decoding a whole `xl list` per row was most of a big page's
time, issue 16).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest

from accounts import access
from accounts.listing import Listing, filter_owned
from dom0.units import binary_size
from hosts.models import Host
from storage.models import IsoImage, Volume

#: What a row needs of its host: its name and link, never the facts.
HOST_HEAVY = ("host__facts", "host__readiness")

VOLUME_SORTS = {
    "dataset": ("dataset",),
    "host": ("host__name", "dataset"),
    "size": ("size_bytes", "dataset"),
    "used": ("used_bytes", "dataset"),
    "state": ("state", "dataset"),
    "owner": ("owner__username", "dataset"),
}
ISO_SORTS = {
    "name": ("file_name",),
    "host": ("host__name", "file_name"),
    "size": ("size_bytes", "file_name"),
    "source": ("source", "file_name"),
    "state": ("state", "file_name"),
    "owner": ("owner__username", "file_name"),
}
#: The filters the lists share (the Storage page has one form for both).
OWNED_FILTERS = ("q", "host", "owner", "team", "state")


def chosen_host(request: HttpRequest, hosts: list[Host]) -> Host | None:
    chosen = request.GET.get("host", "")
    return next((h for h in hosts if str(h.code) == chosen), None)


def volume_listing(request: HttpRequest, *, prefix: str = "") -> Listing:
    return Listing(
        request, filters=OWNED_FILTERS, sorts=VOLUME_SORTS, default="host", prefix=prefix
    )


def iso_listing(request: HttpRequest, *, prefix: str = "") -> Listing:
    return Listing(request, filters=OWNED_FILTERS, sorts=ISO_SORTS, default="host", prefix=prefix)


def volumes_for(request: HttpRequest, listing: Listing, host: Host | None) -> QuerySet[Volume]:
    """The volumes the user may see that match the listing's filters (not yet ordered)."""
    qs = Volume.objects.select_related("host", "owner").defer(*HOST_HEAVY)
    qs = filter_owned(access.owned_for_user(qs, request.user), listing)
    if host is not None:
        qs = qs.filter(host=host)
    if listing.q:
        qs = qs.filter(dataset__icontains=listing.q)
    if listing.params.get("state") in Volume.State.values:
        qs = qs.filter(state=listing.params["state"])
    return qs


def isos_for(request: HttpRequest, listing: Listing, host: Host | None) -> QuerySet[IsoImage]:
    """The images the user may see that match the listing's filters (not yet ordered)."""
    qs = IsoImage.objects.select_related("host", "owner").defer(*HOST_HEAVY)
    qs = filter_owned(access.owned_for_user(qs, request.user), listing)
    if host is not None:
        qs = qs.filter(host=host)
    if listing.q:
        qs = qs.filter(Q(file_name__icontains=listing.q) | Q(sha256__istartswith=listing.q))
    if listing.params.get("state") in IsoImage.State.values:
        qs = qs.filter(state=listing.params["state"])
    return qs


def state_choices(*models: type[Volume] | type[IsoImage]) -> list[tuple[str, str]]:
    """The states of the models listed, each once, in their own order (for the state filter)."""
    seen: dict[str, str] = {}
    for model in models:
        for value, label in model.State.choices:
            seen.setdefault(value, str(label))
    return list(seen.items())


def totals(qs: QuerySet[Any]) -> dict[str, Any]:
    """How many rows match and their total size, over every page (one query)."""
    got = qs.order_by().aggregate(n=Count("pk"), size=Sum("size_bytes"))
    return {"count": got["n"], "size": binary_size(got["size"] or 0)}
