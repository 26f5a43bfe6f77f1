"""DomainConfig's day-2 fields (issue 13): `maxmem`, `maxvcpus`, `kernel` and `pci`.

xl.cfg(5) (xen docs/man/xl.cfg.5.pod.in): `maxmem=MBYTES` and `maxvcpus=M` are the ceilings that
`xl mem-set` and `xl vcpu-set` may reach on a running domU; `kernel="PATHNAME"` is the kernel or
PVH boot loader of a PVH guest; `pci=[ "PCI_SPEC_STRING", ... ]` with specs
`[DDDD:]BB:SS.F[@VSLOT][,key=value...]` (docs/man/xl-pci-configuration.5.pod). The panel writes
`kernel` after `type`, `maxmem`/`maxvcpus` after `vcpus` and `pci` after `disk`.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dom0 import xlcfg
from dom0.errors import ParseError
from dom0.xlcfg import DiskSpec, DomainConfig, VifSpec

PVH = DomainConfig(
    name="web1",
    memory=1024,
    vcpus=2,
    builder="pvh",
    kernel="/usr/local/lib/grub-xen/grub-x86_64-xen.bin",
    maxmem=4096,
    maxvcpus=8,
    disks=(DiskSpec(vdev="xvda", target="/dev/zvol/tank/xen/web1"),),
    vifs=(VifSpec(bridge="bridge0", mac="00:16:3e:00:00:01"),),
    pci=("03:00.0", "0000:04:00.1,permissive=1"),
    on_crash="preserve",
)

TEXT = """\
# Managed by xenpanel — the panel rewrites this file; edit the domain in the panel.
type = "pvh"
kernel = "/usr/local/lib/grub-xen/grub-x86_64-xen.bin"
name = "web1"
memory = 1024
vcpus = 2
maxmem = 4096
maxvcpus = 8
vif = [
    'bridge=bridge0,mac=00:16:3e:00:00:01',
]
disk = [
    'format=raw, vdev=xvda, access=rw, target=/dev/zvol/tank/xen/web1',
]
pci = [
    '03:00.0',
    '0000:04:00.1,permissive=1',
]
on_crash = "preserve"
"""


def test_it_writes_the_new_keys_in_the_panels_order() -> None:
    assert xlcfg.render(PVH.to_settings()) == TEXT


def test_it_reads_the_new_keys_back() -> None:
    assert DomainConfig.from_settings(xlcfg.parse(TEXT)) == PVH


def test_unset_keys_are_not_written_and_read_as_unset() -> None:
    cfg = DomainConfig(name="vm1", memory=512)
    settings = cfg.to_settings()
    assert not {"maxmem", "maxvcpus", "kernel", "pci"} & set(settings)
    back = DomainConfig.from_settings(xlcfg.parse(xlcfg.render(settings)))
    assert (back.maxmem, back.maxvcpus, back.kernel, back.pci) == (None, None, None, ())


def test_it_reads_hand_written_spellings() -> None:
    text = 'name = "a"\nmemory = 512\nmaxmem = "2048"\nmaxvcpus = 0x4\npci = [ "03:00.0" ]\n'
    cfg = DomainConfig.from_settings(xlcfg.parse(text))
    assert (cfg.maxmem, cfg.maxvcpus, cfg.pci, cfg.extra) == (2048, 4, ("03:00.0",), {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('name = "a"\nmemory = 512\nmaxmem = "lots"\n', "`maxmem' is not a valid number"),
        ('name = "a"\nmemory = 512\nmaxvcpus = [1]\n', "`maxvcpus' is a list"),
        ('name = "a"\nmemory = 512\npci = "03:00.0"\n', "`pci' should be a list of strings"),
        ('name = "a"\nmemory = 512\nkernel = 1\n', "kernel must be a string"),
    ],
)
def test_it_refuses_what_xl_would_refuse(text: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        DomainConfig.from_settings(xlcfg.parse(text))
    assert message in str(info.value)


def test_the_new_keys_are_modelled_not_extra() -> None:
    for key in ("maxmem", "maxvcpus", "kernel", "pci"):
        with pytest.raises(ValueError):
            DomainConfig(name="a", memory=1, extra={key: 1}).to_settings()


plain = st.from_regex(r"[A-Za-z0-9/._:@,=-]{0,40}", fullmatch=True)


@given(
    builder=st.sampled_from(["hvm", "pvh", "pv"]),
    kernel=st.one_of(st.none(), plain),
    maxmem=st.one_of(st.none(), st.integers(0, 1 << 24)),
    maxvcpus=st.one_of(st.none(), st.integers(0, 128)),
    pci=st.lists(plain, max_size=4).map(tuple),
    memory=st.integers(32, 1 << 20),
    vcpus=st.integers(1, 128),
)
def test_domain_configs_with_the_new_fields_round_trip(
    builder: str,
    kernel: str | None,
    maxmem: int | None,
    maxvcpus: int | None,
    pci: tuple[str, ...],
    memory: int,
    vcpus: int,
) -> None:
    cfg = DomainConfig(
        name="vm1",
        memory=memory,
        vcpus=vcpus,
        builder=builder,
        kernel=kernel,
        maxmem=maxmem,
        maxvcpus=maxvcpus,
        pci=pci,
    )
    assert DomainConfig.from_settings(xlcfg.parse(xlcfg.render(cfg.to_settings()))) == cfg
