"""Lifecycle actions on many domUs at once: one job per domU through the same code as the domU
page (`flows.queue_lifecycle`), and one summary of what was queued and what was refused."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages

from accounts.access import User
from domains import actions, flows
from domains.access import domains_for_user

#: The bulk bar's actions (keys of actions.LIFECYCLE) and their past-tense verbs for messages.
ACTIONS: dict[str, str] = {"start": "started", "shutdown": "shut down", "destroy": "destroyed"}
#: At most this many domUs per request: one page of the list and then some.
MAX_IDS = 200


@dataclass
class Result:
    action: str
    queued: list[tuple[str, int]] = field(default_factory=list)  # (name, job pk)
    refused: list[str] = field(default_factory=list)  # one sentence per refused domU
    missing: int = 0  # ids the user cannot see (gone, or never theirs): not touched, not named

    def messages(self) -> list[tuple[int, str]]:
        verb = actions.LIFECYCLE[self.action][1]
        out: list[tuple[int, str]] = []
        if self.queued:
            jobs = ", ".join(f"{name} (job #{pk})" for name, pk in self.queued)
            out.append((messages.INFO, f"{verb}: {jobs}."))
        if self.refused:
            count = len(self.refused)
            out.append(
                (
                    messages.ERROR,
                    f"{count} domU{'s' if count != 1 else ''} not {ACTIONS[self.action]}: "
                    + " ".join(self.refused),
                )
            )
        if self.missing:
            out.append(
                (
                    messages.WARNING,
                    f"{self.missing} of the selected domUs no longer exist; nothing was done to "
                    "them. The list shows what is there now.",
                )
            )
        return out


def run(user: User, action: str, ids: list[int]) -> Result:
    """Queue `action` on each domU of `ids` the user may see, in name order.

    The caller checked that the user may operate (viewers get 403 before this); a domU the user
    cannot see is counted as missing, exactly as its page would answer 404.
    """
    wanted = list(dict.fromkeys(ids))[:MAX_IDS]
    domains = list(
        domains_for_user(user)
        .filter(pk__in=wanted)
        .select_related("host", "volume", "owner")
        .defer("host__facts", "host__readiness")
        .order_by("name", "host__name")
    )
    result = Result(action, missing=len(wanted) - len(domains))
    for domain in domains:
        try:
            job = flows.queue_lifecycle(domain, action, user)
        except flows.Refused as exc:
            result.refused.append(str(exc))
        else:
            result.queued.append((domain.name, job.pk))
    return result
