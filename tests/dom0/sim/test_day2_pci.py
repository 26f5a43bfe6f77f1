"""PCI devices of the simulated host: pciconf -l, xl pci-assignable-*, pci-list, pci = [...]."""

from __future__ import annotations

import re
from pathlib import Path

from dom0.sim import SimHost, make_shims

PCICONF_LINE = re.compile(
    r"^(?P<drv>[a-z]+\d+)@pci0:\d+:\d+:\d+:\tclass=0x[0-9a-f]{6} rev=0x[0-9a-f]{2} hdr=0x00 "
    r"vendor=0x[0-9a-f]{4} device=0x[0-9a-f]{4} subvendor=0x[0-9a-f]{4} "
    r"subdevice=0x[0-9a-f]{4}$"
)
PCI_CFG = """\
name = "gpu"
type = "hvm"
memory = 512
pci = [ '{bdf}' ]
"""


def run(host: SimHost, *argv: str) -> tuple[int, str, str]:
    result = host.run(list(argv))
    return result.rc, result.stdout, result.stderr


def drivers(host: SimHost) -> list[str]:
    out = run(host, "pciconf", "-l")[1]
    return [line.split("@", 1)[0] for line in out.splitlines()]


def test_pciconf_lists_the_fake_devices_in_the_real_format(host: SimHost) -> None:
    rc, out, _ = run(host, "pciconf", "-l")
    assert rc == 0
    lines = out.splitlines()
    assert all(PCICONF_LINE.match(line) for line in lines), lines
    assert lines[1] == (
        "em0@pci0:0:25:0:\tclass=0x020000 rev=0x04 hdr=0x00 vendor=0x8086 device=0x1502 "
        "subvendor=0x17aa subdevice=0x21f3"
    )
    assert drivers(host) == ["xhci0", "em0", "none0", "vgapci0", "nvme0", "igb0"]
    verbose = run(host, "pciconf", "-lv")[1].splitlines()
    assert verbose[1] == "    vendor     = 'Intel Corporation'"


def test_making_a_device_assignable_and_back(host: SimHost) -> None:
    assert run(host, "xl", "pci-assignable-list") == (0, "", "")
    assert run(host, "xl", "pci-assignable-add", "03:00.0") == (0, "", "")
    assert run(host, "xl", "pci-assignable-list") == (0, "0000:03:00.0 \n", "")
    assert drivers(host)[-1] == "none1"
    again = run(host, "xl", "pci-assignable-add", "0000:03:00.0")
    assert again == (
        0,
        "",
        "libxl: warning: libxl_pci.c:806:libxl__device_pci_assignable_add: "
        "0000:03:00.0 already assigned to pciback\n",
    )
    assert run(host, "xl", "pci-assignable-add", "0000:09:00.0")[0::2] == (
        1,
        "libxl: error: libxl_pci.c:796:libxl__device_pci_assignable_add: Couldn't lstat "
        "/sys/bus/pci/devices/0000:09:00.0: No such file or directory\n",
    )
    assert run(host, "xl", "pci-assignable-add", "bogus") == (
        2,
        "",
        'pci-assignable-add: malformed BDF "bogus"\n',
    )
    assert run(host, "xl", "pci-assignable-remove", "-r", "03:00.0") == (0, "", "")
    assert drivers(host)[-1] == "igb0"
    assert run(host, "xl", "pci-assignable-list")[1] == ""


def test_a_domu_gets_an_assignable_device_and_no_one_else_does(host: SimHost) -> None:
    cfg = host.path("/usr/local/etc/xen/gpu.cfg")
    cfg.write_text(PCI_CFG.format(bdf="01:00.0"))
    rc, _, err = run(host, "xl", "create", "/usr/local/etc/xen/gpu.cfg")
    assert rc == 3
    assert "PCI device 0:1:0.0 is not assignable" in err
    # The cause, then xl's second destroy of the domain libxl already removed (issue 17).
    assert "Domain 1:unable to add pci devices\nlibxl: error:" in err
    assert err.rstrip().endswith("Domain 1:Destruction of domain failed")
    assert run(host, "xl", "pci-assignable-add", "01:00.0")[0] == 0
    assert run(host, "xl", "create", "/usr/local/etc/xen/gpu.cfg")[0] == 0
    assert run(host, "xl", "pci-list", "gpu") == (0, "Vdev Device\n04.0 0000:01:00.0\n", "")
    assert run(host, "xl", "pci-assignable-list")[1] == ""
    host.path("/usr/local/etc/xen/gpu2.cfg").write_text(
        PCI_CFG.format(bdf="0000:01:00.0").replace('"gpu"', '"gpu2"')
    )
    rc, _, err = run(host, "xl", "create", "/usr/local/etc/xen/gpu2.cfg")
    assert rc == 3
    assert "PCI device 0000:01:00.0 already assigned to a different guest?" in err
    rc, _, err = run(host, "xl", "pci-assignable-remove", "01:00.0")
    assert rc == 1 and "failed to de-quarantine 0000:01:00.0" in err
    run(host, "xl", "destroy", "gpu")
    assert run(host, "xl", "pci-assignable-list")[1] == "0000:01:00.0 \n"


def test_the_pciconf_shim_runs_like_the_other_tools(host: SimHost, tmp_path: Path) -> None:
    import subprocess

    shims = make_shims(host.state_dir, tmp_path / "bin")
    out = subprocess.run([str(shims / "pciconf"), "-l"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("xhci0@pci0:0:20:0:\t")


def test_stock_freebsd_libxl_cannot_make_devices_assignable(host: SimHost) -> None:
    host.set_pciback(False)
    assert run(host, "xl", "pci-assignable-add", "0000:03:00.0") == (
        1,
        "",
        "libxl: error: libxl_pci.c:796:libxl__device_pci_assignable_add: Couldn't lstat "
        "/dev/null/0000:03:00.0: Not a directory\n",
    )
    assert run(host, "xl", "pci-assignable-list") == (
        0,
        "",
        "libxl: error: libxl_pci.c:450:libxl_device_pci_assignable_list: "
        "Couldn't open /dev/null: Not a directory\n",
    )
