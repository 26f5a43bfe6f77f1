"""Who may see a job: admins all; others the jobs they asked for and those on objects they see."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.http import Http404

from accounts import access
from accounts.access import User
from jobs.models import Job, JobQuerySet, JobTarget


def jobs_for_user(user: User) -> JobQuerySet:
    """Jobs the user may see: all for admins, else theirs and those on objects they may see.

    Visibility follows the targets' objects (by content type and primary key), never a name: the
    jobs of a deleted domU stay hidden from whoever later makes one of the same name.
    """
    qs = Job.objects.select_related("requested_by")
    if access.is_admin(user):
        return qs
    if not user.is_authenticated:
        return qs.none()
    return qs.filter(Q(requested_by=user) | Q(pk__in=_visible_target_jobs(user)))


def _visible_target_jobs(user: User) -> QuerySet[JobTarget, int]:
    condition = Q(pk__in=[])
    for model, visible in access.visible_querysets(user):
        ct = ContentType.objects.get_for_model(model)
        condition |= Q(content_type=ct, object_id__in=visible.values("pk"))
    return JobTarget.objects.filter(condition).values_list("job_id", flat=True)


def get_job_for_user(user: User, code: str) -> Job:
    job = jobs_for_user(user).filter(code=code).first()
    if job is None:
        raise Http404("No such job")
    return job
