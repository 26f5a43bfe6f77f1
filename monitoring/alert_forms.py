"""The alert rule form (admins): kind, threshold, quiet period, where to send."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from monitoring.alerts import DEFAULTS
from monitoring.models import AlertKind, AlertRule
from monitoring.notify import is_web_url, recipients

PERCENT_KINDS = (AlertKind.POOL_FULL, AlertKind.QUOTA_HIGH)
#: The longest quiet period (a week): longer would silence a rule for good.
MAX_QUIET = 7 * 24 * 60


class AlertRuleForm(forms.ModelForm):
    webhook_url = forms.URLField(
        max_length=500, required=False, assume_scheme="https", label="Webhook URL",
        help_text="Receives a JSON POST on firing and on resolve (retried on errors).",
    )  # fmt: skip

    class Meta:
        model = AlertRule
        fields = ["name", "kind", "threshold", "quiet_minutes", "email", "webhook_url", "enabled"]
        help_texts = {
            "threshold": "Percent for pool and quota rules (default 80 and 90), minutes for "
            "an unreachable host (default 5); not used for crashed domUs and failed jobs.",
            "quiet_minutes": "After a notification about something, none again about it for "
            "this long (a resolve is still sent).",
            "email": "Comma-separated addresses; sent with the panel's mail settings.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            css = "form-check-input" if name == "enabled" else "form-control form-control-sm"
            if name == "kind":
                css = "form-select form-select-sm"
            field.widget.attrs.setdefault("class", css)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].replace("\x00", "").strip()
        if not name:
            raise ValidationError("Give the rule a name.")
        return name

    def clean_quiet_minutes(self) -> int:
        value = self.cleaned_data["quiet_minutes"]
        if value > MAX_QUIET:
            raise ValidationError(f"At most {MAX_QUIET} minutes (a week).")
        return value

    def clean_email(self) -> str:
        addresses = recipients(self.cleaned_data.get("email", "").replace("\x00", ""))
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(f"“{address[:80]}” is not an e-mail address.") from None
        return ", ".join(addresses)

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data.get("webhook_url", "")
        if url and not is_web_url(url):  # the webhook task refuses the others as well
            raise ValidationError("Use an http:// or https:// URL.")
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, value = data.get("kind"), data.get("threshold")
        if value is not None:
            if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
                self.add_error("threshold", "Enter a number.")
            elif kind in PERCENT_KINDS and not 0 < value <= 100:
                self.add_error("threshold", "A percentage above 0 and at most 100.")
            elif kind == AlertKind.HOST_UNREACHABLE and not 0 <= value <= 10080:
                self.add_error("threshold", "Minutes from 0 to 10080 (a week).")
        elif kind in DEFAULTS:
            data["threshold"] = DEFAULTS[kind]
        # A rule with neither e-mail nor webhook is allowed: the alerts page still lists it.
        return data
