"""The Storage page: every host's ZFS pools, and the volumes and ISO images the user may see."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts import access
from accounts.listing import team_choices
from hosts import access as host_access
from storage import lists
from storage.models import IsoImage, Pool, Volume
from storage.panel import ISO_KINDS, VOLUME_KINDS, attach_jobs, attach_uploads


def storage_index(request: HttpRequest) -> HttpResponse:
    """Pools (size, allocated, free, health), volumes and ISOs across hosts; filter and search.

    The volumes and the images are each a page of their own list (`vsort`/`vpage` and
    `isort`/`ipage` in the URL), under one form of filters.
    """
    hosts = list(host_access.hosts_for_user(request.user).only("code", "name"))
    host = lists.chosen_host(request, hosts)
    volume_list = lists.volume_listing(request, prefix="v")
    iso_list = lists.iso_listing(request, prefix="i")
    query = volume_list.q

    pools = Pool.objects.select_related("host").defer(*lists.HOST_HEAVY).filter(host__in=hosts)
    volumes = lists.volumes_for(request, volume_list, host)
    isos = lists.isos_for(request, iso_list, host)
    if host is not None:
        pools = pools.filter(host=host)
    if query:
        pools = pools.filter(name__icontains=query)
    volumes_list = list(volume_list.paginate(volumes))
    isos_list = list(iso_list.paginate(isos))
    active = attach_jobs(volumes_list, VOLUME_KINDS)
    active = attach_jobs(isos_list, ISO_KINDS) or active
    active = attach_uploads(isos_list) or active
    volume_totals, iso_totals = lists.totals(volumes), lists.totals(isos)
    context = {
        "hosts": hosts,
        "host": host,
        "query": query,
        "pools": list(pools.order_by("host__name", "name")),
        "volumes": volumes_list,
        "isos": isos_list,
        "volume_list": volume_list,
        "iso_list": iso_list,
        "listing": volume_list,
        "states": lists.state_choices(Volume, IsoImage),
        "teams": team_choices(request.user),
        "active": active,
        "can_operate": access.can_operate(request.user),
        "is_admin": access.is_admin(request.user),
        "totals": {
            "volumes": volume_totals["count"],
            "volume_size": volume_totals["size"],
            "isos": iso_totals["count"],
            "iso_size": iso_totals["size"],
        },
    }
    return render(request, "storage/index.html", context)
