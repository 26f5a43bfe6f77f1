from __future__ import annotations

import pytest

from dom0.sim.xlcfg import PYTHON_WARNING, CfgError, parse_cfg
from dom0.sim.xldisk import Disk, DiskSpecError, parse_disk


def test_it_parses_the_grammar() -> None:
    cfg = parse_cfg(
        "# comment\nname = 'a' ; memory = 0x400\nvif = [\n  'bridge=bridge0',\n]\n"
        'name = "b"  # last wins\nextra = "x"\nextra += "y"\nlst = ["1"]\nlst += ["2"]\n'
        'esc = "a\\tb\\"c"',
        "t.cfg",
    )
    assert cfg.get_string("name") == "b"
    assert cfg.get_int("memory") == 1024
    assert cfg.get_list("vif") == ["bridge=bridge0"]
    assert cfg.get_string("extra") == "xy"
    assert cfg.get_list("lst") == ["1", "2"]
    assert cfg.get_string("esc") == 'a\tb"c'


@pytest.mark.parametrize(
    ("text", "line", "near"),
    [("Name = 'x'\n", 1, "Name"), ("a = 1\nb = -1\n", 2, "-1"), ("a = 'x\n", 1, "'x")],
)
def test_it_reports_lexical_errors(text: str, line: int, near: str) -> None:
    with pytest.raises(CfgError) as info:
        parse_cfg(text, "t.cfg")
    # `-` is one of the characters that make libxlu add its "looks like Python" warning.
    python = list(PYTHON_WARNING) if near.startswith("-") else []
    assert info.value.lines == [
        f"t.cfg:{line}: config parsing error near `{near}': lexical error",
        *python,
        "Failed to parse config: Invalid argument",
    ]


def test_it_reports_syntax_errors() -> None:
    with pytest.raises(CfgError) as info:
        parse_cfg("a = [ 'x' 'y' ]\n", "t.cfg")
    assert info.value.lines[0].startswith("t.cfg:1: config parsing error near `y': syntax error")


def test_it_warns_about_a_list_where_a_value_belongs() -> None:
    cfg = parse_cfg("memory = ['1']\n", "t.cfg")
    assert cfg.get_int("memory") is None
    assert cfg.warnings == [
        "t.cfg:1: warning: parameter `memory' is a list but should be a single value"
    ]


@pytest.mark.parametrize(
    ("spec", "disk"),
    [
        ("/dev/zvol/tank/d0,raw,hda,rw", Disk("/dev/zvol/tank/d0", "raw", "hda", True, False)),
        ("/root/f.iso,raw,hdc:cdrom,r", Disk("/root/f.iso", "raw", "hdc", False, True)),
        ("/dev/vg/guest,,hda", Disk("/dev/vg/guest", "raw", "hda", True, False)),
        ("/root/i.iso,,hdc,cdrom", Disk("/root/i.iso", "raw", "hdc", False, True)),
        (",hdc:cdrom,r", Disk("", "empty", "hdc", False, True)),
        ("phy:/dev/x,hda,w", Disk("/dev/x", "raw", "hda", True, False)),
        (
            "format=raw, vdev=hda, access=rw, target=/a,b:c",
            Disk("/a,b:c", "raw", "hda", True, False),
        ),
    ],
)
def test_it_parses_disk_specs(spec: str, disk: Disk) -> None:
    assert parse_disk(spec) == disk


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("/x,raw", "no vdev specified in `/x,raw'"),
        ("/x,qcow9,hda", "unknown value for format: near `qcow9' in `/x,qcow9,hda'"),
        ("/x,raw,hda,rx", "unknown value for access: near `rx' in `/x,raw,hda,rx'"),
        ("/x,raw,hda,rw,z", "too many positional parameters: near `z' in `/x,raw,hda,rw,z'"),
        ("/x,raw,hda,color=red", "unknown parameter: near `color=red' in `/x,raw,hda,color=red'"),
        ("vdev=hda", "no target specified (and device not removable) in `vdev=hda'"),
        ("/x,raw,hda,vdev=hdb", "vdev respecified: near `vdev=hdb' in `/x,raw,hda,vdev=hdb'"),
    ],
)
def test_it_refuses_bad_disk_specs(spec: str, message: str) -> None:
    with pytest.raises(DiskSpecError) as info:
        parse_disk(spec)
    assert str(info.value) == message
