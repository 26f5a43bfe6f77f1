from __future__ import annotations

import pytest

from dom0.sim import SimHost, seed_host
from dom0.sim.zfsnames import ZfsValueError, nicenum, parse_size

from .conftest import write_domu

VOL_PROPS = "name,volsize,used,referenced,available,refreservation,volmode"


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1536M", 1536 * 2**20),
        ("1.5g", 1536 * 2**20),
        ("1.50GB", 1536 * 2**20),
        ("20GiB", 20 * 2**30),
        ("512", 512),
        ("16k", 16384),
        ("1T", 2**40),
    ],
)
def test_it_parses_sizes_in_powers_of_1024(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x", "bad numeric value 'x'"),
        ("1BB", "invalid numeric suffix 'BB'"),
        ("1BiB", "invalid numeric suffix 'BiB'"),
        ("2Q", "invalid numeric suffix 'Q'"),
        ("1Z", "numeric value is too large"),
    ],
)
def test_it_refuses_bad_sizes(text: str, message: str) -> None:
    with pytest.raises(ZfsValueError, match=message):
        parse_size(text)


def test_it_formats_numbers_like_zfs() -> None:
    assert [nicenum(n) for n in (512, 16384, 1536 * 2**20, 20 * 2**30 + 1)] == [
        "512",
        "16K",
        "1.50G",
        "20.0G",
    ]


def test_it_creates_a_volume_with_its_device_node(host: SimHost) -> None:
    result = host.run(["zfs", "create", "-V", "20G", "-o", "volmode=dev", "zroot/xen/d0"])
    assert (result.rc, result.stdout, result.stderr) == (0, "", "")
    assert host.path("/dev/zvol/zroot/xen/d0").exists()
    listing = host.run(["zfs", "list", "-H", "-p", "-t", "volume", "-o", VOL_PROPS])
    line = next(x for x in listing.stdout.splitlines() if x.startswith("zroot/xen/d0\t"))
    name, volsize, used, refer, avail, refres, volmode = line.split("\t")
    assert (volsize, used, refres, volmode) == (str(20 * 2**30),) * 3 + ("dev",)
    assert int(refer) < 2**20 and int(avail) > 0
    get = host.run(["zfs", "get", "-H", "-p", "-o", "value", "volsize", "zroot/xen/d0"])
    assert get.stdout == f"{20 * 2**30}\n"


def test_it_rounds_volsize_up_to_the_block_size(host: SimHost) -> None:
    host.run(["zfs", "create", "-V", "1000", "zroot/xen/tiny"])
    out = host.run(["zfs", "get", "-H", "-p", "-o", "value", "volsize", "zroot/xen/tiny"])
    assert out.stdout == "16384\n"


@pytest.mark.parametrize(
    ("argv", "stderr"),
    [
        (["-V", "1X", "zroot/xen/a"], "bad volume size '1X': invalid numeric suffix 'X'\n"),
        (["-V", "0", "zroot/xen/a"], "cannot create 'zroot/xen/a': volume size cannot be zero\n"),
        (
            ["-V", "1G", "zroot/xen/a$"],
            "cannot create 'zroot/xen/a$': invalid character '$' in name\n",
        ),
        (["-V", "1G", "/zroot/a"], "cannot create '/zroot/a': leading slash in name\n"),
        (["-V", "1G", "zroot/xen/"], "cannot create 'zroot/xen/': trailing slash in name\n"),
        (
            ["-V", "1G", "zroot//a"],
            "cannot create 'zroot//a': empty component or misplaced '@' or '#' delimiter in name\n",
        ),
        (["-V", "1G", "tank/a"], "cannot open 'tank': no such pool\n"),
        (["-V", "1G", "zroot/no/a"], "cannot create 'zroot/no/a': parent does not exist\n"),
        (
            ["-V", "1G", "zroot/xen/legacy0"],
            "cannot create 'zroot/xen/legacy0': dataset already exists\n",
        ),
    ],
)
def test_it_refuses_bad_creates(host: SimHost, argv: list[str], stderr: str) -> None:
    result = host.run(["zfs", "create", *argv])
    assert (result.rc, result.stderr) == (1, stderr)


def test_it_refuses_a_name_too_long(host: SimHost) -> None:
    long_name = "zroot/xen/" + "a" * 300
    assert host.run(["zfs", "create", "-V", "1G", long_name]).stderr.endswith("name is too long\n")


def test_it_runs_out_of_space_unless_sparse(tmp_path) -> None:
    small = seed_host(tmp_path / "small", pool_size=100 * 2**30)
    full = small.run(["zfs", "create", "-V", "90G", "zroot/xen/big"])
    assert (full.rc, full.stderr) == (1, "cannot create 'zroot/xen/big': out of space\n")
    assert small.run(["zfs", "create", "-s", "-V", "90G", "zroot/xen/big"]).rc == 0
    refres = small.run(["zfs", "get", "-H", "-p", "-o", "value", "refreservation", "zroot/xen/big"])
    assert refres.stdout == "0\n"


def test_it_refuses_to_destroy_a_volume_a_domu_uses(host: SimHost) -> None:
    host.run(["xl", "create", write_domu(host)])
    busy = host.run(["zfs", "destroy", "zroot/xen/freebsd-disk0"])
    assert (busy.rc, busy.stderr) == (
        1,
        "cannot destroy 'zroot/xen/freebsd-disk0': dataset is busy\n",
    )
    host.run(["xl", "destroy", "freebsd"])
    assert host.run(["zfs", "destroy", "zroot/xen/freebsd-disk0"]).rc == 0
    assert not host.path("/dev/zvol/zroot/xen/freebsd-disk0").exists()
    gone = host.run(["zfs", "destroy", "zroot/xen/freebsd-disk0"])
    assert gone.stderr == "cannot open 'zroot/xen/freebsd-disk0': dataset does not exist\n"


def test_it_needs_r_to_destroy_children(host: SimHost) -> None:
    result = host.run(["zfs", "destroy", "zroot/xen"])
    assert result.rc == 1
    assert result.stderr.splitlines()[:2] == [
        "cannot destroy 'zroot/xen': filesystem has children",
        "use '-r' to destroy the following datasets:",
    ]
    assert host.run(["zfs", "destroy", "zroot"]).stderr.startswith(
        "cannot destroy 'zroot': operation does not apply to pools"
    )


def test_it_lists_the_pool(host: SimHost) -> None:
    out = host.run(["zpool", "list", "-H", "-p", "-o", "name,size,alloc,free"]).stdout
    name, size, alloc, free = out.rstrip("\n").split("\t")
    assert (name, int(size)) == ("zroot", 500 * 2**30)
    assert int(alloc) + int(free) == int(size)
    assert host.run(["zpool", "list", "tank"]).stderr == "cannot open 'tank': no such pool\n"


def test_it_takes_reservations_out_of_available(host: SimHost) -> None:
    def avail() -> int:
        out = host.run(["zfs", "list", "-H", "-p", "-o", "available", "zroot/xen"]).stdout
        return int(out)

    before = avail()
    host.run(["zfs", "create", "-V", "10G", "zroot/xen/r"])
    assert before - avail() == 10 * 2**30
