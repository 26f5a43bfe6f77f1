"""What the domU pages and the API both do after their input is valid: one code path for each.

A page turns `Refused` into an error message and goes back; the API answers 409 with the same
sentence. Nothing here knows about either (no request, no messages, no redirects).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest

from accounts import access, audit, quotas
from accounts.models import AuditAction
from dom0.errors import ParseError
from domains import actions, cfg, history, records
from domains.clones import logic as clones_logic
from domains.forms import NEW, DomainForm
from domains.models import Domain, DomainConfigVersion, DomainState
from hosts import vnc_exposure
from hosts.models import Host
from jobs.models import Job
from storage.models import IsoImage, Volume


class Refused(Exception):
    """The action was not taken; the message says why and what to do (page: an error message;
    API: 409)."""


# --- create -------------------------------------------------------------------------------------


def create_domain(form: DomainForm, user: Any) -> Domain | None:
    """Make the Domain (and its new volume) from a valid form and queue its create job.

    None when a race lost after validation: the form then carries the error.
    """
    data = form.cleaned_data
    host: Host = data["host"]
    try:
        with transaction.atomic():
            volume = data["volume"] if data["disk"] != NEW else None
            if data["disk"] == NEW:
                volume = Volume.objects.create(
                    host=host,
                    dataset=form.dataset,
                    size_bytes=data["disk_gib"],
                    state=Volume.State.CREATING,
                    owner=user,
                )
            settings = form.settings
            assert settings is not None
            domain = Domain.objects.create(
                host=host,
                name=data["name"],
                owner=user,
                memory_mb=data["memory_mb"],
                vcpus=data["vcpus"],
                volume=volume,
                iso=data["iso"],
                bridge=data["bridge"],
                vnc_enabled=data["vnc_enabled"],
                vnc_listen=data["vnc_listen"],
                vnc_display=settings.vnc_display,
                vnc_password=data["vnc_password"],
                serial_pty=data["serial_pty"],
                tablet=data["tablet"],
                autostart=data["autostart"],
                autostart_order=data["autostart_order"],
                autostart_delay=data["autostart_delay"],
            )
            text = cfg.render(cfg.build(settings))
            records.add_version(domain, text, author=user, note="Created")
            actions.queue(
                domain,
                actions.CREATE,
                f"Create {domain.name} on {host.name}",
                user=user,
                params={"new_volume": data["disk"] == NEW},
            )
    except IntegrityError:
        # Two people took the same name or VNC display at once; the form shows it again.
        form.add_error("name", "That name (or the VNC display) was just taken; try again.")
        return None
    except quotas.QuotaExceeded as exc:
        # The form checked already; this is a second tab or a teammate using the team's share.
        form.add_error(None, str(exc))
        return None
    return domain


# --- lifecycle ----------------------------------------------------------------------------------


def lifecycle_refusal(domain: Domain, action: str) -> str:
    """Why `action` does not fit the domU's state ('' if it does): the states in which the
    domU page offers its button."""
    name, state = domain.name, domain.get_state_display()
    if action == "start":
        if records.never_made(domain):
            return (
                f"{name} was never created: its create job stopped before its volume was made. "
                "Delete it and create it again."
            )
        if domain.is_present:
            return f"{name} is {state} already; shut it down or destroy it first to start it."
        return ""
    if not domain.is_present:
        return f"{name} is {state}: start it first."
    if action == "pause" and domain.state == DomainState.PAUSED:
        return f"{name} is paused already."
    if action == "unpause" and domain.state != DomainState.PAUSED:
        return f"{name} is {state}, not paused."
    return ""


def queue_lifecycle(domain: Domain, action: str, user: Any) -> Job:
    """Queue one lifecycle action (a key of actions.LIFECYCLE); Refused if its state or the
    owner's quota does not allow it."""
    kind, verb, params = actions.LIFECYCLE[action]
    refused = lifecycle_refusal(domain, action)
    if refused:
        raise Refused(refused)
    try:
        with transaction.atomic():
            return actions.queue(domain, kind, f"{verb} {domain.name}", user=user, params=params)
    except quotas.QuotaExceeded as exc:
        raise Refused(f"{domain.name} was not started. {exc}") from exc


def finish_install(domain: Domain, user: Any) -> Job:
    """Handbook B6: drop the installer cdrom from the config and re-create the domU."""
    text = records.current_text(domain)
    if not cfg.has_cdrom(text):
        raise Refused(f"{domain.name}'s config has no cdrom any more.")
    with transaction.atomic():
        records.add_version(
            domain,
            cfg.without_cdrom(text),
            author=user,
            note="Finish install: removed the installer cdrom",
        )
        return actions.queue(
            domain, actions.FINISH_INSTALL, f"Finish installing {domain.name}", user=user
        )


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def insert_cd(domain: Domain, iso_code: Any, user: Any) -> Job:
    """Queue `xl cd-insert` of a ready ISO of the domU's host this user may use."""
    key = _uuid(iso_code)
    iso = (
        access.owned_for_user(IsoImage.objects.filter(host=domain.host), user)
        .filter(code=key, state=IsoImage.State.READY)
        .first()
        if key is not None
        else None
    )
    if iso is None:
        raise Refused("Choose a ready ISO image from this host's library.")
    with transaction.atomic():
        return actions.queue(
            domain,
            actions.CD_INSERT,
            f"Insert {iso.file_name} into {domain.name}",
            user=user,
            params={"iso_id": iso.pk},
        )


def delete_domain(domain: Domain, *, confirm: str, destroy_volume: bool, user: Any) -> Job:
    """Queue deleting the domU (and its volume if asked) once its name is typed as `confirm`."""
    if confirm != domain.name:
        raise Refused(f"Type the domU's name ({domain.name}) to delete it.")
    destroy_volume = destroy_volume and domain.volume is not None
    blockers = clones_logic.delete_blockers(domain) if destroy_volume else []
    if blockers:
        # zfs would refuse the destroy after the domU and its config were already gone.
        raise Refused(f"Not deleted: {' '.join(blockers)}")
    with transaction.atomic():
        return actions.queue(
            domain,
            actions.DELETE,
            f"Delete {domain.name}",
            user=user,
            params={"destroy_volume": destroy_volume},
        )


# --- restore a config version -------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    version: DomainConfigVersion
    clashes: list[str]


def _listen_of(text: str) -> str:
    try:
        return str(cfg.summary(cfg.parse(text)).get("vnc_listen") or "")
    except ParseError:
        return ""


def restore_exposure_refusal(user: Any, domain: Domain, text: str) -> str:
    """Restoring an old version sets its vnclisten again: the same rule as the edit form."""
    current = _listen_of(records.current_text(domain))
    kept = vnc_exposure.kept_values(domain.host, current)
    return vnc_exposure.refusal(_listen_of(text), user=user, host=domain.host, kept=kept)


def restore_version(
    domain: Domain, version: DomainConfigVersion, *, user: Any, request: HttpRequest | None
) -> Restored:
    """Store `version`'s text as the next version (new MACs where another domU took one)."""
    refused = restore_exposure_refusal(user, domain, version.text)
    if refused:
        raise Refused(f"Version {version.number} was not restored: {refused}")
    clashes = records.nic_clashes(domain, version.text)
    text = records.with_fresh_macs(version.text, clashes) if clashes else version.text
    with transaction.atomic():
        if clashes:
            new = records.add_version(
                domain,
                text,
                author=user,
                note=f"Restored version {version.number} with new MACs for "
                f"{', '.join(clashes)} (now held by other domUs)",
            )
        else:
            new = history.restore(domain, version, author=user)
        if domain.is_present:  # it runs with the settings it started with
            Domain.objects.filter(pk=domain.pk).update(restart_pending=True)
        audit.record(
            AuditAction.CONFIG_RESTORE,
            request=request,
            target=domain,
            details={
                "restored": version.number,
                "as_version": new.number,
                "host": domain.host.name,
            },
        )
    return Restored(new, list(clashes))
