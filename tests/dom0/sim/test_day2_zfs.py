"""Snapshots, rollback, clones, promote and `zfs set` on the simulated pool (day-2 facts §1)."""

from __future__ import annotations

import pytest

from dom0.sim import SimHost

from .conftest import write_domu

SNAP_LIST = ["zfs", "list", "-H", "-p", "-t", "snapshot", "-o", "name,creation,used,referenced"]


def run(host: SimHost, *argv: str) -> tuple[int, str, str]:
    result = host.run(list(argv))
    return result.rc, result.stdout, result.stderr


@pytest.fixture
def vols(host: SimHost) -> SimHost:
    for name in ("a", "b"):
        assert run(host, "zfs", "create", "-V", "1G", f"zroot/xen/{name}") == (0, "", "")
    return host


def disk(host: SimHost, name: str) -> bytes:
    return host.path(f"/dev/zvol/zroot/xen/{name}").read_bytes()


def write(host: SimHost, name: str, data: bytes) -> None:
    host.path(f"/dev/zvol/zroot/xen/{name}").write_bytes(data)


def test_one_snapshot_command_snapshots_several_volumes(vols: SimHost) -> None:
    assert run(vols, "zfs", "snapshot", "zroot/xen/a@s1", "zroot/xen/b@s1") == (0, "", "")
    rc, out, _ = run(vols, *SNAP_LIST, "-d", "1", "zroot/xen/a", "zroot/xen/b")
    rows = [line.split("\t") for line in out.splitlines()]
    assert [r[0] for r in rows] == ["zroot/xen/a@s1", "zroot/xen/b@s1"]
    assert rows[0][1] == rows[1][1] and rows[0][1].isdigit()
    assert [r[2] for r in rows] == ["0", "0"]


def test_a_snapshot_that_exists_creates_none_of_them(vols: SimHost) -> None:
    run(vols, "zfs", "snapshot", "zroot/xen/a@s1")
    assert run(vols, "zfs", "snapshot", "zroot/xen/b@s1", "zroot/xen/a@s1") == (
        1,
        "",
        "cannot create snapshot 'zroot/xen/a@s1': dataset already exists\n"
        "no snapshots were created\n",
    )
    assert run(vols, "zfs", "list", "-H", "-t", "snapshot", "-o", "name")[1] == ("zroot/xen/a@s1\n")
    assert run(vols, "zfs", "snapshot", "zroot/xen/a@s1")[0::2] == (
        1,
        "cannot create snapshot 'zroot/xen/a@s1': dataset already exists\n",
    )


def test_a_missing_dataset_is_a_usage_error(vols: SimHost) -> None:
    rc, _, err = run(vols, "zfs", "snapshot", "zroot/xen/a@s1", "zroot/xen/nope@s1")
    assert rc == 2
    assert err.splitlines()[:2] == [
        "cannot open 'zroot/xen/nope': dataset does not exist",
        "usage:",
    ]
    assert run(vols, "zfs", "list", "-H", "-t", "snapshot")[1] == ""


def test_snapshot_used_grows_as_the_volume_is_written_over(vols: SimHost) -> None:
    write(vols, "a", b"installed" * 100)
    run(vols, "zfs", "snapshot", "zroot/xen/a@s1")
    write(vols, "a", b"changed!!" * 100)
    out = run(vols, *SNAP_LIST, "zroot/xen/a")[1]
    name, _, used, referenced = out.strip().split("\t")
    assert (name, used) == ("zroot/xen/a@s1", "16384")
    assert int(referenced) > 57344


def test_rollback_needs_r_past_later_snapshots_and_restores_the_data(vols: SimHost) -> None:
    write(vols, "a", b"one")
    run(vols, "zfs", "snapshot", "zroot/xen/a@s1")
    write(vols, "a", b"two")
    run(vols, "zfs", "snapshot", "zroot/xen/a@s2")
    run(vols, "zfs", "snapshot", "zroot/xen/a@s3")
    assert run(vols, "zfs", "rollback", "zroot/xen/a@s1") == (
        1,
        "",
        "cannot rollback to 'zroot/xen/a@s1': more recent snapshots or bookmarks exist\n"
        "use '-r' to force deletion of the following snapshots and bookmarks:\n"
        "zroot/xen/a@s2\nzroot/xen/a@s3\n",
    )
    assert run(vols, "zfs", "rollback", "-r", "zroot/xen/a@s1") == (0, "", "")
    assert disk(vols, "a") == b"one"
    assert run(vols, "zfs", "list", "-H", "-t", "snapshot", "-o", "name")[1] == ("zroot/xen/a@s1\n")


def test_rollback_r_refuses_when_later_snapshots_have_clones(vols: SimHost) -> None:
    run(vols, "zfs", "snapshot", "zroot/xen/a@s1")
    run(vols, "zfs", "snapshot", "zroot/xen/a@s2")
    run(vols, "zfs", "clone", "zroot/xen/a@s2", "zroot/xen/c")
    assert run(vols, "zfs", "rollback", "-r", "zroot/xen/a@s1") == (
        1,
        "",
        "cannot rollback to 'zroot/xen/a@s1': clones of previous snapshots exist\n"
        "use '-R' to force deletion of the following clones and dependents:\n"
        "zroot/xen/c\n",
    )
    assert run(vols, "zfs", "rollback", "-R", "zroot/xen/a@s1")[0] == 0
    assert run(vols, "zfs", "list", "zroot/xen/c")[0] == 1


def test_rollback_of_a_missing_snapshot(vols: SimHost) -> None:
    assert run(vols, "zfs", "rollback", "zroot/xen/a@nope") == (
        1,
        "",
        "cannot open 'zroot/xen/a@nope': dataset does not exist\n",
    )


def test_a_volume_a_running_domu_holds_can_be_rolled_back_but_not_destroyed(
    host: SimHost,
) -> None:
    cfg = write_domu(host)
    run(host, "zfs", "snapshot", "zroot/xen/freebsd-disk0@s1")
    assert run(host, "xl", "create", cfg)[0] == 0
    # OpenZFS suspends an open zvol for the rollback (zfs_ioc_rollback -> zvol_suspend).
    assert run(host, "zfs", "rollback", "zroot/xen/freebsd-disk0@s1")[0] == 0
    assert run(host, "zfs", "destroy", "-r", "zroot/xen/freebsd-disk0") == (
        1,
        "",
        "cannot destroy 'zroot/xen/freebsd-disk0': dataset is busy\n",
    )


def test_a_clone_shares_space_and_names_its_origin(vols: SimHost) -> None:
    write(vols, "a", b"template")
    run(vols, "zfs", "snapshot", "zroot/xen/a@t")
    assert run(vols, "zfs", "clone", "-o", "volmode=dev", "zroot/xen/a@t", "zroot/xen/c") == (
        0,
        "",
        "",
    )
    out = run(vols, "zfs", "list", "-H", "-p", "-t", "volume", "-o", "name,used,volmode")[1]
    assert "zroot/xen/c\t57344\tdev\n" in out
    assert run(vols, "zfs", "get", "-H", "-p", "-o", "property,value", "origin", "zroot/xen/c")[
        1
    ] == ("origin\tzroot/xen/a@t\n")
    assert disk(vols, "c") == b"template"
    write(vols, "c", b"mine")
    assert disk(vols, "a") == b"template"


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        (
            ["zroot/xen/a@none", "zroot/xen/c"],
            "cannot open 'zroot/xen/a@none': dataset does not exist\n",
        ),
        (["zroot/xen/a@t", "zroot/xen/b"], "cannot create 'zroot/xen/b': dataset already exists\n"),
        (
            ["zroot/xen/a@t", "zroot/nope/c"],
            "cannot create 'zroot/nope/c': parent does not exist\n",
        ),
        (
            ["zroot/xen/a", "zroot/xen/c"],
            "cannot open 'zroot/xen/a': operation not applicable to datasets of this type\n",
        ),
    ],
)
def test_clone_refusals(vols: SimHost, argv: list[str], err: str) -> None:
    run(vols, "zfs", "snapshot", "zroot/xen/a@t")
    assert run(vols, "zfs", "clone", *argv) == (1, "", err)


def test_destroy_refuses_a_snapshot_with_clones_and_a_volume_with_snapshots(vols: SimHost) -> None:
    run(vols, "zfs", "snapshot", "zroot/xen/a@t")
    run(vols, "zfs", "clone", "zroot/xen/a@t", "zroot/xen/c1")
    run(vols, "zfs", "clone", "zroot/xen/a@t", "zroot/xen/c2")
    assert run(vols, "zfs", "destroy", "zroot/xen/a@t") == (
        1,
        "",
        "cannot destroy 'zroot/xen/a@t': snapshot has dependent clones\n"
        "use '-R' to destroy the following datasets:\nzroot/xen/c1\nzroot/xen/c2\n",
    )
    assert run(vols, "zfs", "destroy", "zroot/xen/a") == (
        1,
        "",
        "cannot destroy 'zroot/xen/a': volume has children\n"
        "use '-r' to destroy the following datasets:\nzroot/xen/a@t\n",
    )
    assert run(vols, "zfs", "destroy", "-r", "zroot/xen/a") == (
        1,
        "",
        "cannot destroy 'zroot/xen/a': volume has dependent clones\n"
        "use '-R' to destroy the following datasets:\nzroot/xen/c1\nzroot/xen/c2\n",
    )
    assert run(vols, "zfs", "destroy", "zroot/xen/c1") == (0, "", "")
    assert run(vols, "zfs", "destroy", "-R", "zroot/xen/a@t") == (0, "", "")
    assert run(vols, "zfs", "list", "-H", "-o", "name", "zroot/xen/c2")[0] == 1
    assert run(vols, "zfs", "destroy", "zroot/xen/a@t") == (
        1,
        "",
        "could not find any snapshots to destroy; check snapshot names.\n",
    )
    assert run(vols, "zfs", "destroy", "zroot/xen/a") == (0, "", "")


def test_promote_reverses_the_dependency(vols: SimHost) -> None:
    run(vols, "zfs", "snapshot", "zroot/xen/a@t")
    run(vols, "zfs", "clone", "zroot/xen/a@t", "zroot/xen/c1")
    run(vols, "zfs", "clone", "zroot/xen/a@t", "zroot/xen/c2")
    assert run(vols, "zfs", "promote", "zroot/xen/c1") == (0, "", "")
    out = run(vols, "zfs", "list", "-H", "-t", "all", "-o", "name,origin", "-r", "zroot/xen")[1]
    rows = dict(line.split("\t") for line in out.splitlines())
    assert rows["zroot/xen/c1"] == "-"
    assert rows["zroot/xen/c1@t"] == "-"
    assert rows["zroot/xen/a"] == "zroot/xen/c1@t"
    assert rows["zroot/xen/c2"] == "zroot/xen/c1@t"
    assert "zroot/xen/a@t" not in rows
    assert run(vols, "zfs", "promote", "zroot/xen/b") == (
        1,
        "",
        "cannot promote 'zroot/xen/b': not a cloned filesystem\n",
    )
    assert run(vols, "zfs", "destroy", "zroot/xen/a") == (0, "", "")


def test_set_volsize_and_readonly(vols: SimHost) -> None:
    assert run(vols, "zfs", "set", "volsize=2G", "zroot/xen/a") == (0, "", "")
    assert run(vols, "zfs", "set", "readonly=on", "zroot/xen/a") == (0, "", "")
    got = run(
        vols, "zfs", "get", "-H", "-p", "-o", "value", "volsize,refreservation,readonly",
        "zroot/xen/a",
    )  # fmt: skip
    assert got[1] == f"{2 * 2**30}\n{2 * 2**30}\non\n"
    assert run(vols, "zfs", "set", "volsize=1000", "zroot/xen/a") == (
        255,
        "",
        "cannot set property for 'zroot/xen/a': "
        "'volsize' must be a multiple of volume block size (16K)\n",
    )
    assert run(vols, "zfs", "set", "readonly=yes", "zroot/xen/a")[0::2] == (
        255,
        "cannot set property for 'zroot/xen/a': 'readonly' must be one of 'on | off'\n",
    )
    assert run(vols, "zfs", "set", "volsize=1T", "zroot/xen/a")[0::2] == (
        255,
        "cannot set property for 'zroot/xen/a': size is greater than available space\n",
    )
    assert run(vols, "zfs", "set", "volsize=2G", "zroot/xen/nope") == (
        1,
        "",
        "cannot open 'zroot/xen/nope': dataset does not exist\n",
    )
