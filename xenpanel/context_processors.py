"""Template context shared by every page."""

from django.conf import settings
from django.http import HttpRequest


def panel(request: HttpRequest) -> dict[str, object]:
    return {"XENPANEL_VERSION": settings.XENPANEL_VERSION}
