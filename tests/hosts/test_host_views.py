"""Host pages: who may do what, form validation, and pinning an SSH host key."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from hosts.choices import Transport
from hosts.models import Host

pytestmark = pytest.mark.django_db


@pytest.fixture
def host() -> Host:
    return Host.objects.create(name="xen1", address="10.0.0.5", transport=Transport.SSH)


@pytest.fixture
def viewer_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("viewer", password="x"))
    return client


WRITE_URLS = ["hosts:edit", "hosts:refresh", "hosts:fetch_key", "hosts:pin_key", "hosts:delete"]


@pytest.mark.parametrize("name", WRITE_URLS)
def test_it_forbids_non_admins_to_change_a_host(viewer_client, host, name):
    assert viewer_client.post(reverse(name, args=[host.code])).status_code == 403


def test_it_lets_anyone_signed_in_read_hosts(viewer_client, host):
    assert viewer_client.get(reverse("hosts:list")).status_code == 200
    page = viewer_client.get(host.get_absolute_url()).content.decode()
    assert "xen1" in page and "Refresh facts" not in page
    assert viewer_client.get(reverse("hosts:create")).status_code == 403


@pytest.mark.parametrize("name", ["hosts:detail", *WRITE_URLS])
def test_it_answers_404_for_unknown_hosts(admin_client, name):
    method = admin_client.get if name == "hosts:detail" else admin_client.post
    assert method(reverse(name, args=[uuid.uuid4()])).status_code == 404


def test_it_names_the_field_and_rule_for_bad_input(admin_client):
    response = admin_client.post(
        reverse("hosts:create"),
        {
            "name": "x; rm -rf /",
            "address": "",
            "transport": "ssh",
            "ssh_user": "root",
            "ssh_port": 22,
            "volumes_parent": "zroot/../xen",
            "iso_dir": "relative/dir",
            "config_dir": "/usr/local/etc/xen",
            "default_bridge": "bridge0; reboot",
            "vnc_listen": "not-an-ip",
            "queue": "",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) >= {
        "name",
        "address",
        "volumes_parent",
        "iso_dir",
        "default_bridge",
        "vnc_listen",
    }
    assert not Host.objects.exists()


def test_it_adds_an_ssh_host_and_pins_its_key_after_confirmation(admin_client, sshd):
    response = admin_client.post(
        reverse("hosts:create"),
        {
            "name": "real1",
            "address": "127.0.0.1",
            "transport": "ssh",
            "ssh_user": "root",
            "ssh_port": sshd.port,
            "volumes_parent": "zroot/xen",
            "iso_dir": "/var/lib/xenpanel/isos",
            "config_dir": "/usr/local/etc/xen",
            "default_bridge": "bridge0",
            "vnc_listen": "127.0.0.1",
            "queue": "",
        },
        follow=True,
    )
    host = Host.objects.get(name="real1")
    assert host.pending_host_key_fingerprint.startswith("SHA256:")
    assert host.host_key == ""  # nothing is trusted until an admin confirms
    assert host.pending_host_key_fingerprint in response.content.decode()
    admin_client.post(
        reverse("hosts:pin_key", args=[host.code]),
        {"fingerprint": host.pending_host_key_fingerprint},
    )
    host.refresh_from_db()
    assert host.host_key.split()[:2] == sshd.host_key_line.split()[:2]
    assert host.pending_host_key == ""


def test_it_refuses_to_pin_a_key_other_than_the_one_shown(admin_client, host):
    Host.objects.filter(pk=host.pk).update(
        pending_host_key="ssh-ed25519 AAAA", pending_host_key_fingerprint="SHA256:abc"
    )
    admin_client.post(reverse("hosts:pin_key", args=[host.code]), {"fingerprint": "SHA256:xyz"})
    host.refresh_from_db()
    assert host.host_key == ""


def test_it_removes_a_host_only_when_its_name_is_typed(admin_client, host):
    admin_client.post(reverse("hosts:delete", args=[host.code]), {"confirm": "nope"})
    assert Host.objects.filter(pk=host.pk).exists()
    admin_client.post(reverse("hosts:delete", args=[host.code]), {"confirm": "xen1"})
    assert not Host.objects.filter(pk=host.pk).exists()
