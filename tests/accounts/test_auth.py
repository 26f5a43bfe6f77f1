"""Every page needs a login; the login page works with real credentials; jobs are private."""

from __future__ import annotations

import pytest
from django.urls import reverse

from jobs.models import Job

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name", ["dashboard", "hosts:list", "domains:list", "isos:list", "jobs:list"]
)
def test_it_redirects_anonymous_users_to_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_logs_in_with_a_password_and_shows_the_user(client, django_user_model):
    django_user_model.objects.create_user("alice", password="s3cret-pass-1")
    response = client.post(
        reverse("login"), {"username": "alice", "password": "s3cret-pass-1"}, follow=True
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Signed in as </span><strong" in html and "alice" in html
    assert "xenpanel 0.2.0" in html


def test_it_refuses_a_wrong_password(client, django_user_model):
    django_user_model.objects.create_user("alice", password="s3cret-pass-1")
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_it_hides_other_users_jobs(client, django_user_model):
    alice = django_user_model.objects.create_user("alice", password="x")
    bob = django_user_model.objects.create_user("bob", password="x")
    job = Job.objects.create(
        kind="test.sleep",
        title="alice-private-job",
        requested_by=alice,
    )
    client.force_login(bob)
    assert client.get(job.get_absolute_url()).status_code == 404
    assert client.get(reverse("jobs:progress", args=[job.code])).status_code == 404
    assert client.post(reverse("jobs:cancel", args=[job.code])).status_code == 404
    assert "alice-private-job" not in client.get(reverse("jobs:list")).content.decode()
    client.force_login(alice)
    assert client.get(job.get_absolute_url()).status_code == 200


def test_it_lets_only_admins_start_the_worker_check(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("bob", password="x"))
    assert client.post(reverse("jobs:system_check")).status_code == 403
