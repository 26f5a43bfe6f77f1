"""Send the CSRF token the way the panel's JavaScript does: read it from a form, send it back.

`static/js/upload.js` and `console.js` take the token from the page's `csrfmiddlewaretoken` input
(the cookie is HttpOnly) and send it in `X-CSRFToken`. Django's test client skips CSRF checks
unless it is made with `enforce_csrf_checks=True`; tests that check a non-POST write use such a
client and this helper.
"""

from __future__ import annotations

import re

from django.test import Client

_TOKEN_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token(client: Client, page: str) -> str:
    """Open `page` (one with a form) and return the token its form carries."""
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    match = _TOKEN_RE.search(response.content.decode())
    assert match, f"no csrfmiddlewaretoken on {page}"
    return match.group(1)
