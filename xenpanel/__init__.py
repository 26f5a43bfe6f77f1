"""xenpanel: a web control panel for FreeBSD Xen Dom0 hosts."""

__version__ = "0.2.0"

from .celery import app as celery_app  # noqa: E402

__all__ = ["celery_app", "__version__"]
