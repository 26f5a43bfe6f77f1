"""xl.cfg parse/render: libxlu's grammar, disk and vif specs, DomainConfig, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dom0 import xlcfg
from dom0.errors import ParseError
from dom0.xlcfg import DiskSpec, DomainConfig, VifSpec

ANY = "0.0.0.0"  # noqa: S104 (a vnclisten value, not a bind)

# The handbook's freebsd.cfg, with its odd indentation and the deprecated cdrom spec.
HANDBOOK_CFG = """builder = "hvm"
name = "freebsd"
memory = 1024
vcpus = 2
vif = [ 'mac=00:16:3E:74:34:32,bridge=bridge0' ]
disk = [
'/dev/zvol/tank/xendisk0,raw,hda,rw',
'/root/freebsd.iso,raw,hdc:cdrom,r'
  ]
vnc = 1
vnclisten = "0.0.0.0"
serial = "pty"
usbdevice = "tablet"
"""

HANDBOOK_SETTINGS = {
    "builder": "hvm",
    "name": "freebsd",
    "memory": 1024,
    "vcpus": 2,
    "vif": ["mac=00:16:3E:74:34:32,bridge=bridge0"],
    "disk": ["/dev/zvol/tank/xendisk0,raw,hda,rw", "/root/freebsd.iso,raw,hdc:cdrom,r"],
    "vnc": 1,
    "vnclisten": ANY,
    "serial": "pty",
    "usbdevice": "tablet",
}


def test_it_parses_the_handbooks_file() -> None:
    assert xlcfg.parse(HANDBOOK_CFG) == HANDBOOK_SETTINGS


def test_it_renders_the_handbooks_settings_in_its_layout() -> None:
    text = xlcfg.render(HANDBOOK_SETTINGS)
    assert text.startswith("# Managed by xenpanel — ")
    assert 'builder = "hvm"\nname = "freebsd"\nmemory = 1024\n' in text
    assert "disk = [\n    '/dev/zvol/tank/xendisk0,raw,hda,rw',\n" in text
    assert xlcfg.parse(text) == HANDBOOK_SETTINGS
    assert xlcfg.render(HANDBOOK_SETTINGS) == text  # deterministic


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = 1", {"a": 1}),
        ("a=1;b=2;", {"a": 1, "b": 2}),
        ("a = 0x10\nb = 010\nc = 0", {"a": 16, "b": 8, "c": 0}),
        ("a = 09\nb = 0x\nc = 1abc", {"a": "09", "b": "0x", "c": "1abc"}),
        ("a = 99999999999999999999", {"a": "99999999999999999999"}),
        ('a = "1024"', {"a": "1024"}),
        ("a = 'it\\'s'", {"a": "it's"}),
        ('a = "\\"\\\\\\a\\b\\f\\n\\r\\t\\v"', {"a": '"\\\a\b\f\n\r\t\v'}),
        ('a = "# not a comment" # a comment\n', {"a": "# not a comment"}),
        ("# only a comment\n", {}),
        # libxlu drops one stray character that ends the file (flex's yymore meets the end).
        ("memory = 1024M", {"memory": 1024}),
        ("a = 1\n#", {"a": 1}),
        ("", {}),
        ("\n\n;;\n", {}),
        ("a = 1\na = 2", {"a": 2}),
        ("a = []", {"a": []}),
        ("a = [\n]", {"a": []}),
        ("a = [ 1, 'x', ]", {"a": [1, "x"]}),
        ("a = [\n  'x',\n\n  'y'\n  ,\n]\n", {"a": ["x", "y"]}),
        ("a = [[1, [2]], []]", {"a": [[1, [2]], []]}),
        ("a = 'x'\na += \"y\"", {"a": "xy"}),
        ("a = 10\na += 24", {"a": 1024}),
        ("a = 'x'\na += 1", {"a": "x1"}),
        ("a = ['x']\na += ['y', 'z']", {"a": ["x", "y", "z"]}),
        ("a += 'new'", {"a": "new"}),
        ("a.b_c.1 = 'k'", {"a.b_c.1": "k"}),
        ("a = 'x' ", {"a": "x"}),
        ("a = 'é'", {"a": "é"}),
    ],
)
def test_it_parses_libxlu_syntax(text: str, expected: dict[str, object]) -> None:
    assert xlcfg.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "line", "detail"),
    [
        ("Name = 'x'", 1, "near `Name': lexical error"),
        # libxlu's comment rule needs the newline: xl refuses a comment that ends the file.
        ("# only a comment", 1, "near `#': lexical error"),
        ("a = 1\n# the end", 2, "near `#': lexical error"),
        ("a = 1 # the end", 1, "near `#': lexical error"),
        ("a = -1", 1, "near `-1': lexical error"),
        ("a = 1.5", 1, "near `.5': lexical error"),
        ("memory = 1024M\n", 1, "near `M': lexical error"),
        ("memory = 1024MB", 1, "near `MB': lexical error"),
        ("a = 'x\\q'", 1, "lexical error"),
        ("a = 'x\\x41'", 1, "lexical error"),
        ("a = 'x", 1, "lexical error"),
        ("a = 'x\n'", 1, "lexical error"),
        ("a = 1\r\n", 1, "lexical error"),
        ("\n\na = 1 2", 3, "near `2': syntax error, unexpected NUMBER"),
        ("a = ", 1, "unexpected end of file"),
        ("a\n= 1", 1, "unexpected NEWLINE"),
        ("a =\n1", 1, "unexpected NEWLINE"),
        ("a = [1,,]", 1, "unexpected ','"),
        ("a = [1 2]", 1, "unexpected NUMBER"),
        ("a = [1", 1, "unexpected end of file"),
        ("= 1", 1, "unexpected '='"),
        ("a = b", 1, "unexpected IDENT"),
        ("a = 1\na += ['x']", 2, 'can\'t add [list] to "string" or vice versa'),
    ],
)
def test_it_refuses_what_libxlu_refuses(text: str, line: int, detail: str) -> None:
    with pytest.raises(xlcfg.XlCfgError) as info:
        xlcfg.parse(text, source="vm1.cfg")
    err = info.value
    assert isinstance(err, ParseError)
    assert err.line == line
    assert detail in err.detail
    assert str(err).startswith(f"vm1.cfg:{line}: ")


def test_it_refuses_to_render_what_cannot_round_trip() -> None:
    for bad in ({"A": 1}, {"a b": 1}, {"a": -1}, {"a": 2**63}, {"a": "x\x00"}, {"a": 1.5}):
        with pytest.raises((ValueError, TypeError)):
            xlcfg.render(bad)  # type: ignore[arg-type]
    assert xlcfg.render({"a": True, "b": []}, header=None) == "a = 1\nb = []\n"


# --- round trip --------------------------------------------------------------------------------

keys = st.from_regex(r"[a-z][._0-9a-z]{0,12}", fullmatch=True)
strings = st.text(
    st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\x00\x01\x02\x03\x04\x05\x06"
    ).filter(lambda ch: not ("\x0e" <= ch <= "\x1f")),
    max_size=20,
)
atoms = st.one_of(st.integers(0, xlcfg.LONG_MAX), strings)
values = st.recursive(atoms, lambda inner: st.lists(inner, max_size=4), max_leaves=12)


@given(st.dictionaries(keys, values, max_size=8))
def test_parse_reads_back_what_render_writes(settings: dict[str, xlcfg.Value]) -> None:
    assert xlcfg.parse(xlcfg.render(settings)) == settings


# --- disks -------------------------------------------------------------------------------------

ZVOL = DiskSpec(vdev="hda", target="/dev/zvol/tank/xendisk0")
ISO = DiskSpec(vdev="hdc", target="/root/freebsd.iso", access="r", cdrom=True)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("/dev/zvol/tank/xendisk0,raw,hda,rw", ZVOL),
        ("/dev/zvol/tank/xendisk0,,hda", ZVOL),
        ("/dev/zvol/tank/xendisk0,raw,hda", ZVOL),
        ("format=raw, vdev=hda, access=rw, target=/dev/zvol/tank/xendisk0", ZVOL),
        ("vdev=hda,target=/dev/zvol/tank/xendisk0", ZVOL),
        ("phy:/dev/zvol/tank/xendisk0,hda,w", ZVOL),
        ("raw:/dev/zvol/tank/xendisk0,hda,w", ZVOL),
        ("/root/freebsd.iso,raw,hdc:cdrom,r", ISO),
        ("/root/freebsd.iso,,hdc,cdrom", ISO),
        ("format=raw, vdev=hdc, access=ro, devtype=cdrom, target=/root/freebsd.iso", ISO),
        ("/root/freebsd.iso,raw,hdc,r,devtype=cdrom", ISO),
        (",hdc:cdrom,r", DiskSpec(vdev="hdc", format="empty", access="r", cdrom=True)),
        ("vdev=hdc,devtype=cdrom", DiskSpec(vdev="hdc", format="empty", access="r", cdrom=True)),
        (
            "vdev=xvda, backendtype=phy, direct-io-safe, target=/d/a,b:c",
            DiskSpec(
                vdev="xvda",
                target="/d/a,b:c",
                options=(("backendtype", "phy"),),
                flags=("direct-io-safe",),
            ),
        ),
        (
            "/x.qcow2,qcow2,xvdb,r",
            DiskSpec(vdev="xvdb", target="/x.qcow2", format="qcow2", access="r"),
        ),
    ],
)
def test_it_parses_disk_specs(spec: str, expected: DiskSpec) -> None:
    assert xlcfg.parse_disk(spec) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("/dev/x", "no vdev specified"),
        ("vdev=hda", "no target specified (and device not removable)"),
        ("/dev/x,bogus,hda", "unknown value for format"),
        ("/dev/x,raw,hda,rx", "unknown value for access"),
        ("/dev/x,raw,hda,rw,extra", "too many positional parameters"),
        ("vdev=hda,colour=red,target=/x", "unknown parameter"),
        ("vdev=hda,vdev=hdb,target=/x", "vdev respecified"),
        ("foo:/dev/x,hda", "unknown deprecated disk prefix"),
        ("/x,raw,hdc:floppy,r", "unknown deprecated type"),
        ("vdev=hda,devtype=tape,target=/x", "unknown value for type"),
        ("vdev=hda,backendtype=nfs,target=/x", "unknown value for backendtype"),
    ],
)
def test_it_refuses_bad_disk_specs(spec: str, message: str) -> None:
    with pytest.raises(xlcfg.DiskSpecError) as info:
        xlcfg.parse_disk(spec)
    assert str(info.value).startswith(f"config parsing error in disk specification: {message}")
    assert str(info.value).endswith(f"in `{spec}'")


def test_it_renders_disks_in_the_modern_form() -> None:
    assert xlcfg.render_disk(DiskSpec(vdev="hda", target="/dev/zvol/zroot/xen/vm1")) == (
        "format=raw, vdev=hda, access=rw, target=/dev/zvol/zroot/xen/vm1"
    )
    assert xlcfg.render_disk(DiskSpec(vdev="hdc", target="/p.iso", access="r", cdrom=True)) == (
        "format=raw, vdev=hdc, access=r, devtype=cdrom, target=/p.iso"
    )
    empty = DiskSpec(vdev="hdc", format="empty", access="r", cdrom=True)
    assert xlcfg.render_disk(empty) == "format=empty, vdev=hdc, access=r, devtype=cdrom"
    for bad in (
        DiskSpec(vdev="hda"),
        DiskSpec(vdev="hd,a", target="/x"),
        DiskSpec(vdev="hda", target="/x", format="vmdk"),
        DiskSpec(vdev="hda", target="/x\n"),
    ):
        with pytest.raises(ValueError):
            xlcfg.render_disk(bad)


plain = st.from_regex(r"[a-z0-9/._-]{1,12}", fullmatch=True)


@given(
    vdev=st.from_regex(r"(hd|xvd|sd)[a-z]", fullmatch=True),
    target=st.from_regex(r"/[ -~]{0,30}", fullmatch=True),
    fmt=st.sampled_from(["raw", "qcow", "qcow2", "vhd", "qed"]),
    access=st.sampled_from(["rw", "r"]),
    cdrom=st.booleans(),
    flags=st.lists(st.sampled_from(["direct-io-safe", "discard", "trusted"]), unique=True),
    script=st.one_of(st.none(), plain),
)
def test_parse_disk_reads_back_render_disk(
    vdev: str, target: str, fmt: str, access: str, cdrom: bool, flags: list[str], script: str | None
) -> None:
    disk = DiskSpec(
        vdev=vdev,
        target=target,
        format=fmt,
        access=access,  # type: ignore[arg-type]
        cdrom=cdrom,
        options=(("script", script),) if script else (),
        flags=tuple(flags),
    )
    assert xlcfg.parse_disk(xlcfg.render_disk(disk)) == disk


# --- vifs --------------------------------------------------------------------------------------


def test_it_parses_and_renders_vifs() -> None:
    vif = xlcfg.parse_vif("mac=00:16:3E:74:34:32,bridge=bridge0")
    assert vif == VifSpec(bridge="bridge0", mac="00:16:3E:74:34:32")
    assert xlcfg.render_vif(vif) == "bridge=bridge0,mac=00:16:3E:74:34:32"
    assert xlcfg.parse_vif("") == VifSpec()
    odd = xlcfg.parse_vif(" bridge=bridge0 , model=e1000, rate=10Mb/s, trusted,")
    assert odd == VifSpec(
        bridge="bridge0", model="e1000", options=(("rate", "10Mb/s"),), flags=("trusted",)
    )
    assert xlcfg.parse_vif(xlcfg.render_vif(odd)) == odd
    with pytest.raises(ValueError):
        xlcfg.render_vif(VifSpec(bridge="a,b"))


# --- DomainConfig ------------------------------------------------------------------------------


def test_it_reads_the_handbook_config() -> None:
    cfg = DomainConfig.from_settings(xlcfg.parse(HANDBOOK_CFG))
    assert (cfg.name, cfg.memory, cfg.vcpus, cfg.builder) == ("freebsd", 1024, 2, "hvm")
    assert cfg.disks == (ZVOL, ISO)
    assert cfg.vifs == (VifSpec(bridge="bridge0", mac="00:16:3E:74:34:32"),)
    assert (cfg.vnc, cfg.vnclisten, cfg.serial, cfg.usbdevice) == (True, ANY, "pty", "tablet")
    assert cfg.extra == {}
    assert xlcfg.cdrom_vdevs(cfg) == ["hdc"]
    installed = xlcfg.without_cdroms(cfg)
    assert installed.disks == (ZVOL,) and xlcfg.cdrom_vdevs(installed) == []


def test_it_renders_a_domain_config_that_reads_back() -> None:
    cfg = DomainConfig(
        name="vm1",
        memory=2048,
        vcpus=2,
        disks=(DiskSpec(vdev="hda", target="/dev/zvol/zroot/xen/vm1"), ISO),
        vifs=(VifSpec(bridge="bridge0", mac="00:16:3e:00:00:01"),),
        vnc=True,
        vnclisten="127.0.0.1",
        vncdisplay=3,
        vncunused=False,
        vncpasswd="s3cret",
        serial="pty",
        usbdevice=("tablet",),
        boot="dc",
        on_poweroff="destroy",
        on_reboot="restart",
        on_crash="preserve",
        pci=("01:00.0",),
        extra={"keymap": "de", "hap": 1},
    )
    text = xlcfg.render(cfg.to_settings())
    assert 'type = "hvm"\nname = "vm1"\nmemory = 2048\nvcpus = 2\nvif = [\n' in text
    assert "    'format=raw, vdev=hda, access=rw, target=/dev/zvol/zroot/xen/vm1',\n" in text
    assert DomainConfig.from_settings(xlcfg.parse(text)) == cfg


def test_it_reads_alternative_spellings_and_refuses_what_xl_refuses() -> None:
    cfg = DomainConfig.from_settings({"name": "a", "memory": "0x400", "builder": "generic"})
    assert (cfg.memory, cfg.builder, cfg.vcpus, cfg.disks) == (1024, "pv", 1, ())
    assert DomainConfig.from_settings({"name": "a", "memory": 1, "serial": ["pty"]}).serial == (
        "pty",
    )
    for bad, message in [
        ({"memory": 1}, "Domain name must be specified"),
        ({"name": "a"}, "memory must be specified"),
        ({"name": "a", "memory": "1G"}, "not a valid number"),
        ({"name": "a", "memory": [1]}, "is a list"),
        ({"name": "a", "memory": 1, "disk": "/x,raw,hda"}, "list of strings"),
        ({"name": "a", "memory": 1, "disk": ["/x"]}, "no vdev specified"),
        ({"name": "a", "memory": 1, "type": 1}, "must be a string"),
    ]:
        with pytest.raises(ParseError) as info:
            DomainConfig.from_settings(bad)  # type: ignore[arg-type]
        assert message in str(info.value)
    with pytest.raises(ValueError):
        DomainConfig(name="a", memory=1, extra={"memory": 2}).to_settings()


@given(
    name=st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,20}", fullmatch=True),
    memory=st.integers(32, 1 << 20),
    vcpus=st.integers(1, 64),
    vnc=st.one_of(st.none(), st.booleans()),
    passwd=st.one_of(st.none(), st.from_regex(r"[!#-&(-\[\]-~]{1,8}", fullmatch=True)),
    extra=st.dictionaries(st.from_regex(r"x[a-z_]{0,8}", fullmatch=True), values, max_size=3),
)
def test_domain_config_round_trips(
    name: str,
    memory: int,
    vcpus: int,
    vnc: bool | None,
    passwd: str | None,
    extra: dict[str, xlcfg.Value],
) -> None:
    cfg = DomainConfig(
        name=name,
        memory=memory,
        vcpus=vcpus,
        disks=(ZVOL, ISO),
        vifs=(VifSpec(bridge="bridge0"),),
        vnc=vnc,
        vncpasswd=passwd,
        extra=extra,
    )
    assert DomainConfig.from_settings(xlcfg.parse(xlcfg.render(cfg.to_settings()))) == cfg
