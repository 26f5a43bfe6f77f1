"""What the argv builders share: where the panel may touch files on a host, and how a domain is
named on xl's command line."""

from __future__ import annotations

from dataclasses import dataclass

from dom0 import validate
from dom0.errors import ValidationError

__all__ = ["DEFAULT_POLICY", "PathPolicy", "domain_arg"]


@dataclass(frozen=True)
class PathPolicy:
    """Where the panel may touch files on one host.

    `config_dir` holds the xl configs the panel writes, `iso_dir` the installer images, and
    `zvol_dir` is where ZFS volumes appear as devices (disks may point there, never written).
    """

    config_dir: str = "/usr/local/etc/xen/xenpanel"
    iso_dir: str = "/var/lib/xenpanel/iso"
    zvol_dir: str = "/dev/zvol"

    @property
    def writable_roots(self) -> tuple[str, str]:
        return (self.config_dir, self.iso_dir)

    @property
    def disk_roots(self) -> tuple[str, str]:
        return (self.zvol_dir, self.iso_dir)


DEFAULT_POLICY = PathPolicy()


def domain_arg(dom: str | int, field: str = "domain", *, allow_dom0: bool = False) -> str:
    """Return a domain argument: a validated name or a non-negative id as text."""
    if isinstance(dom, bool):
        raise ValidationError(field, "must be a domain name or id", dom)
    if isinstance(dom, int) or (isinstance(dom, str) and dom.isascii() and dom.isdigit()):
        domid = int(dom)
        if domid < 0:
            raise ValidationError(field, "a domain id must not be negative", dom)
        if domid == 0 and not allow_dom0:
            raise ValidationError(field, "this action is not allowed on Domain-0 (the host)", dom)
        return str(domid)
    if allow_dom0 and dom == "Domain-0":
        return dom
    return validate.domain_name(dom, field)
