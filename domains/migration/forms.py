"""The migration dialog's form (target, downtime) and the clean-up confirmation."""

from __future__ import annotations

from typing import Any

from django import forms

from domains.models import Domain
from hosts.access import hosts_for_user
from hosts.models import Host

SHUTDOWN, PAUSE = "shutdown", "pause"
DOWNTIME_CHOICES = [
    (
        SHUTDOWN,
        "Shut it down for the last copy: the guest stops cleanly and boots again on the "
        "receiver (its uptime and anything only in memory are lost; the downtime is the "
        "shutdown, the last copy and a boot). It needs PV drivers in the guest (xl shutdown); a "
        "guest without them, such as an installer, cannot be shut down this way.",
    ),
    (
        PAUSE,
        "Pause it for the last copy: shorter, no reboot, but the guest is frozen, then "
        "destroyed and started from its disk on the receiver as after a power cut (what it "
        "had not written to disk is lost; its filesystems may need a check).",
    ),
]


class TargetChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Host) -> str:
        free = (
            f"{obj.free_memory_mib} MiB free"
            if obj.free_memory_mib is not None
            else "not refreshed"
        )
        extra = " · in maintenance" if obj.maintenance else ""
        return f"{obj.name} ({free}{extra})"


class MigrateForm(forms.Form):
    target = TargetChoiceField(
        queryset=Host.objects.none(), to_field_name="code", empty_label=None, label="Move to"
    )
    downtime = forms.ChoiceField(
        choices=DOWNTIME_CHOICES, initial=SHUTDOWN, widget=forms.RadioSelect, required=False
    )

    def __init__(self, *args: Any, domain: Domain, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.domain = domain
        field = self.fields["target"]
        assert isinstance(field, TargetChoiceField)
        field.queryset = hosts_for_user(user).exclude(pk=domain.host_id).order_by("name")

    def clean_downtime(self) -> str:
        return self.cleaned_data.get("downtime") or SHUTDOWN


class CleanupForm(forms.Form):
    confirm = forms.CharField(max_length=64, required=False)

    def __init__(self, *args: Any, domain: Domain, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.domain = domain

    def clean_confirm(self) -> str:
        value = self.cleaned_data.get("confirm", "")
        if value != self.domain.name:
            raise forms.ValidationError(
                f"Type the domU's name ({self.domain.name}) to destroy its source volumes."
            )
        return value
