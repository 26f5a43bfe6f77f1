from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from dom0.sim import SimHost, SimTimeout, SimUnreachable, make_shims

from .conftest import write_domu


def test_it_maps_paths_and_refuses_escapes(host: SimHost) -> None:
    assert host.path("/etc/ttys") == host.root / "etc" / "ttys"
    with pytest.raises(ValueError):
        host.path("/../../etc/passwd")
    with pytest.raises(ValueError):
        host.path("etc/ttys")


def test_two_objects_on_one_state_dir_share_the_host(host: SimHost) -> None:
    other = SimHost(host.state_dir)
    other.run(["xl", "create", write_domu(other)])
    assert "freebsd" in host.run(["xl", "list"]).stdout
    host.set_faults(fail={"xl destroy": (1, "destroy failed (rc=-3)")})
    assert other.run(["xl", "destroy", "freebsd"]).stderr == "destroy failed (rc=-3)\n"


def test_it_injects_latency_and_timeouts(host: SimHost) -> None:
    host.set_faults(latency_ms=150)
    start = time.monotonic()
    assert host.run(["xl", "list"]).rc == 0
    assert time.monotonic() - start >= 0.15
    with pytest.raises(SimTimeout):
        host.run(["xl", "list"], timeout=0.05)
    host.set_faults(latency_ms=0)


def test_it_fails_commands_by_prefix(host: SimHost) -> None:
    host.set_faults(fail={"zfs destroy": (1, "cannot destroy 'x': dataset is busy")})
    assert host.run(["zfs", "destroy", "zroot/xen/legacy0"]).rc == 1
    assert host.run(["zfs", "list"]).rc == 0
    host.set_faults(fail={})
    assert host.run(["zfs", "destroy", "zroot/xen/legacy0"]).rc == 0


def test_it_can_be_unreachable(host: SimHost) -> None:
    host.set_faults(unreachable=True)
    with pytest.raises(SimUnreachable):
        host.run(["xl", "list"])
    with pytest.raises(SimUnreachable):
        host.path("/etc/ttys")
    host.set_faults(unreachable=False)
    assert host.run(["xl", "list"]).rc == 0


def test_a_reboot_loses_every_domu(host: SimHost) -> None:
    host.run(["xl", "create", write_domu(host)])
    boot_id = host.boot_id
    host.reboot()
    listing = host.run(["xl", "list"]).stdout.splitlines()
    assert len(listing) == 2 and listing[1].startswith("Domain-0")
    assert float(listing[1].split()[-1]) < 5
    assert host.boot_id != boot_id
    assert host.run(["xl", "create", "-q", "/usr/local/etc/xen/freebsd.cfg"]).rc == 0
    assert host.run(["xl", "domid", "freebsd"]).stdout == "1\n"


def test_the_shims_run_as_real_processes(host: SimHost, tmp_path: Path) -> None:
    shims = make_shims(host.state_dir, tmp_path / "bin")
    listing = subprocess.run([shims / "xl", "list"], capture_output=True, text=True, env={})
    assert listing.returncode == 0
    assert listing.stdout.splitlines()[1].startswith("Domain-0")
    create = subprocess.run(
        [shims / "zfs", "create", "-V", "1G", "zroot/xen/shim"], capture_output=True, text=True
    )
    assert create.returncode == 0
    assert host.path("/dev/zvol/zroot/xen/shim").exists()
    bad = subprocess.run([shims / "sysctl", "-n", "vm.max_wired"], capture_output=True, text=True)
    assert (bad.returncode, bad.stderr) == (1, "sysctl: unknown oid 'vm.max_wired'\n")
    host.set_faults(unreachable=True)
    down = subprocess.run([shims / "xl", "list"], capture_output=True, text=True)
    assert down.returncode == 255


def test_concurrent_writers_do_not_lose_updates(host: SimHost) -> None:
    import threading

    def create(i: int) -> None:
        SimHost(host.state_dir).run(["zfs", "create", "-s", "-V", "1G", f"zroot/xen/c{i}"])

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = host.run(["zfs", "list", "-H", "-o", "name", "-r", "zroot/xen"]).stdout.split()
    assert {f"zroot/xen/c{i}" for i in range(12)} <= set(names)
