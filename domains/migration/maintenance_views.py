"""Host maintenance (issue 14): the host page's section, "Evacuate…", enter and end maintenance.

Everyone signed in sees a host's maintenance state; only admins change it (hosts are theirs).
Evacuating is two steps: pick where the domUs go, then confirm a list of what moves where and
how. The job plans again when it runs, so what it does is what is true then.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from domains.migration import evacuation
from domains.migration.host_section import host_maintenance_context
from hosts import access as host_access
from hosts.models import Host

AUTO, CHOSEN = "auto", "chosen"


class _HostChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _host_label(obj)


class EvacuateForm(forms.Form):
    placement = forms.ChoiceField(
        choices=[
            (AUTO, "Automatic: for each domU, the host with the most free memory that passes "
             "the checks"),
            (CHOSEN, "To the hosts I pick"),
        ],
        initial=AUTO,
        widget=forms.RadioSelect,
    )  # fmt: skip
    targets = _HostChoices(
        queryset=Host.objects.none(),
        to_field_name="code",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, host: Host, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.host = host
        others = Host.objects.exclude(pk=host.pk).filter(maintenance=False).order_by("name")
        targets = self.fields["targets"]
        assert isinstance(targets, _HostChoices)
        targets.queryset = others

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("placement") == CHOSEN and not data.get("targets"):
            self.add_error("targets", "Pick at least one host, or choose automatic.")
        return data

    def chosen(self) -> list[Host] | None:
        """The hosts picked, or None for automatic."""
        if self.cleaned_data.get("placement") != CHOSEN:
            return None
        return list(self.cleaned_data.get("targets") or [])


def _host_label(host: Host) -> str:
    free = f"{host.free_memory_mib} MiB free" if host.free_memory_mib is not None else "not read"
    shared = f", shared storage '{host.shared_storage}'" if host.shared_storage else ""
    return f"{host.name} ({free}{shared})"


def maintenance_panel(request: HttpRequest, code: str) -> HttpResponse:
    """The host page's maintenance section on its own (it polls itself while an evacuation runs)."""
    host = host_access.get_host_for_user(request.user, code)
    context = {"host": host, **host_maintenance_context(request, host)}
    return render(request, "domains/_host_maintenance.html", context)


@require_http_methods(["GET", "POST"])
def evacuate(request: HttpRequest, code: str) -> HttpResponse:
    """GET: where to move the domUs. POST: the confirmation; POST with confirm: queue the job."""
    host = host_access.get_host_for_user(request.user, code, write=True)
    busy = evacuation.active_evacuation(host)
    if busy is not None:
        messages.info(request, f"Job #{busy.pk} ({busy.title}) is evacuating {host.name} already.")
        return redirect(host)
    form = EvacuateForm(request.POST or None, host=host)
    if request.method == "GET" or not form.is_valid():
        return render(request, "domains/host_evacuate.html", _page(host, form))
    chosen = form.chosen()
    if request.POST.get("confirm") != "yes":
        moves = evacuation.plan_evacuation(host, chosen)
        return render(request, "domains/host_evacuate.html", _page(host, form, moves))
    with transaction.atomic():
        job = evacuation.queue_evacuation(host, chosen, user=request.user)
    messages.info(
        request,
        f"Evacuating {host.name} (job #{job.pk}): one migration per running domU, then "
        f"{host.name} is put in maintenance if none is left running.",
    )
    return redirect(host)


def _page(host: Host, form: EvacuateForm, moves: list[evacuation.Move] | None = None) -> dict:
    return {
        "host": host,
        "form": form,
        "moves": moves,
        "moving": [m for m in moves or [] if m.target is not None],
        "running": evacuation.running_domains(host),
        "staying": evacuation.staying_domains(host),
        "unmanaged": evacuation.unmanaged_names(host),
        "maintenance": evacuation.maintenance_text(host),
    }


@require_POST
def maintenance_enter(request: HttpRequest, code: str) -> HttpResponse:
    """Put the host in maintenance without moving anything."""
    host = host_access.get_host_for_user(request.user, code, write=True)
    if not evacuation.enter_maintenance(host, request.user):
        messages.info(request, f"{evacuation.maintenance_text(host)} already.")
        return redirect(host)
    running = evacuation.running_domains(host).count()
    keep = f" Its {running} running domU(s) keep running there." if running else ""
    messages.success(
        request,
        f"{host.name} is in maintenance: no new domUs are placed there and autostart is "
        f"suspended until an admin ends it.{keep}",
    )
    return redirect(host)


@require_POST
def maintenance_end(request: HttpRequest, code: str) -> HttpResponse:
    host = host_access.get_host_for_user(request.user, code, write=True)
    if not evacuation.end_maintenance(host):
        messages.info(request, f"{host.name} was not in maintenance.")
        return redirect(host)
    messages.success(
        request,
        f"{host.name} is back in service: new domUs may be placed there, and autostart works "
        "again from its next Dom0 reboot. Nothing is started now: a domU that stayed off "
        "during the maintenance is started on its page; domUs moved away stay where they are.",
    )
    return redirect(host)
