"""Keep Domain rows in step with their config versions and with what `xl list` shows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Max
from django.utils import timezone

from dom0.errors import ParseError
from domains import cfg
from domains.models import Domain, DomainConfigVersion, DomainState
from storage.models import IsoImage, Volume

#: `xl list` states (dom0.parsers.DomainState values) to ours; "runnable" is running.
_STATES = {
    "running": DomainState.RUNNING,
    "runnable": DomainState.RUNNING,
    "blocked": DomainState.BLOCKED,
    "paused": DomainState.PAUSED,
    "shutdown": DomainState.SHUTDOWN,
    "crashed": DomainState.CRASHED,
    "dying": DomainState.DYING,
}
_OBSERVED = ["state", "state_letters", "domid", "cpu_seconds", "mem_mib", "last_seen_at"]


def state_of(row: Mapping[str, Any]) -> str:
    return _STATES.get(str(row.get("state")), DomainState.UNKNOWN)


def current_version(domain: Domain) -> DomainConfigVersion | None:
    return domain.versions.order_by("-number").first()


def current_text(domain: Domain) -> str:
    version = current_version(domain)
    if version is None:
        raise ParseError(f"{domain.name} has no stored configuration")
    return version.text


def add_version(
    domain: Domain, text: str, *, author: Any = None, note: str = ""
) -> DomainConfigVersion:
    """Store `text` as the domU's next config version and update its fields from it."""
    top = domain.versions.aggregate(top=Max("number"))["top"] or 0
    version = DomainConfigVersion.objects.create(
        domain=domain,
        number=top + 1,
        text=text,
        author=author if getattr(author, "is_authenticated", False) else None,
        note=note[:200],
    )
    sync_fields(domain, text)
    return version


def sync_fields(domain: Domain, text: str) -> None:
    """Set the row's summary fields (memory, disks, VNC...) from a config text."""
    try:
        values = cfg.summary(cfg.parse(text))
    except ParseError:
        return
    disk_path, iso_path = values.pop("disk_path"), values.pop("iso_path")
    display = values["vnc_display"]
    if display is not None and (
        Domain.objects.filter(host=domain.host_id, vnc_display=display)
        .exclude(pk=domain.pk)
        .exists()
    ):
        values["vnc_display"] = None  # an imported config clashing with one we handed out
    for key, value in values.items():
        setattr(domain, key, value)
    domain.volume = _volume_at(domain, disk_path)
    domain.iso = _iso_at(domain, iso_path)
    domain.save()


def _volume_at(domain: Domain, path: Any) -> Volume | None:
    if not isinstance(path, str) or not path.startswith("/dev/zvol/"):
        return None
    dataset = path.removeprefix("/dev/zvol/")
    return Volume.objects.filter(host=domain.host_id, dataset=dataset).first()


def _iso_at(domain: Domain, path: Any) -> IsoImage | None:
    if not isinstance(path, str):
        return None
    for iso in IsoImage.objects.filter(host=domain.host_id).select_related("host"):
        if iso.path == path:
            return iso
    return None


def never_made(domain: Domain) -> bool:
    """Say whether the domU's create stopped before its new volume was made (a cancelled job).

    Nothing of it exists on the host and its config names a disk that does not: Start cannot
    work, Delete can.
    """
    volume = domain.volume
    return volume is not None and volume.state == Volume.State.CREATING


def apply_rows(host_id: int, rows: Iterable[Mapping[str, Any]]) -> list[Domain]:
    """Write the observed state of every managed domU on a host from one `xl list`."""
    by_name = {str(r["name"]): r for r in rows if r.get("domid") != 0}
    now = timezone.now()
    domains = list(Domain.objects.filter(host_id=host_id))
    for domain in domains:
        row = by_name.get(domain.name)
        if row is None:
            domain.state, domain.state_letters, domain.domid = DomainState.NOT_RUNNING, "", None
            domain.cpu_seconds = domain.mem_mib = None
            continue
        domain.state = state_of(row)
        domain.state_letters = str(row.get("state_letters", ""))
        domain.domid = row.get("domid")
        domain.cpu_seconds = row.get("cpu_seconds")
        domain.mem_mib = row.get("mem_mib")
        domain.last_seen_at = now
    Domain.objects.bulk_update(domains, _OBSERVED)
    return domains
