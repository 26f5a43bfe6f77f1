"""The domU list's query: search, filters, sort and page from the URL, and each row's fingerprint.

The list reads only the columns it shows (never `Host.facts` or `readiness`, two JSON documents
per host that cost more to decode than the whole page costs to render) in a fixed number of
queries, whatever the number of rows. A row's fingerprint is a short hash of what its row shows;
the page polls with the fingerprints it has and gets back only the rows whose hash differs.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import QueryDict

from accounts.access import User
from domains.access import domains_for_user
from domains.models import Domain, DomainState, domain_lock_key
from jobs.choices import ACTIVE_JOB_STATUSES
from jobs.models import JobTarget
from storage.models import Volume

PER_PAGE = 50
#: Sort keys the URL may name (a leading "-" reverses) -> the columns they order by.
SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name", "host__name"),
    "host": ("host__name", "name"),
    "state": ("state", "host__name", "name"),
    "domid": ("domid", "host__name", "name"),
    "memory_mb": ("memory_mb", "host__name", "name"),
    "vcpus": ("vcpus", "host__name", "name"),
    "vnc": ("vnc_display", "host__name", "name"),
    "owner": ("owner__username", "host__name", "name"),
}
DEFAULT_SORT = "host"
#: The columns a row shows, in `Row`'s order; everything else of a Domain stays in the database.
ROW_FIELDS = (
    "pk", "code", "name", "host_id", "host__name", "host__code", "state", "state_letters",
    "domid", "memory_mb", "vcpus", "vnc_enabled", "vnc_display", "owner_id", "owner__username",
    "team_id", "team__name", "tags", "restart_pending", "volume__state",
)  # fmt: skip
#: The URL's filter keys, in the order links write them.
FILTERS = ("q", "host", "state", "owner", "team", "tag")


@dataclass(frozen=True)
class ListQuery:
    """What the URL asks for: search, filters, sort and page (unknown values are dropped)."""

    q: str = ""
    host: str = ""
    state: str = ""
    owner: str = ""
    team: str = ""
    tag: str = ""
    sort: str = DEFAULT_SORT
    page: str = "1"
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: QueryDict | dict[str, str]) -> ListQuery:
        def word(key: str, limit: int = 64) -> str:
            # PostgreSQL text cannot hold NUL: a NUL in a search would be a 500, not "no match".
            return str(params.get(key) or "").replace("\x00", "").strip()[:limit]

        sort = word("sort")
        if sort.lstrip("-") not in SORTS:
            sort = DEFAULT_SORT
        state = word("state")
        if state not in DomainState.values:
            state = ""
        page = word("page", 8)
        return cls(
            q=word("q"),
            host=word("host"),
            state=state,
            owner=word("owner", 150),
            team=word("team", 150),
            tag=word("tag"),
            sort=sort,
            page=page if page.isdigit() else "1",
        )

    def params(self, **changes: str) -> dict[str, str]:
        """The non-empty values as URL parameters (the defaults left out), with `changes`."""
        values = {k: getattr(self, k) for k in (*FILTERS, "sort", "page")} | changes
        if values.get("sort") == DEFAULT_SORT:
            values.pop("sort")
        if values.get("page") == "1":
            values.pop("page")
        return {k: v for k, v in values.items() if v}

    def urlencode(self, **changes: str) -> str:
        query = QueryDict(mutable=True)
        query.update(self.params(**changes))
        return query.urlencode()

    @property
    def filtered(self) -> bool:
        return any(getattr(self, k) for k in FILTERS)


@dataclass(slots=True)
class Row:
    """A listed domU: the columns of `ROW_FIELDS` as plain values (building a model instance per
    joined table cost more than the query), then what `decorate` adds."""

    pk: int
    code: uuid.UUID
    name: str
    host_id: int
    host_name: str
    host_code: uuid.UUID
    state: str
    state_letters: str
    domid: int | None
    memory_mb: int
    vcpus: int
    vnc_enabled: bool
    vnc_display: int | None
    owner_id: int | None
    owner_name: str | None
    team_id: int | None
    team_name: str | None
    tags: list[str]
    restart_pending: bool
    volume_state: str | None
    busy_job: int | None = None
    busy_code: uuid.UUID | None = None
    never_made: bool = False
    fingerprint: str = ""

    get_absolute_url = Domain.get_absolute_url
    is_present = Domain.is_present
    vnc_port = Domain.vnc_port


def rows_for_user(user: User) -> QuerySet[Domain, tuple[Any, ...]]:
    """The user's domUs as tuples of just the columns a row shows (one query, joined)."""
    return domains_for_user(user).select_related(None).values_list(*ROW_FIELDS)


def to_rows(values: Any) -> list[Row]:
    return [Row(*v) for v in values]


def filtered(user: User, query: ListQuery) -> QuerySet[Domain]:
    """The user's domUs the query selects, in its order (joins only for what it filters on)."""
    qs = domains_for_user(user).select_related(None)
    if query.q:
        qs = qs.filter(name__icontains=query.q)
    if query.host:
        qs = qs.filter(host__name=query.host)
    if query.state:
        qs = qs.filter(state=query.state)
    if query.owner:
        qs = qs.filter(owner__username=query.owner)
    if query.team:
        qs = qs.filter(team__name=query.team)
    if query.tag:
        # JSON text match of the quoted tag: works on SQLite, which has no JSON `contains`.
        qs = qs.filter(tags__icontains=json.dumps(query.tag))
    columns = SORTS[query.sort.lstrip("-")]
    if query.sort.startswith("-"):
        columns = tuple(f"-{c}" for c in columns)
    return qs.order_by(*columns, "pk")


def page_of(user: User, query: ListQuery) -> tuple[Page, list[Row]]:
    """The page the query asks for and its rows. The page is counted on the domU table alone;
    only its rows are read with the joined columns."""
    page = Paginator(filtered(user, query), PER_PAGE).get_page(query.page)
    # Sorting narrow rows (pk and the sort columns) and then reading the page's 50 by pk is
    # cheaper than sorting every matching row with all its joined columns.
    keys: QuerySet[Domain] = page.object_list  # type: ignore[assignment]  # a sliced QuerySet
    order = list(keys.values_list("pk", flat=True))
    found = {d.pk: d for d in to_rows(rows_for_user(user).filter(pk__in=order).order_by())}
    return page, [found[pk] for pk in order if pk in found]


def busy_jobs(domains: list[Row]) -> dict[int, tuple[int, Any]]:
    """domU pk -> (pk, code) of the oldest active job on it (one query for the whole page)."""
    if not domains:
        return {}
    by_key = {domain_lock_key(d.pk): d.pk for d in domains}
    rows = JobTarget.objects.filter(
        lock_key__in=list(by_key), job__status__in=ACTIVE_JOB_STATUSES
    ).values_list("lock_key", "job_id", "job__code")
    return {by_key[key]: (pk, code) for key, pk, code in sorted(rows, key=lambda r: -r[1])}


def decorate(domains: list[Row]) -> list[Row]:
    """Set what a row shows beyond its columns: its active job, 'never created', fingerprint."""
    busy = busy_jobs(domains)
    for d in domains:
        d.busy_job, d.busy_code = busy.get(d.pk, (None, None))
        # A cancelled create (records.never_made) that no job is finishing: offer Delete.
        d.never_made = d.volume_state == Volume.State.CREATING and d.busy_job is None
        d.fingerprint = fingerprint(d)
    return domains


def fingerprint(d: Row) -> str:
    """A short hash of everything the row shows (CPU time is left out on purpose: it changes
    at every poll of a running domU, and a list that re-sent every running row would cost as
    much as re-sending the table)."""
    seen: tuple[Any, ...] = (
        d.name, d.host_id, d.host_name, d.state, d.state_letters, d.domid, d.memory_mb, d.vcpus,
        d.vnc_enabled, d.vnc_display, d.owner_id, d.team_id, d.tags, d.restart_pending,
        d.never_made, d.busy_job,
    )  # fmt: skip
    return hashlib.blake2b(repr(seen).encode(), digest_size=4).hexdigest()


# --- the poll's token: "pk.fingerprint" for each row on the page ---------------------------------
MAX_ROWS = 200


def token(domains: list[Row]) -> str:
    return "_".join(f"{d.pk}.{d.fingerprint}" for d in domains)


def parse_token(text: str) -> dict[int, str]:
    """pk -> fingerprint from a token (anything malformed is skipped; at most MAX_ROWS rows)."""
    seen: dict[int, str] = {}
    for part in text.split("_")[:MAX_ROWS]:
        pk, _, fp = part.partition(".")
        if pk.isdigit() and len(pk) < 19 and len(fp) == 8:
            seen[int(pk)] = fp
    return seen


@dataclass(frozen=True)
class Changes:
    rows: list[Row]  # rows whose fingerprint differs, in the page's order
    gone: list[int]  # pks on the page the user can no longer see (deleted, or moved away)
    current: list[Row]  # every row still on the page, for the next token
    fast: bool  # a job runs on one of them


def changes(user: User, seen: dict[int, str]) -> Changes:
    """What changed among the rows the page shows: two queries, whatever the page's size."""
    order = list(seen)
    found = {d.pk: d for d in to_rows(rows_for_user(user).filter(pk__in=order).order_by())}
    current = decorate([found[pk] for pk in order if pk in found])
    return Changes(
        rows=[d for d in current if d.fingerprint != seen[d.pk]],
        gone=[pk for pk in order if pk not in found],
        current=current,
        fast=any(d.busy_job for d in current),
    )


def owners_and_teams(user: User) -> tuple[list[str], list[str]]:
    """The owners' and teams' names among the user's domUs (the filter choices)."""
    qs = domains_for_user(user).select_related(None).order_by()
    owners = qs.exclude(owner=None).values_list("owner__username", flat=True).distinct()
    teams = qs.exclude(team=None).values_list("team__name", flat=True).distinct()
    return sorted(owners), sorted(teams)
