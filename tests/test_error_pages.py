"""Error pages keep the panel's navigation, say what happened and offer a way back; a 403 is one
log line, not a traceback; /favicon.ico is served. (Issue 17, item 2.)"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.template.loader import get_template
from django.test import Client
from django.utils import timezone

from domains.models import Domain
from hosts.simhosts import create_sim_host
from jobs.templatetags.panel_time import ago, duration
from tests.support.roles import roles  # noqa: F401  (fixture)
from xenpanel.logfilters import NoTracebackBelow500

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("roles")]
PASSWORD = "Pages-and-errors-1"


def user(django_user_model, name: str, role: str):  # type: ignore[no-untyped-def]
    u = django_user_model.objects.create_user(name, password=PASSWORD)
    u.groups.add(Group.objects.get(name=role))
    return u


def signed_in(u) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(u)
    return client


def assert_panel_page(html: str, username: str) -> None:
    assert 'class="navbar' in html and 'id="panel-nav"' in html, "no navigation"
    assert f'<strong class="text-light">{username}</strong>' in html, "no user menu"
    assert "Sign out" in html
    assert "data-back" in html, "no way back"


def test_a_403_renders_the_navigation_and_logs_one_line(django_user_model, caplog) -> None:  # type: ignore[no-untyped-def]
    oscar = user(django_user_model, "oscar", "operator")
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = signed_in(oscar).get("/audit/")
    assert response.status_code == 403
    html = response.content.decode()
    assert_panel_page(html, "oscar")
    assert "Only administrators can do this." in html
    assert "operator" in html  # the role the refusal is about
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in records] == ["Forbidden (Permission denied): /audit/"]
    assert records[0].exc_info is None
    assert "Traceback" not in caplog.text


def test_a_404_on_another_users_domu_renders_the_navigation(
    django_user_model, tmp_path, caplog
) -> None:  # type: ignore[no-untyped-def]
    alice = user(django_user_model, "alice", "operator")
    carol = user(django_user_model, "carol", "operator")
    host = create_sim_host("xen1", state_dir=tmp_path / "xen1")
    web1 = Domain.objects.create(host=host, name="web1", owner=alice, memory_mb=512)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = signed_in(carol).get(web1.get_absolute_url())
    assert response.status_code == 404
    html = response.content.decode()
    assert_panel_page(html, "carol")
    assert "web1" not in html.split("<main", 1)[1]  # nothing tells carol it exists
    assert "Traceback" not in caplog.text


def test_the_500_page_renders_without_a_request_or_the_database() -> None:
    # Django's server_error renders 500.html with no context at all.
    html = get_template("500.html").render()
    assert 'id="panel-nav"' in html and "/jobs/" in html
    assert "data-back" in html and "Server error" in html


def test_favicon_ico_is_served_to_anyone() -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 301
    assert re.search(r"/favicon(\.[0-9a-f]{12})?\.svg$", response["Location"])  # hashed
    html = get_template("base.html").render({})
    assert 'rel="icon"' in html


def test_the_filter_keeps_5xx_tracebacks() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        exc = sys.exc_info()
    make = logging.getLogger("django.request").makeRecord
    server = make("django.request", logging.ERROR, "f", 1, "x", (), exc, extra={"status_code": 500})
    refused = make(
        "django.request", logging.WARNING, "f", 1, "x", (), exc, extra={"status_code": 403}
    )
    NoTracebackBelow500().filter(server)
    NoTracebackBelow500().filter(refused)
    assert server.exc_info is not None and refused.exc_info is None


def test_times_show_the_absolute_moment_on_hover(settings) -> None:  # type: ignore[no-untyped-def]
    settings.TIME_ZONE = "UTC"
    when = timezone.now() - timedelta(minutes=5)
    html = str(ago(when))
    assert html.startswith("<time datetime=") and "5\xa0minutes ago" in html
    assert f'title="{when:%Y-%m-%d %H:%M:%S} UTC"' in html
    assert "just now" in str(ago(timezone.now()))
    assert [duration(s) for s in (0.42, 42, 185, 7625)] == [
        "0.4 s",
        "42 s",
        "3 min 05 s",
        "2 h 07 min",
    ]
