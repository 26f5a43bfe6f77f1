"""Issue 18, item 1: a domU's VNC beyond loopback only from an admin, on a host that allows it,
and a warning wherever such a VNC is shown.

The forms are the real ones against the database; the pages are rendered by the real views.
"""

from __future__ import annotations

# ruff: noqa: S104 (0.0.0.0 here is a vnclisten value, not a socket we bind)
from typing import Any

import pytest
from django.urls import reverse

from domains import cfg, records
from domains.editing.forms import EditForm
from domains.forms import DomainForm
from domains.models import Domain, DomainState
from hosts import vnc_exposure
from hosts.choices import Transport
from hosts.forms import HostForm
from hosts.models import Host
from tests.domains.edit_support import edit_data, operator
from tests.domains.support import form_data

WARNING = "anyone who reaches it can try the 8-character VNC password"


# --- the rule, without I/O ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("listen", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.91.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("", False),
        ("not-an-ip", False),
    ],
)
def test_what_counts_as_loopback(listen: str, loopback: bool) -> None:
    assert vnc_exposure.is_loopback(listen) is loopback


def test_the_warning_names_the_address_and_the_host() -> None:
    assert vnc_exposure.warning("127.0.0.1", "xen1") == ""
    assert vnc_exposure.warning("0.0.0.0", "xen1") == (
        "VNC listens on 0.0.0.0 of xen1: anyone who reaches it can try the 8-character VNC "
        "password."
    )


# --- the forms ---------------------------------------------------------------------------------
def _host(name: str, *, allowed: bool, listen: str = "127.0.0.1") -> Host:
    return Host.objects.create(
        name=name,
        transport=Transport.SIM,
        address="192.0.2.10",
        sim_dir="/nonexistent",
        vnc_exposure_allowed=allowed,
        vnc_listen=listen,
    )


def _new_form(host: Host, user: Any, listen: str) -> DomainForm:
    form = DomainForm(form_data(host, "web1", vnc_listen=listen), user=user)
    form.is_valid()
    return form


@pytest.mark.django_db
def test_an_operators_wildcard_is_refused_on_the_field_even_where_the_host_allows_it(
    django_user_model,  # type: ignore[no-untyped-def]
) -> None:
    opal = operator(django_user_model)
    for host in (_host("xen1", allowed=False), _host("xen2", allowed=True)):
        form = _new_form(host, opal, "0.0.0.0")
        (error,) = form.errors["vnc_listen"]
        assert error.startswith("Only an admin may make VNC listen on 0.0.0.0"), error
        assert "on hosts that allow it; ask an admin" in error
        assert not _new_form(host, opal, "127.0.0.1").errors.get("vnc_listen")


@pytest.mark.django_db
def test_an_admin_may_expose_only_on_a_host_that_allows_it(admin_user) -> None:  # type: ignore[no-untyped-def]
    closed, open_ = _host("xen1", allowed=False), _host("xen2", allowed=True)
    (error,) = _new_form(closed, admin_user, "0.0.0.0").errors["vnc_listen"]
    assert "xen1 does not allow VNC on addresses other than loopback" in error
    assert "settings first" in error
    assert not _new_form(open_, admin_user, "0.0.0.0").errors.get("vnc_listen")
    assert not _new_form(open_, admin_user, "10.0.0.5").errors.get("vnc_listen")


@pytest.mark.django_db
def test_the_default_an_admin_gave_an_allowing_host_is_kept_for_operators(
    django_user_model,  # type: ignore[no-untyped-def]
) -> None:
    host = _host("xen1", allowed=True, listen="10.0.0.5")
    opal = operator(django_user_model)
    assert not _new_form(host, opal, "10.0.0.5").errors.get("vnc_listen")
    assert _new_form(host, opal, "0.0.0.0").errors.get("vnc_listen")


def _domu(host: Host, owner: Any, listen: str) -> Domain:
    domain = Domain.objects.create(host=host, name="web1", owner=owner, memory_mb=512)
    settings = cfg.Settings(
        "web1", 512, 1, None, None, "bridge0", vnc_enabled=True, vnc_listen=listen,
        vnc_display=3, vnc_password="Ab3dEf7h",
    )  # fmt: skip
    records.add_version(domain, cfg.render(cfg.build(settings)), author=owner)
    domain.refresh_from_db()
    return domain


@pytest.mark.django_db
def test_the_edit_form_refuses_an_operators_new_exposure_but_keeps_an_existing_one(
    django_user_model,
    admin_user,  # type: ignore[no-untyped-def]
) -> None:
    opal = operator(django_user_model)
    closed = _host("xen1", allowed=False)
    domain = _domu(closed, opal, "127.0.0.1")
    form = EditForm(edit_data(domain, opal, vnc_listen="0.0.0.0"), domain=domain, user=opal)
    assert not form.is_valid()
    assert "Only an admin may make VNC listen on 0.0.0.0" in form.errors["vnc_listen"][0]
    form = EditForm(
        edit_data(domain, admin_user, vnc_listen="0.0.0.0"), domain=domain, user=admin_user
    )
    assert "xen1 does not allow VNC" in form.errors["vnc_listen"][0]

    # A domU an admin exposed earlier: an operator's memory change keeps its address.
    exposed = _domu(_host("xen2", allowed=True), admin_user, "0.0.0.0")
    form = EditForm(edit_data(exposed, opal, memory_mb=768), domain=exposed, user=opal)
    assert "vnc_listen" not in form.errors, form.errors
    form = EditForm(edit_data(exposed, opal, vnc_listen="10.0.0.5"), domain=exposed, user=opal)
    assert "Only an admin may" in form.errors["vnc_listen"][0]


def _host_form(**overrides: Any) -> HostForm:
    data = {
        "name": "xen9",
        "address": "192.0.2.9",
        "transport": Transport.SSH,
        "ssh_user": "root",
        "ssh_port": 22,
        "volumes_parent": "zroot/xen",
        "iso_dir": "/var/lib/xen/iso",
        "config_dir": "/usr/local/etc/xen",
        "default_bridge": "bridge0",
        "vnc_listen": "127.0.0.1",
        "migration_transfer": "relay",
    }
    data.update(overrides)
    return HostForm({k: v for k, v in data.items() if v is not None})


@pytest.mark.django_db
def test_a_hosts_default_listen_address_is_loopback_unless_the_host_allows_exposure() -> None:
    assert _host_form().is_valid(), _host_form().errors
    refused = _host_form(vnc_listen="0.0.0.0")
    assert not refused.is_valid()
    assert (
        "tick “Allow VNC beyond loopback” too, or keep 127.0.0.1" in refused.errors["vnc_listen"][0]
    )
    allowed = _host_form(vnc_listen="0.0.0.0", vnc_exposure_allowed="on")
    assert allowed.is_valid(), allowed.errors


# --- the pages ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_domu_page_and_the_console_page_warn_about_an_exposed_vnc(
    admin_client,
    admin_user,  # type: ignore[no-untyped-def]
) -> None:
    host = _host("xen2", allowed=True)
    domain = _domu(host, admin_user, "0.0.0.0")
    Domain.objects.filter(pk=domain.pk).update(state=DomainState.BLOCKED, domid=4)
    sentence = f"VNC listens on 0.0.0.0 of xen2: {WARNING}."
    for url in (domain.get_absolute_url(), reverse("console:page", args=[domain.code])):
        page = admin_client.get(url).content.decode()
        assert 'data-testid="vnc-exposure"' in page, url
        assert sentence in page, url

    Domain.objects.filter(pk=domain.pk).update(vnc_listen="127.0.0.1")
    for url in (domain.get_absolute_url(), reverse("console:page", args=[domain.code])):
        assert WARNING not in admin_client.get(url).content.decode(), url


@pytest.mark.django_db
def test_restoring_an_exposed_version_follows_the_same_rule(
    django_user_model,
    admin_user,  # type: ignore[no-untyped-def]
    client,  # type: ignore[no-untyped-def]
) -> None:
    """An old version with `vnclisten = "0.0.0.0"` is not a way around the edit form's rule."""
    opal = operator(django_user_model)
    domain = _domu(_host("xen1", allowed=True), admin_user, "0.0.0.0")
    Domain.objects.filter(pk=domain.pk).update(owner=opal)
    settings = cfg.Settings(
        "web1", 512, 1, None, None, "bridge0", vnc_enabled=True, vnc_listen="127.0.0.1",
        vnc_display=3, vnc_password="Ab3dEf7h",
    )  # fmt: skip
    records.add_version(domain, cfg.render(cfg.build(settings)), author=admin_user)
    versions = domain.versions.count()
    client.force_login(opal)
    url = reverse("domains:restore", args=[domain.code, 1])
    page = client.post(url, follow=True)
    assert "was not restored: Only an admin may make VNC listen on 0.0.0.0" in page.text
    assert domain.versions.count() == versions
    # The admin may: the host allows exposure.
    client.force_login(admin_user)
    client.post(url)
    assert domain.versions.count() == versions + 1
