"""Import fidelity (issue 17 item 16): what xl makes of a hand-written file; in-place edits."""

from __future__ import annotations

import dataclasses

import pytest

from dom0 import xlcfg
from dom0.errors import ParseError
from dom0.xlcfg import DiskSpec, DomainConfig
from domains import cfg

BASE = 'name = "g"\nmemory = 512\n'


def config(text: str, **kw: str) -> DomainConfig:
    return DomainConfig.from_settings(xlcfg.parse(BASE + text), **kw)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('builder = "linux"\n', "Invalid domain type linux."),
        ('type = "kvm"\n', "Invalid domain type kvm."),
        ('type = "hvm"\nbuilder = "generic"\n', 'Contradicting "builder" and "type" options'),
    ],
)
def test_types_xl_refuses_are_refused_with_its_message(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        config(text)


@pytest.mark.parametrize(
    ("text", "arch", "kind"),
    [
        ("", "x86_64", "pv"),
        ("", "amd64", "pv"),
        ("", "aarch64", "pvh"),
        ("", "arm64", "pvh"),
        ('type = "h"\n', "x86_64", "hvm"),  # compared as a prefix, like xl
        ('builder = "generic"\n', "x86_64", "pv"),
        ('builder = "hvm"\ntype = "hvm"\n', "x86_64", "hvm"),
    ],
)
def test_the_guest_type_is_what_xl_makes_of_it(text: str, arch: str, kind: str) -> None:
    assert config(text, arch=arch).builder == kind


@pytest.mark.parametrize("prefix", ["nbd", "enbd", "iscsi", "drbd"])
def test_deprecated_network_prefixes_become_a_block_script(prefix: str) -> None:
    disk = xlcfg.parse_disk(f"{prefix}:host:1234,xvda,w")
    assert disk.target == "host:1234"
    assert dict(disk.options) == {"script": f"block-{prefix}"}
    assert xlcfg.parse_disk(xlcfg.render_disk(disk)) == disk


def test_a_block_script_given_twice_is_refused() -> None:
    with pytest.raises(xlcfg.DiskSpecError, match="script respecified"):
        xlcfg.parse_disk("nbd:host:1,xvda,w,script=block-iscsi")


def test_vdev_and_type_split_at_the_last_colon() -> None:
    assert xlcfg.parse_disk("/x.iso,raw,xvd:c:cdrom,r").vdev == "xvd:c"
    disk = xlcfg.parse_disk("/dev/zvol/t/d,raw,hda:disk,w")
    assert (disk.vdev, disk.cdrom) == ("hda", False)
    with pytest.raises(xlcfg.DiskSpecError, match="unknown deprecated type"):
        xlcfg.parse_disk("/x,raw,hda:floppy,w")


@pytest.mark.parametrize(
    ("text", "enabled", "listen", "display"),
    [
        ('type = "hvm"\n', True, "127.0.0.1", None),  # libxl's HVM default is on
        ('type = "hvm"\nvnc = 0\n', False, "127.0.0.1", None),
        (
            'type = "pvh"\nvfb = [ "vnc=1,vnclisten=10.0.0.2,vncdisplay=3,vncunused=0" ]\n',
            True,
            "10.0.0.2",
            3,
        ),
        ('type = "pv"\nvfb = [ "sdl=0" ]\n', True, "127.0.0.1", None),  # a vfb's VNC defaults on
        ('type = "pv"\nvfb = [ "vnc=0" ]\nvnc = 1\n', False, "127.0.0.1", None),
        ('type = "pv"\nvnc = 1\nvnclisten = "10.0.0.1"\n', True, "10.0.0.1", None),
        ('type = "pvh"\n', False, "127.0.0.1", None),
    ],
)
def test_vnc_is_shown_as_libxl_sets_it_up(
    text: str, enabled: bool, listen: str, display: int | None
) -> None:
    values = cfg.summary(config(text))
    assert (values["vnc_enabled"], values["vnc_listen"], values["vnc_display"]) == (
        enabled,
        listen,
        display,
    )


HAND_WRITTEN = """\
# FreeBSD installer guest, set up by hand
builder = "hvm"   # old spelling
name = "fbsd"
memory = 2048; vcpus = 2

disk = [ '/dev/zvol/tank/fbsd,raw,hda,rw',    # the system
         '/root/FreeBSD-14.iso,raw,hdc:cdrom,r' ]
vif = [ 'bridge=bridge0' ]
# console
serial = "pty"
"""


def test_finish_install_keeps_the_users_comments_and_order() -> None:
    text = cfg.without_cdrom(HAND_WRITTEN)
    assert text == HAND_WRITTEN.replace(
        "disk = [ '/dev/zvol/tank/fbsd,raw,hda,rw',    # the system\n"
        "         '/root/FreeBSD-14.iso,raw,hdc:cdrom,r' ]",
        "disk = [\n    '/dev/zvol/tank/fbsd,raw,hda,rw',\n]",
    )
    assert cfg.parse(text) == xlcfg.without_cdroms(cfg.parse(HAND_WRITTEN))


def test_an_edit_rewrites_changed_keys_in_place_and_appends_new_ones() -> None:
    old = cfg.parse(HAND_WRITTEN)
    new = dataclasses.replace(old, memory=4096, maxmem=8192, serial=None)
    text = cfg.render_over(HAND_WRITTEN, new)
    assert "memory = 4096; vcpus = 2\n" in text
    assert "# console\n" in text and 'serial = "pty"' not in text
    assert text.endswith("maxmem = 8192\n")
    assert text.startswith('# FreeBSD installer guest, set up by hand\nbuilder = "hvm"   # old')
    assert cfg.parse(text) == new


def test_a_changed_type_replaces_the_old_builder_key() -> None:
    new = dataclasses.replace(
        cfg.parse(HAND_WRITTEN), builder="pvh", disks=(DiskSpec("xvda", "/d"),)
    )
    text = cfg.render_over(HAND_WRITTEN, new)
    assert "builder" not in text and 'type = "pvh"' in text
    assert cfg.parse(text).builder == "pvh"


def test_a_file_the_panel_wrote_is_rendered_afresh() -> None:
    panel = cfg.render(cfg.parse(HAND_WRITTEN))
    new = dataclasses.replace(cfg.parse(panel), memory=1024)
    assert cfg.render_over(panel, new) == cfg.render(new)
