"""The console page and its ticket endpoint: who gets a ticket, what it says, what is audited."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group

from accounts.access import OPERATOR_GROUP, VIEWER_GROUP
from domains.console import tickets
from domains.models import Domain, DomainState
from hosts.choices import Transport
from hosts.models import Host

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(django_user_model):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user("olga", password="pw-olga-123")
    user.groups.add(Group.objects.get_or_create(name=OPERATOR_GROUP)[0])
    return user


@pytest.fixture
def domain(owner) -> Domain:  # type: ignore[no-untyped-def]
    host = Host.objects.create(name="xen1", transport=Transport.SIM, address="127.0.0.1")
    return Domain.objects.create(
        host=host,
        name="web1",
        memory_mb=512,
        owner=owner,
        vnc_display=3,
        vnc_password="pw123456",
        state=DomainState.BLOCKED,
        domid=4,
    )


@pytest.fixture
def rds(_point_at_redis: str) -> redis.Redis:
    return redis.Redis.from_url(_point_at_redis)


def url(domain: Domain, what: str = "ticket") -> str:
    return f"/console/{domain.code}/" + ("ticket/" if what == "ticket" else "")


def test_it_gives_the_owner_a_single_use_ticket_with_the_password(
    client,
    owner,
    domain: Domain,
    rds: redis.Redis,
    caplog,  # type: ignore[no-untyped-def]
) -> None:
    client.force_login(owner)
    with caplog.at_level(logging.INFO, logger="xenpanel.audit"):
        response = client.post(url(domain))
    assert response.status_code == 200
    body = response.json()
    assert body["password"] == "pw123456"
    stored = json.loads(rds.get(tickets.ticket_key(body["ticket"])))
    assert stored == {
        "user_id": owner.pk,
        "domain_code": str(domain.code),
        "host": "127.0.0.1",
        "port": 5903,
        "ssh": None,
    }
    assert 0 < rds.ttl(tickets.ticket_key(body["ticket"])) <= 30
    lines = [r.getMessage() for r in caplog.records if r.name == "xenpanel.audit"]
    assert any("olga" in line and "web1" in line and "127.0.0.1:5903" in line for line in lines)
    assert not any("pw123456" in line for line in lines)


def test_it_refuses_a_ticket_to_viewers_and_strangers(
    client,
    django_user_model,
    owner,
    domain: Domain,  # type: ignore[no-untyped-def]
) -> None:
    team = Group.objects.create(name="web-team")
    domain.team = team
    domain.save()
    viewer = django_user_model.objects.create_user("vera", password="pw-vera-123")
    viewer.groups.add(Group.objects.get_or_create(name=VIEWER_GROUP)[0], team)
    stranger = django_user_model.objects.create_user("sam", password="pw-sam-123")
    stranger.groups.add(Group.objects.get_or_create(name=OPERATOR_GROUP)[0])

    client.force_login(viewer)
    assert client.post(url(domain)).status_code == 403
    page = client.get(url(domain, "page"))
    assert page.status_code == 200 and b"read-only" in page.content
    assert b"console:ticket" not in page.content and b"/ticket/" not in page.content

    client.force_login(stranger)
    assert client.post(url(domain)).status_code == 404
    assert client.get(url(domain, "page")).status_code == 404


def test_it_says_why_there_is_no_console_for_a_stopped_domu(
    client,
    owner,
    domain: Domain,  # type: ignore[no-untyped-def]
) -> None:
    Domain.objects.filter(pk=domain.pk).update(state=DomainState.NOT_RUNNING, domid=None)
    client.force_login(owner)
    response = client.post(url(domain))
    assert response.status_code == 409
    assert "not running" in response.json()["error"]
    assert b"not running" in client.get(url(domain, "page")).content


def test_it_sends_ssh_hosts_through_the_tunnel(
    client,
    owner,
    domain: Domain,
    rds: redis.Redis,  # type: ignore[no-untyped-def]
) -> None:
    Host.objects.filter(pk=domain.host.pk).update(
        transport=Transport.SSH, address="dom0.example", ssh_port=2222, host_key="ssh-ed25519 AAAA"
    )
    Domain.objects.filter(pk=domain.pk).update(vnc_listen="0.0.0.0")  # noqa: S104
    client.force_login(owner)
    body = client.post(url(domain)).json()
    grant = tickets.consume(rds, body["ticket"])
    assert grant is not None
    assert (grant.target.host, grant.target.port) == ("127.0.0.1", 5903)
    assert grant.target.ssh is not None
    assert grant.target.ssh["address"] == "dom0.example" and grant.target.ssh["port"] == 2222


def test_it_renders_the_console_page_with_novnc(client, owner, domain: Domain) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    page = client.get(url(domain, "page")).content.decode()
    # The entry module (a static file: the CSP allows no inline script) loads noVNC and ours.
    assert re.search(r"js/console-page(\.[0-9a-f]{12})?\.js", page)  # hashed when collected
    entry = (Path(settings.BASE_DIR) / "static/js/console-page.js").read_text()
    assert "vendor/novnc/core/rfb.js" in entry and "./console.js" in entry
    assert f"/console/{domain.code}/ticket/" in page
    assert "pw123456" not in page  # the password travels only in the ticket answer
    assert "ssh -N -L 5903:127.0.0.1:5903" in page
