"""Times as the panel shows them: relative with the absolute time on hover, and durations.

`{{ when|ago }}` renders `<time datetime=… title="2025-03-04 10:22:31 UTC">5 minutes ago</time>`:
lists stay short, and the exact moment (in the panel's time zone) is one hover away.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

register = template.Library()

#: The absolute format used on hover and on detail pages (ISO-like, local time zone).
ABSOLUTE = "%Y-%m-%d %H:%M:%S %Z"


@register.filter
def absolute(value: datetime | None) -> str:
    """Return `value` as "2025-03-04 10:22:31 UTC" in the current time zone ("" for None)."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime(ABSOLUTE)


@register.filter
def ago(value: datetime | None) -> SafeString | str:
    """Return a <time> element: "5 minutes ago", the absolute time as its title."""
    if value is None:
        return ""
    now = timezone.now()
    words = "just now" if (now - value).total_seconds() < 60 else f"{timesince(value, now)} ago"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), absolute(value), words
    )


@register.filter
def duration(seconds: float | None) -> str:
    """Return a duration for people: "0.4 s", "42 s", "3 min 05 s", "2 h 07 min"."""
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
