"""Clone names and configs, as pure functions (no DB, no host)."""

from __future__ import annotations

import pytest

from domains import cfg
from domains.clones import naming

TEMPLATE = """name = "base"
type = "hvm"
memory = 1024
vcpus = 2
uuid = "6e0d6a5c-3d5e-4a58-9f0b-8c1f2d3e4a5b"
vif = ["bridge=bridge0,mac=00:16:3e:00:00:01", "bridge=bridge1"]
disk = ["/dev/zvol/zroot/xen/base-disk0,raw,hda,rw",
        "/dev/zvol/zroot/xen/base-disk1,raw,hdb,rw",
        "/iso/x.iso,raw,hdc,r,devtype=cdrom"]
vnc = 1
vnclisten = "127.0.0.1"
vncdisplay = 3
vncunused = 0
vncpasswd = "tplpass1"
"""


def test_it_expands_a_pattern_from_its_start_number():
    assert naming.expand("web-{n}", 3, 1) == ["web-1", "web-2", "web-3"]
    assert naming.expand("web-{n}", 2, 9) == ["web-9", "web-10"]
    assert naming.expand(" db ", 1) == ["db"]


def test_it_refuses_several_domus_without_a_placeholder():
    with pytest.raises(naming.PatternError, match=r"put \{n\} in the name"):
        naming.expand("web", 3)
    with pytest.raises(naming.PatternError, match="once"):
        naming.expand("{n}-{n}", 2)


def test_it_says_which_names_are_invalid_or_taken():
    problems = naming.check_names(["ok-1", "bad name", "web1", "Domain-0"], {"web1"})
    assert problems[0].startswith("bad name:")
    assert problems[1] == "web1: a domain of that name already exists on the host."
    assert problems[2].startswith("Domain-0:")
    assert len(problems) == 3


def test_it_picks_free_datasets_for_each_volume():
    taken = {"zroot/xen/web-1-disk0"}
    assert naming.datasets_for("zroot/xen", "web-1", 2, taken) == [
        "zroot/xen/web-1-disk1",
        "zroot/xen/web-1-disk2",
    ]


def test_it_reads_a_templates_disks_and_bridges():
    assert naming.config_disks(TEMPLATE) == ["zroot/xen/base-disk0", "zroot/xen/base-disk1"]
    assert naming.foreign_disks(TEMPLATE) == []
    assert naming.nic_bridges(TEMPLATE, "bridge9") == ["bridge0", "bridge1"]


def _spec(**changes):
    values = {
        "name": "web-1",
        "memory_mb": 2048,
        "vcpus": 1,
        "disks": {
            "zroot/xen/base-disk0": "zroot/xen/web-1-disk0",
            "zroot/xen/base-disk1": "zroot/xen/web-1-disk1",
        },
        "macs": ["00:16:3e:aa:bb:01", "00:16:3e:aa:bb:02"],
        "bridges": ["bridge0", "bridge2"],
        "vnc_display": 7,
        "vnc_password": "clonepw1",
    }
    return naming.CloneSpec(**(values | changes))


def test_it_gives_a_clone_its_own_name_disks_macs_and_console():
    text = naming.clone_config(TEMPLATE, _spec())
    parsed = cfg.parse(text)
    assert parsed.name == "web-1" and parsed.memory == 2048 and parsed.vcpus == 1
    assert [d.target for d in parsed.disks] == [
        "/dev/zvol/zroot/xen/web-1-disk0",
        "/dev/zvol/zroot/xen/web-1-disk1",
    ]
    assert not any(d.cdrom for d in parsed.disks)
    assert [(v.mac, v.bridge) for v in parsed.vifs] == [
        ("00:16:3e:aa:bb:01", "bridge0"),
        ("00:16:3e:aa:bb:02", "bridge2"),
    ]
    assert (parsed.vncdisplay, parsed.vncunused, parsed.vncpasswd) == (7, False, "clonepw1")
    assert "uuid" not in parsed.extra  # each domU gets its own from xl
    assert "base" not in text and "tplpass1" not in text


def test_it_refuses_a_disk_that_is_not_a_template_volume():
    with pytest.raises(ValueError, match="not one of its volumes"):
        naming.clone_config(TEMPLATE, _spec(disks={"zroot/xen/base-disk0": "zroot/xen/w-disk0"}))


def test_it_wants_a_mac_and_a_bridge_per_nic():
    with pytest.raises(ValueError, match="one MAC and one bridge per vif"):
        naming.clone_config(TEMPLATE, _spec(macs=["00:16:3e:aa:bb:01"]))


def test_a_clone_gets_none_of_the_templates_pci_devices():
    """A device goes to one domU at a time: N clones naming it would all claim it."""
    text = TEMPLATE + 'pci = ["0000:03:00.0", "04:00.1,permissive=1"]\npci_permissive = 1\n'
    assert naming.pci_devices(text) == ["0000:03:00.0", "04:00.1,permissive=1"]
    clone = naming.clone_config(text, _spec())
    assert cfg.parse(clone).pci == ()
    assert "pci" not in clone and "03:00.0" not in clone
