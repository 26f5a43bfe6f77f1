"""Render and parse xl domain configuration files (xl.cfg(5)), as libxlu reads them.

One module per concern: `syntax` (libxlu's lexer and grammar), `render` (writing text),
`disks` and `vifs` (device specs), `domain` (the panel's model of a domU's settings) and `edit`
(changing some keys of an existing file in place, keeping its comments and order).
`parse(render(x)) == x` for every value `render` accepts.
"""

from dom0.errors import ParseError
from dom0.xlcfg.disks import (
    DISK_FLAGS,
    DISK_FORMATS,
    DiskSpec,
    DiskSpecError,
    parse_disk,
    render_disk,
)
from dom0.xlcfg.domain import DomainConfig, cdrom_vdevs, guest_type, without_cdroms
from dom0.xlcfg.edit import edit, edit_config
from dom0.xlcfg.render import HEADER, render
from dom0.xlcfg.syntax import LONG_MAX, Value, XlCfgError, parse
from dom0.xlcfg.vifs import VifSpec, parse_vif, render_vif
from dom0.xlcfg.vnc import VncView, vnc_view

__all__ = [
    "DISK_FLAGS",
    "DISK_FORMATS",
    "HEADER",
    "LONG_MAX",
    "DiskSpec",
    "DiskSpecError",
    "DomainConfig",
    "ParseError",
    "Value",
    "VifSpec",
    "XlCfgError",
    "cdrom_vdevs",
    "edit",
    "edit_config",
    "guest_type",
    "vnc_view",
    "VncView",
    "parse",
    "parse_disk",
    "parse_vif",
    "render",
    "render_disk",
    "render_vif",
    "without_cdroms",
]
