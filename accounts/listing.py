"""Server-side list pages: search, filters, sort by column and pages, all kept in the URL.

Every list of the panel (hosts, volumes, ISO images, jobs, audit) reads its state from the query
string through one `Listing`, so a link, a reload or a poll shows the same rows. It lives in
`accounts`, the lowest room with Django, so that every room above may use it. Two lists on one
page (the Storage page's volumes and images) each take a `prefix` for their sort and page
parameters and keep the other's when they build a link.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from django.contrib.auth.models import Group
from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from accounts import access
from accounts.roles import ROLE_GROUPS

PAGE_SIZE = 50
#: How much of a typed filter is kept: enough for any name, bounded for the database.
TEXT_LIMIT = 100

M = TypeVar("M", bound=Model)


def clean_text(value: str) -> str:
    """A text filter as typed, without NUL characters (no database stores or compares them)."""
    return value.replace("\x00", "").strip()[:TEXT_LIMIT]


class Listing:
    """One list's search, filters, sort and page, read from the request's query string.

    `sorts` maps a column key to the model fields it orders by (ascending); `?sort=-key` sorts
    that column descending. An unknown key falls back to `default`, as any bad filter does.
    """

    def __init__(
        self,
        request: HttpRequest,
        *,
        filters: Iterable[str] = ("q",),
        sorts: Mapping[str, Sequence[str]],
        default: str,
        prefix: str = "",
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.request = request
        self.sort_param = f"{prefix}sort"
        self.page_param = f"{prefix}page"
        self.page_size = page_size
        self.params = {name: clean_text(request.GET.get(name, "")) for name in filters}
        self.sorts = sorts
        chosen = request.GET.get(self.sort_param, "")
        self.sort = chosen if chosen.lstrip("-") in sorts else default
        self.page: Page[Any] | None = None

    @property
    def q(self) -> str:
        return self.params.get("q", "")

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def ordered(self, qs: QuerySet[M]) -> QuerySet[M]:
        """Order by the chosen column, then by pk so that pages never share or skip a row."""
        fields = [
            (f[1:] if f.startswith("-") else f"-{f}") if self.descending else f
            for f in self.sorts[self.sort_key]
        ]
        return qs.order_by(*fields, "-pk" if self.descending else "pk")

    def paginate(self, qs: QuerySet[M]) -> Page[M]:
        """The chosen page of `qs` in the chosen order (a page past the end shows the last)."""
        self.page = Paginator(self.ordered(qs), self.page_size).get_page(
            self.request.GET.get(self.page_param)
        )
        return self.page

    def url(self, **changes: object) -> str:
        """This page's query string with `changes` applied (empty values dropped)."""
        query = self.request.GET.copy()
        for key, value in changes.items():
            query[key] = "" if value is None else str(value)
        for key in [k for k, v in query.lists() if not any(v)]:
            del query[key]
        encoded = query.urlencode()
        return f"?{encoded}" if encoded else self.request.path

    def sort_url(self, key: str) -> str:
        """Sort by `key`; the column already sorted ascending flips to descending."""
        value = f"-{key}" if self.sort == key else key
        return self.url(**{self.sort_param: value, self.page_param: ""})

    def page_url(self, number: int) -> str:
        return self.url(**{self.page_param: number})

    @property
    def filtered(self) -> bool:
        """Whether any filter narrows the list (for "no match" rather than "none yet")."""
        return any(self.params.values())


# --- owned objects: the owner and team filters --------------------------------------------------
def team_choices(user: Any) -> list[tuple[str, str]]:
    """The teams a list may be filtered by: all for admins, else the user's own (pk, name)."""
    teams = Group.objects.exclude(name__in=ROLE_GROUPS).order_by("name")
    if not access.is_admin(user):
        teams = teams.filter(user=user)
    return [(str(pk), name) for pk, name in teams.values_list("pk", "name")]


def filter_owned(qs: QuerySet[M], listing: Listing) -> QuerySet[M]:
    """Apply the `owner` (user name contains) and `team` (a team's pk) filters of an owned list.

    Only narrows what `access.owned_for_user` already let through: a team the user is not in
    finds nothing of theirs it could not already see.
    """
    if owner := listing.params.get("owner", ""):
        qs = qs.filter(owner__username__icontains=owner)
    team = listing.params.get("team", "")
    # A pk is a 64-bit integer at most: a longer number names no team (and no database takes it).
    if team.isascii() and team.isdigit() and len(team) <= 18:
        qs = qs.filter(team_id=int(team))
    return qs
