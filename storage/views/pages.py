"""The Storage page: every host's ZFS pools, and the volumes and ISO images the user may see."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts import access
from dom0.units import binary_size
from hosts import access as host_access
from storage.models import IsoImage, Pool, Volume
from storage.panel import ISO_KINDS, VOLUME_KINDS, attach_jobs, attach_uploads


def storage_index(request: HttpRequest) -> HttpResponse:
    """Pools (size, allocated, free, health), volumes and ISOs across hosts; filter and search."""
    hosts = list(host_access.hosts_for_user(request.user).only("code", "name"))
    chosen = request.GET.get("host", "")
    host = next((h for h in hosts if str(h.code) == chosen), None)
    # NUL cannot be in a PostgreSQL text value: a filter with one would be a server error.
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]

    pools = Pool.objects.select_related("host").filter(host__in=hosts)
    volumes = access.owned_for_user(Volume.objects.select_related("host", "owner"), request.user)
    isos = access.owned_for_user(IsoImage.objects.select_related("host", "owner"), request.user)
    if host is not None:
        pools, volumes, isos = (
            pools.filter(host=host),
            volumes.filter(host=host),
            isos.filter(host=host),
        )
    if query:
        pools = pools.filter(name__icontains=query)
        volumes = volumes.filter(dataset__icontains=query)
        isos = isos.filter(Q(file_name__icontains=query) | Q(sha256__istartswith=query))
    volumes_list, isos_list = list(volumes[:500]), list(isos[:500])
    active = attach_jobs(volumes_list, VOLUME_KINDS)
    active = attach_jobs(isos_list, ISO_KINDS) or active
    active = attach_uploads(isos_list) or active
    context = {
        "hosts": hosts,
        "host": host,
        "query": query,
        "pools": list(pools),
        "volumes": volumes_list,
        "isos": isos_list,
        "active": active,
        "can_operate": access.can_operate(request.user),
        "is_admin": access.is_admin(request.user),
        "totals": _totals(volumes_list, isos_list),
    }
    return render(request, "storage/index.html", context)


def _totals(volumes: list[Volume], isos: list[IsoImage]) -> dict[str, object]:
    return {
        "volumes": len(volumes),
        "volume_size": binary_size(sum(v.size_bytes or 0 for v in volumes)),
        "isos": len(isos),
        "iso_size": binary_size(sum(i.size_bytes or 0 for i in isos)),
    }
