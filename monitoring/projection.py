"""When a pool fills, from a straight line through its allocated bytes (pure: no Django, no I/O).

A least-squares fit of allocated bytes against time over the last week's samples; where that line
meets the pool's size is the day it fills. A flat or shrinking pool is "not filling"; fewer than
two samples, or samples spanning under an hour, say too little to project ("not enough history").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DAY = 86400.0
#: Shortest history worth a line: a few minutes of samples say nothing about next month.
MIN_SPAN_SECONDS = 3600.0
#: Beyond this the line is as good as flat: "fills in ~40 years" is noise, not a forecast.
HORIZON_DAYS = 3650.0


@dataclass(frozen=True)
class Projection:
    #: "filling", "not_filling", "full" or "unknown" (too little history).
    status: str
    #: Days from `now` until the fitted line reaches the pool's size (None unless filling).
    days: float | None = None
    #: Unix time of that moment (None unless filling).
    full_at: float | None = None
    #: Growth of the fitted line, bytes per day (None if unknown).
    bytes_per_day: float | None = None

    @property
    def text(self) -> str:
        if self.status == "full":
            return "full now"
        if self.status == "unknown":
            return "not enough history to project"
        if self.status == "not_filling" or self.days is None:
            return "not filling"
        days = round(self.days)
        if days < 1:
            return "fills within a day"
        return f"fills in ~{days} day{'s' if days != 1 else ''}"

    def as_json(self) -> dict[str, object]:
        return {
            "status": self.status,
            "days": None if self.days is None else round(self.days, 1),
            "full_at": None if self.full_at is None else int(self.full_at),
            "bytes_per_day": None if self.bytes_per_day is None else round(self.bytes_per_day),
            "text": self.text,
        }


def fit_line(points: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares (slope, intercept) of y over x, or None for fewer than two distinct x."""
    n = len(points)
    if n < 2:
        return None
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    # Centred sums: unix seconds squared would lose the slope to float rounding otherwise.
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    slope = sxy / sxx
    return slope, mean_y - slope * mean_x


def project_fill(
    points: Sequence[tuple[float, float | None]], size_bytes: float | None, now: float
) -> Projection:
    """Project when allocated bytes reach `size_bytes`; `points` are (unix time, allocated)."""
    known = [(t, float(v)) for t, v in points if v is not None]
    if not size_bytes or size_bytes <= 0:
        return Projection("unknown")
    if known and known[-1][1] >= size_bytes:
        return Projection("full", days=0.0, full_at=known[-1][0], bytes_per_day=None)
    if len(known) < 2 or known[-1][0] - known[0][0] < MIN_SPAN_SECONDS:
        return Projection("unknown")
    line = fit_line(known)
    if line is None:
        return Projection("unknown")
    slope, intercept = line
    per_day = slope * DAY
    if slope <= 0:
        return Projection("not_filling", bytes_per_day=per_day)
    full_at = (size_bytes - intercept) / slope
    days = max(0.0, (full_at - now) / DAY)
    if days > HORIZON_DAYS:
        return Projection("not_filling", bytes_per_day=per_day)
    return Projection("filling", days=days, full_at=max(full_at, now), bytes_per_day=per_day)
