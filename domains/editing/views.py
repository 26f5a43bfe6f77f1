"""Edit a domU: the page, its live diff preview, saving (and applying now), growing a volume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.http import require_POST

from accounts import quotas
from dom0 import sizes
from dom0.errors import ParseError
from dom0.errors import ValidationError as Dom0ValidationError
from domains import cfg, history, records
from domains.access import get_domain_for_user
from domains.editing import changes
from domains.editing.actions import queue_apply, queue_grow
from domains.editing.forms import GIB, EditForm
from domains.models import Domain
from hosts.models import Host
from jobs.models import Job
from storage.models import Volume

APPLY_NOW = "apply"
SAVED, STALE, REFUSED = "saved", "stale", "refused"
STALE_MESSAGE = (
    "Not saved: the config changed since this page was opened (another edit, a restore or "
    "Finish install). The page now shows the current one: make your changes again."
)


def _context(domain: Domain, form: EditForm) -> dict[str, Any]:
    """The preview: the diff against the current file, and which changes apply when."""
    version = records.current_version(domain)
    number = version.number if version else 0
    try:
        new_text = form.new_text()
    except forms.ValidationError as exc:
        new_text, problem = form.text, exc.messages[0]
    else:
        problem = ""
    lines = history.diff(
        form.text,
        new_text,
        old_label=f"{cfg.config_path(domain.host.config_dir, domain.name)} (version {number})",
        new_label="after this edit",
    )
    plan = changes.plan(form.current, cfg.parse(new_text)) if not problem else changes.Plan(())
    if _runs_older(domain):
        plan = changes.deferred(plan)
    return {
        "domain": domain,
        "form": form,
        "lines": lines,
        "plan": plan,
        "running": domain.is_present,
        "runs_older": _runs_older(domain),
        "problem": problem,
        "base": number,
        "volumes": _disks(domain),
    }


def _runs_older(domain: Domain) -> bool:
    """Say whether the domU runs with an older config than its latest version.

    Then nothing is applied live: the plan is built against the latest version, and a step
    could act on a memory ceiling or a device the running domU does not have.
    """
    return domain.is_present and domain.restart_pending


def _disks(domain: Domain) -> list[Volume]:
    disks = [domain.volume] if domain.volume else []
    return disks + list(domain.extra_volumes.all())


def domain_edit(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    problem = unreadable(domain)
    if problem:
        messages.error(request, problem)
        return redirect(domain)
    if request.method == "POST":
        form = EditForm(request.POST, domain=domain, user=request.user)
        if form.is_valid():
            outcome = _save(request, domain, form)
            if outcome == SAVED:
                return redirect(domain)
            if outcome == STALE:
                messages.error(request, STALE_MESSAGE)
                domain.refresh_from_db()
                form = EditForm(domain=domain, user=request.user)
    else:
        form = EditForm(domain=domain, user=request.user)
    return render(request, "domains/edit.html", _context(domain, form))


def unreadable(domain: Domain) -> str:
    """Why the edit page cannot start from the domU's config ('' if it can)."""
    try:
        cfg.parse(records.current_text(domain))
    except ParseError as exc:
        return (
            f"{domain.name}'s current config cannot be edited here: {exc}. Restore a version "
            "that reads (history), or fix the file and import the domU again."
        )
    return ""


@require_POST
def domain_edit_preview(request: HttpRequest, code: str) -> HttpResponse:
    domain = get_domain_for_user(request.user, code, write=True)
    problem = unreadable(domain)
    if problem:
        return HttpResponse(f'<div id="edit-preview" class="text-danger">{escape(problem)}</div>')
    form = EditForm(request.POST, domain=domain, user=request.user)
    form.is_valid()
    return render(request, "domains/_edit_preview.html", _context(domain, form))


def _fresh(domain: Domain, base: str) -> bool:
    """Say whether the edit was made from the domU's current config version (`base`)."""
    version = records.current_version(domain)
    return str(version.number if version else 0) == base


class _Refused(Exception):
    """Roll the save back: the form says why (or the page was stale)."""


@dataclass(frozen=True)
class Saved:
    """What a save did: SAVED, STALE or REFUSED (form errors), what to tell, the job queued."""

    outcome: str
    message: str = ""
    job: Job | None = None


def _save(request: HttpRequest, domain: Domain, form: EditForm) -> str:
    """The page's save: SAVED (with its message shown), STALE or REFUSED."""
    saved = save_edit(
        domain,
        form,
        user=request.user,
        base=request.POST.get("base", ""),
        apply_now=request.POST.get(APPLY_NOW) == "1",
    )
    if saved.outcome == SAVED:
        messages.success(request, saved.message)
    return saved.outcome


def save_edit(domain: Domain, form: EditForm, *, user: Any, base: str, apply_now: bool) -> Saved:
    """Save a valid edit as the next config version (the page and the API).

    Everything is checked again under locks: the Host row (VNC displays are picked per host:
    two saves cannot take the same one) and the Domain row (two tabs cannot both save on the
    same version, nor both pass the quota). `base` is the version number the edit was made
    from; `apply_now` asks to apply it to the running domU when every change can be.
    """
    try:
        shown = form.new_text()
    except forms.ValidationError as exc:
        form.add_error(None, exc)
        return Saved(REFUSED)
    try:
        with transaction.atomic():
            Host.objects.select_for_update().filter(pk=domain.host_id).first()
            locked = Domain.objects.select_for_update().select_related("host").get(pk=domain.pk)
            if not _fresh(locked, base):
                raise _Refused(STALE)
            form.domain = locked
            message, job = _save_locked(user, apply_now, locked, form, shown)
    except _Refused as exc:
        return Saved(STALE if exc.args == (STALE,) else REFUSED)
    except IntegrityError:
        # Another save took the VNC display between the check and this write.
        form.add_error(None, _display_taken())
        return Saved(REFUSED)
    return Saved(SAVED, message, job)


def _save_locked(
    user: Any, apply: bool, domain: Domain, form: EditForm, shown: str
) -> tuple[str, Job | None]:
    data = form.cleaned_data
    try:
        form.check_quota(domain)  # again: another tab or a teammate may have used the share
    except quotas.QuotaExceeded as exc:
        form.quota_error(exc)
        raise _Refused(REFUSED) from exc
    new_text = form.new_text()
    if new_text != shown:
        # What changed since the preview is picked from the panel's state: a VNC display
        # another domU took meanwhile, or a volume's name.
        form.add_error(None, _display_taken())
        raise _Refused(REFUSED)
    Domain.objects.filter(pk=domain.pk).update(
        autostart=data["autostart"],
        autostart_order=data["autostart_order"],
        autostart_delay=data["autostart_delay"],
        description=data["description"],
        tags=data["tags"],
    )
    plan = changes.plan(form.current, cfg.parse(new_text))
    if not plan:
        return f"Saved {domain.name}'s panel settings (no config change).", None
    running, older = domain.is_present, _runs_older(domain)
    if older:
        plan = changes.deferred(plan)
    before = records.current_version(domain)
    new_volumes = _new_volumes(domain, form)
    version = records.add_version(domain, new_text, author=user, note=_note(plan))
    written = cfg.parse(new_text)
    display = written.vncdisplay if written.vnc else None
    if display is not None and domain.vnc_display != display:
        form.add_error(None, _display_taken())  # sync_fields found it taken
        raise _Refused(REFUSED)
    apply_now = running and apply and plan.all_live
    if running and not apply_now:
        Domain.objects.filter(pk=domain.pk).update(restart_pending=True)
    job = None
    if apply_now or new_volumes:
        job = queue_apply(
            domain,
            user=user,
            from_number=before.number if before else 0,
            to_number=version.number,
            live=apply_now,
            new_volume_ids=[v.pk for v in new_volumes],
            clears_pending=not domain.restart_pending,
        )
    text = _message(domain, version.number, plan, running, apply_now, job)
    if older and apply:
        text += " Nothing was applied live: it runs an older config; restart it first."
    return text, job


def _display_taken() -> str:
    return (
        "Another domU of the host took the VNC display (or the volume name) this page offered "
        "while you edited. The page now shows the next free one: check the changes and save "
        "again."
    )


def _new_volumes(domain: Domain, form: EditForm) -> list[Volume]:
    size = form.cleaned_data.get("new_disk_gib")
    if not size or not form.dataset:
        return []
    volume = Volume.objects.create(
        host=domain.host,
        dataset=form.dataset,
        size_bytes=size,
        state=Volume.State.CREATING,
        owner=domain.owner,
        team=domain.team,
    )
    return [volume]


def _note(plan: changes.Plan) -> str:
    return "Edited: " + "; ".join(c.what for c in plan.changes)


def _message(
    domain: Domain, number: int, plan: changes.Plan, running: bool, applied: bool, job: Any
) -> str:
    text = f"Saved as version {number}."
    if job is not None:
        text += f" Job #{job.pk} " + (
            "applies it to the running domU now." if applied else "makes the new volume."
        )
    if not running:
        return text + f" {domain.name} is not running: it starts with this config."
    if applied:
        return text
    return (
        text
        + f" {domain.name} runs with its old settings until it is next started from its file"
        + " (restart pending)."
    )


@require_POST
def volume_grow(request: HttpRequest, code: str) -> HttpResponse:
    """Grow one of the domU's volumes (`zfs set volsize=`); never smaller."""
    domain = get_domain_for_user(request.user, code, write=True)
    edit_url = reverse("domains:edit", args=[domain.code])
    volume = next(
        (v for v in _disks(domain) if str(v.code) == request.POST.get("volume", "")), None
    )
    if volume is None:
        messages.error(request, f"Choose one of {domain.name}'s volumes.")
        return redirect(edit_url)
    try:
        size = sizes.parse_size(request.POST.get("size_gib", ""), "size_gib", minimum=GIB)
    except Dom0ValidationError as exc:
        messages.error(request, f"The new size (GiB): {exc.rule}.")
        return redirect(edit_url)
    if size <= volume.size_bytes:
        messages.error(
            request,
            f"{volume.dataset} is {volume.size_human}: the panel only grows volumes. Shrinking "
            "would cut off the end of the guest's disk, with whatever data is there.",
        )
        return redirect(edit_url)
    if volume.readonly or volume.state != Volume.State.READY:
        messages.error(
            request, f"{volume.dataset} cannot grow now: it is not a ready, writable volume."
        )
        return redirect(edit_url)
    try:
        with transaction.atomic():
            quotas.check(volume.owner or domain.owner, exclude=volume, disk_bytes=size)
            job = queue_grow(domain, volume, size, user=request.user)
    except quotas.QuotaExceeded as exc:
        messages.error(request, f"{volume.dataset} was not grown. {exc}")
        return redirect(edit_url)
    messages.info(request, f"Growing {volume.dataset} to {size / GIB:g} GiB (job #{job.pk}).")
    return redirect(domain)
