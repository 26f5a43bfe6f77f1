"""xl migrate between two simulated hosts: a real `sh -c`, the simulator's ssh, real pipes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dom0.sim import SimHost, make_shims, seed_host

CFG = """\
builder = "hvm"
name = "web1"
memory = 1024
vcpus = 2
vif = [ 'bridge=bridge0,mac=00:16:3e:11:22:33', 'bridge=bridge0' ]
disk = [ '/dev/zvol/zroot/xen/web1-disk0,raw,hda,rw' ]
vnc = 1
vnclisten = "0.0.0.0"
vncdisplay = 3
"""
SUCCESS = [
    "migration target: Ready to receive domain.",
    "Saving to migration stream new xl format (info 0x3/0x0/",
    "Loading new save file <incoming migration stream> (new xl fmt info 0x3/0x0/",
    " Savefile contains xl domain config in JSON format",
    "Parsing config from <saved>",
    "migration target: Transfer complete, requesting permission to start domain.",
    "migration sender: Target has acknowledged transfer.",
    "migration sender: Giving target permission to start.",
    "migration target: Got permission, starting domain.",
    "migration target: Domain started successsfully.",
    "migration sender: Target reports successful startup.",
    "Migration successful.",
]


@pytest.fixture
def pair(tmp_path: Path) -> tuple[SimHost, SimHost]:
    a = seed_host(tmp_path / "xen-a", hostname="xen-a")
    b = seed_host(tmp_path / "xen-b", hostname="xen-b")
    for host in (a, b):
        assert host.run(["zfs", "create", "-V", "1G", "zroot/xen/web1-disk0"]).rc == 0
    a.path("/usr/local/etc/xen/web1.cfg").write_text(CFG)
    assert a.run(["xl", "create", "/usr/local/etc/xen/web1.cfg"]).rc == 0
    return a, b


def names(host: SimHost) -> list[str]:
    return sorted(host.store.read()["domains"])


def on_exactly_one(a: SimHost, b: SimHost) -> str:
    where = [h.hostname for h in (a, b) if "web1" in h.store.read()["domains"]]
    assert len(where) == 1, where
    assert names(a) + names(b) == ["web1"]
    return where[0]


def test_migration_moves_the_domain(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    before = a.store.read()["domains"]["web1"]
    result = a.run(["xl", "migrate", "web1", "xen-b"])
    assert result.rc == 0, result.stderr
    lines = result.stderr.splitlines()
    # The sender's "Saving ..." races the receiver's first lines, as between two processes.
    saving = next(i for i, line in enumerate(lines) if line.startswith("Saving"))
    assert 0 < saving < lines.index(SUCCESS[5])
    lines.insert(1, lines.pop(saving))
    for line, expected in zip(lines, SUCCESS, strict=True):
        assert line.startswith(expected)
    assert on_exactly_one(a, b) == "xen-b"
    after = b.store.read()["domains"]["web1"]
    assert [n["mac"] for n in after["nics"]] == [n["mac"] for n in before["nics"]]
    for key in ("uuid", "memory", "vcpus", "disks", "vnc", "type"):
        assert after[key] == before[key]
    assert after["vnc_port"] == 5903
    assert not after["paused"]
    assert "web1" in b.run(["xl", "list"]).stdout
    assert "web1" not in a.run(["xl", "list"]).stdout


def test_paused_and_through_an_ssh_command(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    ssh = "ssh -i /root/.ssh/id -o BatchMode=yes -o StrictHostKeyChecking=yes -p 22 -l root"
    result = a.run(["xl", "migrate", "-s", ssh, "-p", "web1", "xen-b"])
    assert result.rc == 0, result.stderr
    assert b.store.read()["domains"]["web1"]["paused"]
    assert on_exactly_one(a, b) == "xen-b"


def test_receiver_without_xl(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    with b.store.edit() as state:
        del state["packages"]["xen-tools"]
    result = a.run(["xl", "migrate", "web1", "xen-b"])
    assert result.rc == 1
    assert result.stderr.splitlines() == [
        "xl: Command not found.",
        "libxl: error: libxl_utils.c:507:libxl_read_exactly: file/stream truncated reading "
        "banner from migration receiver stream",
    ]
    assert on_exactly_one(a, b) == "xen-a"


def test_unknown_receiver(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    result = a.run(["xl", "migrate", "web1", "xen-z"])
    assert result.rc == 1
    assert "ssh: Could not resolve hostname xen-z" in result.stderr
    assert on_exactly_one(a, b) == "xen-a"


def test_disk_missing_on_the_receiver(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    assert b.run(["zfs", "destroy", "zroot/xen/web1-disk0"]).rc == 0
    result = a.run(["xl", "migrate", "web1", "xen-b"])
    assert result.rc == 1
    assert (
        "libxl: error: libxl_device.c:468:libxl__device_disk_set_backend: Disk vdev=hda failed "
        "to stat: /dev/zvol/zroot/xen/web1-disk0: No such file or directory"
    ) in result.stderr
    assert "migration target: Domain creation failed (code -6)." in result.stderr
    assert result.stderr.endswith("Migration failed, failed to suspend at sender.\n")
    assert on_exactly_one(a, b) == "xen-a"
    assert not a.store.read()["domains"]["web1"]["paused"]


def test_receiver_out_of_memory(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    with b.store.edit() as state:
        state["total_mem_mib"] = state["dom0_mem_mib"] + 512
    result = a.run(["xl", "migrate", "web1", "xen-b"])
    assert result.rc == 1
    assert "restoring domain: Cannot allocate memory" in result.stderr
    assert "migration target: Domain creation failed (code -3)." in result.stderr
    assert "migration sender: libxl_domain_suspend failed (rc=-8)" in result.stderr
    assert on_exactly_one(a, b) == "xen-a"


def test_name_taken_on_the_receiver_resumes_at_the_sender(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    b.path("/usr/local/etc/xen/web1.cfg").write_text(CFG)
    assert b.run(["xl", "create", "/usr/local/etc/xen/web1.cfg"]).rc == 0
    result = a.run(["xl", "migrate", "web1", "xen-b"])
    assert result.rc == 1
    lines = result.stderr.splitlines()
    got = lines.index("migration target: Got permission, starting domain.")
    assert 'Domain with name "web1" already exists.' in lines[got + 1]
    # The two sides' lines after the report interleave as their processes run.
    assert set(lines[got + 2 :]) == {
        "migration target: Failure, destroying our copy.",
        "migration sender: Target reports startup failure (status code 6).",
        "migration target: Cleanup OK, granting sender permission to resume.",
        "migration sender: Trying to resume at our end.",
        "migration sender: Resumed OK.",
        "Migration failed due to problems at target.",
    }
    assert lines[-1] == "Migration failed due to problems at target."
    assert names(a) == ["web1"] and names(b) == ["web1"]
    assert not a.store.read()["domains"]["web1"]["paused"]


def test_through_the_command_shims(pair: tuple[SimHost, SimHost], tmp_path: Path) -> None:
    a, b = pair
    shims = make_shims(a.state_dir, tmp_path / "bin-a")
    done = subprocess.run(
        [str(shims / "xl"), "migrate", "web1", "xen-b"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode().splitlines()[-1] == "Migration successful."
    assert on_exactly_one(a, b) == "xen-b"


def test_zfs_pipeline_through_the_ssh_shim(pair: tuple[SimHost, SimHost], tmp_path: Path) -> None:
    a, b = pair
    vol = "zroot/xen/data"
    assert a.run(["zfs", "create", "-V", "1G", vol]).rc == 0
    a.path(f"/dev/zvol/{vol}").write_bytes(b"payload" * 5000)
    assert a.run(["zfs", "snapshot", f"{vol}@m1"]).rc == 0
    shims = make_shims(a.state_dir, tmp_path / "bin-a")
    send = subprocess.Popen([str(shims / "zfs"), "send", f"{vol}@m1"], stdout=subprocess.PIPE)
    recv = subprocess.run(
        [str(shims / "ssh"), "-l", "root", "xen-b", "zfs", "recv", vol],
        stdin=send.stdout,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert send.wait(30) == 0
    assert recv.returncode == 0, recv.stderr
    assert b.path(f"/dev/zvol/{vol}").read_bytes() == b"payload" * 5000
