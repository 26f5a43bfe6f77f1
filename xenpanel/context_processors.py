"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest


def panel(request: HttpRequest) -> dict[str, object]:
    from accounts import access

    user = getattr(request, "user", None)
    signed_in = bool(user is not None and user.is_authenticated)
    return {
        "XENPANEL_VERSION": settings.XENPANEL_VERSION,
        "DEMO_ISO_URLS": settings.DEMO_ISO_URLS,  # `make demo`: its local ISOs, for the fetch form
        "FETCH_ALLOW_PRIVATE": settings.FETCH_ALLOW_PRIVATE,
        # For the nav: Audit and Users are links for admins only; the badge shows the role.
        "panel_is_admin": signed_in and user is not None and access.is_admin(user),
        "panel_role": access.role(user) if signed_in and user is not None else "",
    }
