"""Pure logic of PCI passthrough: BDFs, `pci = [...]` in a config, who may be given which device,
and the IOMMU advisory (no DB, no I/O)."""

from __future__ import annotations

import pytest

from domains import cfg
from domains.pci import logic
from hosts import readiness

CONFIG = """type = "hvm"
name = "db1"
memory = 1024
vcpus = 1
disk = [ 'format=raw, vdev=hda, access=rw, target=/dev/zvol/zroot/xen/db1-disk0' ]
"""
LISTING = {
    "devices": [
        {"bdf": "0000:00:00.0", "driver": "hostb0", "class_code": "0x060000", "vendor": "0x8086",
         "device": "0x3e30", "description": "Host bridge"},
        {"bdf": "0000:00:19.0", "driver": "em0", "class_code": "0x020000", "vendor": "0x8086",
         "device": "0x1502", "description": "82579LM Gigabit"},
        {"bdf": "0000:03:00.0", "driver": "none0", "class_code": "0x020000", "vendor": "0x8086",
         "device": "0x10fb", "description": "82599ES 10G"},
        {"bdf": "0000:04:00.0", "driver": "none1", "class_code": "0x010700", "vendor": "0x1000",
         "device": "0x0097", "description": "SAS3008"},
    ],
    "assignable": ["0000:03:00.0", "0000:04:00.0"],
}  # fmt: skip


def attach(bdf: str, **overrides: object) -> str:
    values: dict[str, object] = {
        "domain_name": "db1",
        "running": False,
        "guest_type": "hvm",
        "current": [],
        "listing": LISTING,
        "holders": {},
    }
    values.update(overrides)
    return logic.attach_refusal(bdf, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("03:00.0", "0000:03:00.0"),
        ("0000:03:00.0", "0000:03:00.0"),
        ("0000:0A:1f.7", "0000:0a:1f.7"),
        ("3:0.1", "0000:03:00.1"),
        ("03:00.0@4", "0000:03:00.0"),
        ("0000:03:00.0,permissive=1,msitranslate=0", "0000:03:00.0"),
        (" 03:00.0 ", "0000:03:00.0"),
    ],
)
def test_it_reads_bdfs_in_every_form_xl_accepts(given: str, canonical: str) -> None:
    assert logic.canonical_bdf(given) == canonical


@pytest.mark.parametrize(
    "given", ["", "03:00", "03:00.8", "0000:03:20.0", "zz:00.0", "03:00.0; rm -rf /", "1:2:3:4.0"]
)
def test_it_refuses_what_is_not_a_bdf(given: str) -> None:
    with pytest.raises(logic.PciRefused):
        logic.canonical_bdf(given)


def test_it_adds_and_removes_pci_lines_in_a_config_that_xl_reads_back() -> None:
    config = cfg.parse(CONFIG)
    assert logic.config_pci(config) == []
    text = cfg.render(logic.with_pci(config, ["0000:03:00.0", "0000:04:00.0"]))
    assert "pci = [" in text and "'0000:03:00.0'," in text and "'0000:04:00.0'," in text
    again = cfg.parse(text)
    assert logic.config_pci(again) == ["0000:03:00.0", "0000:04:00.0"]
    assert again.memory == 1024 and again.disks == config.disks  # nothing else moved
    text = cfg.render(logic.with_pci(again, ["0000:04:00.0"]))
    assert logic.config_pci(cfg.parse(text)) == ["0000:04:00.0"]
    text = cfg.render(logic.with_pci(cfg.parse(text), []))
    assert "pci" not in text


def test_it_reads_pci_specs_with_options_from_a_hand_written_config() -> None:
    text = CONFIG + "pci = [ '03:00.0,permissive=1', '04:00.0@5', 'garbage' ]\n"
    config = cfg.parse(text)
    assert logic.config_pci(config) == ["0000:03:00.0", "0000:04:00.0"]
    # Attaching keeps the other entries verbatim; detaching drops every spec naming the device.
    specs = logic.pci_specs(config)
    added = logic.spec_changed(specs, "0000:05:00.0", attach=True)
    assert added == ["03:00.0,permissive=1", "04:00.0@5", "garbage", "0000:05:00.0"]
    assert logic.spec_changed(added, "0000:03:00.0", attach=False) == [
        "04:00.0@5",
        "garbage",
        "0000:05:00.0",
    ]


def test_it_shows_each_device_with_its_kind_whether_assignable_and_who_has_it() -> None:
    rows = logic.device_rows(LISTING, {"0000:03:00.0": ["db1"]})
    by_bdf = {r.bdf: r for r in rows}
    assert [r.bdf for r in rows] == sorted(by_bdf)
    assert by_bdf["0000:00:19.0"].kind == "network controller"
    assert by_bdf["0000:00:19.0"].driver == "em0" and not by_bdf["0000:00:19.0"].assignable
    assert by_bdf["0000:03:00.0"].assignable and by_bdf["0000:03:00.0"].holders == ("db1",)
    assert by_bdf["0000:04:00.0"].kind == "storage controller"
    assert by_bdf["0000:00:00.0"].kind == "bridge"


def test_it_keeps_an_assignable_device_the_dom0_no_longer_lists() -> None:
    listing = {"devices": [], "assignable": ["0000:05:00.0"]}
    (row,) = logic.device_rows(listing, {})
    assert row.bdf == "0000:05:00.0" and row.assignable and row.driver == ""


def test_it_lets_a_stopped_hvm_domu_take_a_free_assignable_device() -> None:
    assert attach("0000:03:00.0") == ""


def test_it_refuses_a_device_to_a_running_domu() -> None:
    assert "is running" in attach("0000:03:00.0", running=True)


def test_it_refuses_a_device_another_domu_already_has() -> None:
    why = attach("0000:03:00.0", holders={"0000:03:00.0": ["web1"]})
    assert "already given to web1" in why and "detach it there first" in why


def test_it_refuses_a_device_that_is_not_assignable() -> None:
    assert "not assignable" in attach("0000:00:19.0")  # the Dom0's own NIC


def test_it_refuses_until_the_devices_were_read() -> None:
    assert "Read the host's PCI devices first" in attach("0000:03:00.0", listing=None)


def test_it_refuses_a_device_to_a_pvh_guest_and_twice_to_the_same_domu() -> None:
    assert "PVH" in attach("0000:03:00.0", guest_type="pvh")
    assert "already has" in attach("0000:03:00.0", current=["0000:03:00.0"])


def test_it_detaches_only_from_a_stopped_domu_that_has_the_device() -> None:
    assert logic.detach_refusal("0000:03:00.0", domain_name="db1", running=False,
                                current=["0000:03:00.0"]) == ""  # fmt: skip
    assert "is running" in logic.detach_refusal(
        "0000:03:00.0", domain_name="db1", running=True, current=["0000:03:00.0"]
    )
    assert "has no" in logic.detach_refusal(
        "0000:03:00.0", domain_name="db1", running=False, current=[]
    )


def test_it_refuses_to_hide_a_bridge_or_an_unknown_device_from_the_dom0() -> None:
    assert logic.assignable_refusal("0000:00:19.0", add=True, listing=LISTING, holders={}) == ""
    assert "bridge" in logic.assignable_refusal(
        "0000:00:00.0", add=True, listing=LISTING, holders={}
    )
    assert "not in pciconf -l" in logic.assignable_refusal(
        "0000:09:00.0", add=True, listing=LISTING, holders={}
    )
    assert "first" in logic.assignable_refusal("0000:03:00.0", add=True, listing=None, holders={})


def test_it_gives_a_device_back_only_when_no_domu_names_it() -> None:
    assert logic.assignable_refusal("0000:04:00.0", add=False, listing=LISTING, holders={}) == ""
    assert "Detach it there first" in logic.assignable_refusal(
        "0000:04:00.0", add=False, listing=LISTING, holders={"0000:04:00.0": ["db1"]}
    )
    assert "already has it" in logic.assignable_refusal(
        "0000:00:19.0", add=False, listing=LISTING, holders={}
    )


def test_it_advises_on_the_iommu_without_failing_the_checklist() -> None:
    on = readiness.passthrough_advisory({"hvm", "hap", "hvm_directio"})
    off = readiness.passthrough_advisory({"hvm", "hap"})
    unknown = readiness.passthrough_advisory(None)
    assert on.status == readiness.PASS and "IOMMU on" in on.detail and "PVH Dom0" in on.detail
    assert off.status == readiness.ADVISORY and "IOMMU off" in off.detail and "VT-d" in off.fix
    assert unknown.status == readiness.UNKNOWN
    # Not one of the counted requirements: the handbook path works without passthrough.
    keys = [item.key for item in readiness.evaluate(readiness.Gathered())]
    assert "passthrough" not in keys
