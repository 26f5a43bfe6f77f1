"""The client's address through trusted reverse proxies (lockouts and the audit list use it)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from accounts.client_ip import client_ip


@pytest.fixture
def rf() -> RequestFactory:
    return RequestFactory()


def test_it_uses_the_peer_when_no_proxy_is_trusted(rf, settings):
    settings.TRUSTED_PROXIES = []
    request = rf.get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert client_ip(request) == "203.0.113.9"


def test_it_reads_the_forwarded_address_behind_a_trusted_proxy(rf, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.7")
    # The left part is whatever the client wrote; the proxy appended the real peer last.
    assert client_ip(request) == "198.51.100.7"


def test_it_trusts_only_its_own_eyes_on_a_garbled_header(rf, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_ip(request) == "127.0.0.1"
