"""When a pool fills: the straight-line projection (pure, no database)."""

from __future__ import annotations

import pytest

from monitoring.projection import DAY, fit_line, project_fill

GIB = 2**30
NOW = 1_700_000_000.0


def test_fit_line_recovers_a_straight_line_from_unix_times() -> None:
    points = [(NOW + i * 3600, 5.0 + 2.0 * i * 3600) for i in range(50)]
    slope, intercept = fit_line(points)  # type: ignore[misc]
    assert slope == pytest.approx(2.0)
    assert slope * NOW + intercept == pytest.approx(5.0)


def test_fit_line_needs_two_distinct_times() -> None:
    assert fit_line([]) is None
    assert fit_line([(NOW, 1.0)]) is None
    assert fit_line([(NOW, 1.0), (NOW, 2.0)]) is None


def test_a_pool_growing_a_gib_a_day_with_ten_left_fills_in_ten_days() -> None:
    week = [(NOW - d * DAY, (90 - d) * GIB) for d in range(7, -1, -1)]
    p = project_fill(week, 100 * GIB, NOW)
    assert p.status == "filling"
    assert p.days == pytest.approx(10.0)
    assert p.bytes_per_day == pytest.approx(GIB)
    assert p.full_at == pytest.approx(NOW + 10 * DAY)
    assert p.text == "fills in ~10 days"
    assert p.as_json()["days"] == 10.0


def test_noise_around_a_trend_still_projects_the_trend() -> None:
    week = [
        (NOW - h * 3600, (50 + (168 - h) / 24) * GIB + (GIB / 4 if h % 2 else -GIB / 4))
        for h in range(168, -1, -1)
    ]
    p = project_fill(week, 100 * GIB, NOW)
    assert p.status == "filling"
    assert p.days == pytest.approx(43, abs=1)


@pytest.mark.parametrize(
    ("values", "status", "text"),
    [
        ([50, 50, 50], "not_filling", "not filling"),
        ([60, 55, 50], "not_filling", "not filling"),
        ([10, 10 + 1e-9, 10 + 2e-9], "not_filling", "not filling"),  # decades away: noise
        ([99, 100, 100], "full", "full now"),
    ],
)
def test_flat_shrinking_barely_growing_and_full_pools(values, status, text) -> None:  # type: ignore[no-untyped-def]
    points = [(NOW - (len(values) - 1 - i) * DAY, v * GIB) for i, v in enumerate(values)]
    p = project_fill(points, 100 * GIB, NOW)
    assert (p.status, p.text) == (status, text)


def test_too_little_history_or_no_size_says_so() -> None:
    assert project_fill([(NOW, 10 * GIB)], 100 * GIB, NOW).status == "unknown"
    minutes = [(NOW - 600, 10 * GIB), (NOW, 20 * GIB)]
    assert project_fill(minutes, 100 * GIB, NOW).text == "not enough history to project"
    assert project_fill([(NOW - DAY, 1), (NOW, 2)], None, NOW).status == "unknown"
    assert project_fill([(NOW - DAY, None), (NOW - 3600, None)], GIB, NOW).status == "unknown"


def test_under_a_day_and_one_day() -> None:
    fast = [(NOW - DAY, 50 * GIB), (NOW, 99.8 * GIB)]
    assert project_fill(fast, 100 * GIB, NOW).text == "fills within a day"
    one = [(NOW - DAY, 98 * GIB), (NOW, 99 * GIB)]
    assert project_fill(one, 100 * GIB, NOW).text == "fills in ~1 day"
