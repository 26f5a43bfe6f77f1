"""Fixtures of the monitoring tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.monitoring.support import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local webhook receiver, stopped after the test."""
    r = Receiver()
    yield r
    r.server.shutdown()
