"""Day-2 xl: fixed MACs, pvh kernels, maxmem/maxvcpus, mem-set, vcpu-set, block and NIC hotplug."""

from __future__ import annotations

import json

from dom0.sim import SimHost

from .conftest import write_domu

DAY2_CFG = """\
name = "web"
type = "{type}"
{kernel}memory = 1024
maxmem = 2048
vcpus = 1
maxvcpus = 2
vif = [ 'mac=00:16:3e:12:34:56,bridge=bridge0', 'bridge=bridge0' ]
disk = [ '/dev/zvol/zroot/xen/web-disk0,raw,xvda,rw' ]
"""


def run(host: SimHost, *argv: str) -> tuple[int, str, str]:
    result = host.run(list(argv))
    return result.rc, result.stdout, result.stderr


def write_web(host: SimHost, type_: str = "hvm", kernel: str = "") -> str:
    assert run(host, "zfs", "create", "-V", "1G", "zroot/xen/web-disk0")[0] == 0
    cfg = "/usr/local/etc/xen/web.cfg"
    line = f'kernel = "{kernel}"\n' if kernel else ""
    host.path(cfg).write_text(DAY2_CFG.format(type=type_, kernel=line))
    return cfg


def long_config(host: SimHost, name: str = "web") -> dict:
    return json.loads(run(host, "xl", "list", "-l", name)[1])[0]["config"]


def test_a_fixed_mac_stays_and_a_missing_one_is_random_each_create(host: SimHost) -> None:
    cfg = write_web(host)
    macs = []
    for _ in range(2):
        assert run(host, "xl", "create", cfg)[0] == 0
        macs.append([n["mac"] for n in long_config(host)["nics"]])
        assert run(host, "xl", "destroy", "web")[0] == 0
    assert macs[0][0] == macs[1][0] == "00:16:3e:12:34:56"
    assert macs[0][1].startswith("00:16:3e:") and macs[0][1] != macs[1][1]


def test_maxmem_and_maxvcpus_show_in_the_long_listing(host: SimHost) -> None:
    assert run(host, "xl", "create", write_web(host))[0] == 0
    b_info = long_config(host)["b_info"]
    assert (b_info["max_memkb"], b_info["target_memkb"], b_info["max_vcpus"]) == (
        2048 * 1024,
        1024 * 1024,
        2,
    )


def test_pvh_needs_its_kernel_on_the_host(host: SimHost) -> None:
    cfg = write_web(host, "pvh", "/boot/domu/kernel")
    rc, _, err = run(host, "xl", "create", cfg)
    assert rc == 3
    assert "failed to open file '/boot/domu/kernel': No such file or directory" in err
    assert "cannot (re-)build domain: -3\n" in err
    assert err.rstrip().endswith("Destruction of domain failed")
    host.path("/boot/domu").mkdir(parents=True)
    host.path("/boot/domu/kernel").write_bytes(b"\x7fELF")
    assert run(host, "xl", "create", cfg)[0] == 0
    config = long_config(host)
    assert (config["c_info"]["type"], config["b_info"]["kernel"]) == ("pvh", "/boot/domu/kernel")


def test_mem_set_moves_the_target_within_maxmem(host: SimHost) -> None:
    assert run(host, "xl", "create", write_web(host))[0] == 0
    assert run(host, "xl", "mem-set", "web", "2048m") == (0, "", "")
    assert run(host, "xl", "list", "web")[1].splitlines()[1].split()[2] == "2048"
    domid = run(host, "xl", "domid", "web")[1].strip()
    assert run(host, "xl", "mem-set", "web", "4096m") == (
        1,
        "",
        f"libxl: error: libxl_mem.c:278:libxl_set_memory_target: Domain {domid}:"
        "memory_dynamic_max must be less than or equal to memory_static_max\n\n"
        f"cannot set domid {domid} dynamic max memory to : 4096m\n",
    )
    assert run(host, "xl", "mem-set", "web", "lots") == (1, "", "invalid memory size: lots\n")
    assert run(host, "xl", "mem-max", "web", "4g") == (0, "", "")
    assert run(host, "xl", "mem-set", "web", "4096m")[0] == 0
    assert long_config(host)["b_info"]["max_memkb"] == 4096 * 1024


def test_vcpu_set_stays_within_maxvcpus(host: SimHost) -> None:
    assert run(host, "xl", "create", write_web(host))[0] == 0
    domid = run(host, "xl", "domid", "web")[1].strip()
    assert run(host, "xl", "vcpu-set", "web", "2") == (0, "", "")
    assert run(host, "xl", "list", "web")[1].splitlines()[1].split()[3] == "2"
    rc, _, err = run(host, "xl", "vcpu-set", "web", "3")
    assert rc == 1
    assert err.splitlines()[-1] == (
        f"libxl_set_vcpuonline failed domid={domid} max_vcpus=3, rc: -3"
    )
    assert "Requested 3 VCPUs, however maxcpus is 2!" in err
    assert run(host, "xl", "vcpu-set", "web", "64") == (
        1,
        "",
        "You are overcommmitting! You have 8 physical CPUs and want 64 vCPUs! "
        "Aborting, use --ignore-host to continue\n",
    )


def test_block_attach_and_detach(host: SimHost) -> None:
    assert run(host, "xl", "create", write_web(host))[0] == 0
    run(host, "zfs", "create", "-V", "1G", "zroot/xen/web-disk1")
    spec = "format=raw,vdev=xvdb,access=rw,target=/dev/zvol/zroot/xen/web-disk1"
    assert run(host, "xl", "block-attach", "web", spec) == (0, "", "")
    vdevs = [d["vdev"] for d in long_config(host)["disks"]]
    assert vdevs == ["xvda", "xvdb"]
    assert run(host, "zfs", "destroy", "zroot/xen/web-disk1")[0] == 1  # now busy
    rc, _, err = run(host, "xl", "block-attach", "web", spec)
    assert rc == 1 and "device already exists in xenstore" in err
    missing = "format=raw,vdev=xvdc,access=rw,target=/dev/zvol/zroot/xen/none"
    assert run(host, "xl", "block-attach", "web", missing)[0::2] == (
        1,
        "libxl: error: libxl_device.c:468:libxl__device_disk_set_backend: Disk vdev=xvdc "
        "failed to stat: /dev/zvol/zroot/xen/none: No such file or directory\n"
        "libxl_device_disk_add failed.\n",
    )
    assert run(host, "xl", "block-attach", "nope", spec) == (
        1,
        "",
        "nope is an invalid domain identifier\n",
    )
    assert run(host, "xl", "block-detach", "web", "xvdb") == (0, "", "")
    assert run(host, "xl", "block-detach", "web", "xvdb") == (
        1,
        "",
        "Error: Device xvdb not connected.\n",
    )
    assert run(host, "zfs", "destroy", "zroot/xen/web-disk1") == (0, "", "")


def test_network_attach_list_and_detach(host: SimHost) -> None:
    cfg = write_domu(host)
    assert run(host, "xl", "create", cfg)[0] == 0
    mac = "00:16:3e:0a:0b:0c"
    assert run(host, "xl", "network-attach", "freebsd", "bridge=bridge0", f"mac={mac}") == (
        0,
        "",
        "",
    )
    out = run(host, "xl", "network-list", "freebsd")[1].splitlines()
    assert out[0] == (
        "Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path" + " " * 23
    )
    assert len(out) == 3
    assert out[2].startswith(f"1   0  {mac}     1     4 ")
    assert run(host, "xl", "network-attach", "freebsd", "colour=blue") == (
        1,
        "",
        "unrecognized argument `colour=blue'\n",
    )
    assert run(host, "xl", "network-detach", "freebsd", mac) == (0, "", "")
    assert run(host, "xl", "network-detach", "freebsd", mac) == (
        1,
        "",
        f"Unknown device {mac}.\n",
    )
    assert run(host, "xl", "network-detach", "freebsd", "0") == (0, "", "")
    assert len(run(host, "xl", "network-list", "freebsd")[1].splitlines()) == 1
