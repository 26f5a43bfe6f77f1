"""Who may stop a job, and asking it to stop: one rule for the job page and the API."""

from __future__ import annotations

from accounts import access
from accounts.access import User
from jobs.enqueue import request_cancel
from jobs.models import Job


def cancel_for_user(user: User, job: Job) -> bool:
    """Ask `job` to stop on behalf of `user`; False when it had already ended.

    The caller found the job through `jobs.access` (so the user may see it); stopping someone
    else's job is for admins (PermissionDenied otherwise).
    """
    if job.requested_by_id != user.pk:
        access.require_admin(user)
    return request_cancel(job)
