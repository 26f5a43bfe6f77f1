"""The take-a-snapshot form and the schedule form of a domU's snapshot card."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from dom0 import validate
from dom0.errors import ValidationError as Dom0ValidationError
from domains.models import Domain, SnapshotMode
from domains.snapshots import logic

#: What each mode costs, said next to its choice on the page.
MODE_HELP = {
    SnapshotMode.RUNNING: "No pause. The disks are caught as if the power failed: the guest's "
    "file systems recover as after a crash (journals replay, open files may lose their last "
    "writes).",
    SnapshotMode.PAUSED: "xl pause, zfs snapshot, xl unpause: the guest stops for about a "
    "second; network connections usually survive. Still crash-consistent inside the guest, but "
    "every disk is caught at the same instant with no I/O in flight.",
    SnapshotMode.STOPPED: "Nothing runs, so nothing is in flight: the disks are exactly as the "
    "guest left them. It costs only the downtime.",
}
#: Beyond a month of hourly or a year of daily snapshots, keep fewer and look at backups.
MAX_HOURLY, MAX_DAILY = 744, 366


def modes_for(domain: Domain) -> list[SnapshotMode]:
    """Return the modes that apply now: running or paused while it runs, else shut down."""
    if domain.is_present:
        return [SnapshotMode.RUNNING, SnapshotMode.PAUSED]
    return [SnapshotMode.STOPPED]


class SnapshotForm(forms.Form):
    name = forms.CharField(
        max_length=64,
        required=False,
        help_text="The part after @ on every volume; empty: snap-<date>-<time>.",
    )
    mode = forms.ChoiceField(choices=SnapshotMode.choices)

    def __init__(self, *args: Any, domain: Domain, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.domain = domain
        mode = self.fields["mode"]
        assert isinstance(mode, forms.ChoiceField)
        mode.choices = [(m, SnapshotMode(m).label) for m in modes_for(domain)]
        mode.initial = modes_for(domain)[0]
        self.fields["name"].initial = logic.default_name(timezone.localtime())

    def clean_name(self) -> str:
        value = self.cleaned_data.get("name", "").strip()
        if not value:
            value = logic.default_name(timezone.localtime())
        try:
            value = validate.snapshot_name(value)
        except Dom0ValidationError as exc:
            raise forms.ValidationError(exc.sentence) from exc
        if self.domain.snapshots.filter(name=value).exists():
            raise forms.ValidationError(f"{self.domain.name} has a snapshot named {value} already.")
        return value

    def clean_mode(self) -> str:
        value = self.cleaned_data.get("mode", "")
        if value == SnapshotMode.STOPPED and self.domain.is_present:
            raise forms.ValidationError(
                f"{self.domain.name} is running: shut it down first for a shut-down snapshot, "
                "or take a running or paused one."
            )
        return value


def _keep(label: str, high: int) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=high,
        error_messages={
            "invalid": "Must be a whole number.",
            "required": "Say how many to keep (0: none).",
            "min_value": "Must be at least 0.",
            "max_value": f"Must be at most {high}.",
        },
    )


class ScheduleForm(forms.Form):
    """How many scheduled snapshots to keep; 0 switches that schedule off."""

    snapshot_keep_hourly = _keep("Keep hourly", MAX_HOURLY)
    snapshot_keep_daily = _keep("Keep daily", MAX_DAILY)
