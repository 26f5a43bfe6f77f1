"""A progress write that fails keeps its value for the next flush (pure logic, no database).

`_flush_progress` takes the pending value before it writes; when the UPDATE raised ("database is
locked") the value used to be gone. The write is replaced by one that fails: what is checked is
the flush's bookkeeping, not the database.
"""

from __future__ import annotations

import pytest

from jobs.choices import JobStatus
from jobs.context import JobContext
from jobs.models import Job


class Locked(Exception):
    pass


def _context() -> JobContext:
    return JobContext(Job(kind="test", title="t", status=JobStatus.RUNNING))


def test_a_failed_write_puts_its_value_back(monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _context()
    written: list[tuple[int, str]] = []

    def locked(pending: tuple[int, str]) -> None:
        raise Locked("database is locked")

    monkeypatch.setattr(ctx, "_write", locked)
    ctx._pending = (40, "Copying: 40 %")  # noqa: SLF001
    with pytest.raises(Locked):
        ctx._flush_progress()  # noqa: SLF001
    assert ctx._pending == (40, "Copying: 40 %")  # noqa: SLF001

    monkeypatch.setattr(ctx, "_write", written.append)
    ctx._flush_progress()  # noqa: SLF001
    assert written == [(40, "Copying: 40 %")]
    assert ctx._pending is None  # noqa: SLF001


def test_a_newer_value_reported_meanwhile_wins_over_the_failed_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx = _context()

    def locked_while_the_job_reports_more(pending: tuple[int, str]) -> None:
        ctx._pending = (45, "Copying: 45 %")  # noqa: SLF001  (another thread's progress())
        raise Locked("database is locked")

    monkeypatch.setattr(ctx, "_write", locked_while_the_job_reports_more)
    ctx._pending = (40, "Copying: 40 %")  # noqa: SLF001
    with pytest.raises(Locked):
        ctx._flush_progress()  # noqa: SLF001
    assert ctx._pending == (45, "Copying: 45 %")  # noqa: SLF001


def test_close_survives_a_failed_last_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner closes before it writes the job's end: a failed flush must not stop that."""
    ctx = _context()

    def locked(pending: tuple[int, str]) -> None:
        raise Locked("database is locked")

    monkeypatch.setattr(ctx, "_write", locked)
    ctx._pending = (40, "Copying: 40 %")  # noqa: SLF001
    ctx.close()  # logs, does not raise
