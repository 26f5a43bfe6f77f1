"""`{% load listing %}`: sortable column headers and the pager of a server-side list.

`{% sort_th listing "name" "Host" %}` is a header that sorts by the column (again: the other
way), with an arrow on the column sorted by; `{% include "includes/pager.html" %}` shows the
count and the page links. Both build their links from the `accounts.listing.Listing`, so the
search and filters stay in the URL.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.listing import Listing

register = template.Library()


@register.simple_tag
def sort_th(listing: Listing, key: str, label: str, css: str = "") -> SafeString:
    arrow, sort = "", "none"
    if listing.sort_key == key:
        arrow, sort = ("↓", "descending") if listing.descending else ("↑", "ascending")
    return format_html(
        '<th class="{}" aria-sort="{}"><a class="sort-link" href="{}">{}</a>'
        '<span class="sort-arrow" aria-hidden="true">{}</span></th>',
        css,
        sort,
        listing.sort_url(key),
        label,
        arrow,
    )


@register.simple_tag
def page_url(listing: Listing, number: int) -> str:
    return listing.page_url(number)
