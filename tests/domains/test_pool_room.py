"""The new-domU form refuses a new volume the host's pool cannot hold (issue 18, items 3 and 5)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from domains.forms import DomainForm
from storage.forms import VolumeForm
from storage.models import Pool
from tests.domains.support import form_data
from tests.domains.test_migration_checks import make_host

pytestmark = pytest.mark.django_db

GIB = 2**30


def _form(host, user, **overrides) -> DomainForm:
    data = form_data(host, "web9", vnc_listen="127.0.0.1", **overrides)
    form = DomainForm(data, user=user, host=host)
    form.is_valid()
    return form


def test_a_disk_larger_than_the_pool_is_refused_with_the_figure(admin_user):
    host = make_host("xen-full")
    Pool.objects.filter(host=host).update(free_bytes=12 * GIB)
    form = _form(host, admin_user, disk_gib="20")
    assert form.errors["disk_gib"] == [
        "The pool zroot has 12.0 GiB free; a 20 GiB volume does not fit."
    ]


def test_a_disk_that_fits_or_an_unknown_free_space_is_not_refused(admin_user):
    host = make_host("xen-room")
    Pool.objects.filter(host=host).update(free_bytes=12 * GIB)
    assert "disk_gib" not in _form(host, admin_user, disk_gib="1.5").errors
    assert _form(host, admin_user, disk_gib="1.5").cleaned_data["disk_gib"] == 1536 * 2**20
    Pool.objects.filter(host=host).update(free_bytes=None)
    assert "disk_gib" not in _form(host, admin_user, disk_gib="200").errors
    Pool.objects.filter(host=host).delete()
    assert "disk_gib" not in _form(host, admin_user, disk_gib="200").errors


def test_an_existing_volume_needs_no_room(admin_user):
    host = make_host("xen-exist")
    Pool.objects.filter(host=host).update(free_bytes=0, seen_at=timezone.now())
    assert "disk_gib" not in _form(host, admin_user, disk="existing", disk_gib="").errors


def test_the_disk_size_field_refuses_a_fraction_of_a_byte(admin_user):
    host = make_host("xen-frac")
    errors = _form(host, admin_user, disk_gib="1.5B").errors["disk_gib"]
    assert "not a whole number of bytes" in errors[0]


def test_the_volume_form_reads_a_bare_number_as_gib(admin_user):
    host = make_host("xen-vol")
    form = VolumeForm({"name": "data0", "size": "1.5"}, host=host, user=admin_user)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["size"] == 1536 * 2**20
    form = VolumeForm({"name": "data1", "size": "0.5B"}, host=host, user=admin_user)
    assert not form.is_valid() and "not a whole number of bytes" in form.errors["size"][0]
