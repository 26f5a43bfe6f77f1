from __future__ import annotations

import hashlib

from dom0.sim import SimHost, seed_host


def test_it_answers_sysctl(host: SimHost) -> None:
    result = host.run(["sysctl", "-n", "vm.max_user_wired", "kern.vm_guest", "hw.ncpu"])
    assert (result.rc, result.stdout) == (0, "18446744073709551615\nxen\n4\n")
    old = host.run(["sysctl", "-n", "vm.max_wired"])
    assert (old.rc, old.stderr) == (1, "sysctl: unknown oid 'vm.max_wired'\n")


def test_it_reads_rc_conf_and_other_files_with_sysrc(host: SimHost) -> None:
    result = host.run(["sysrc", "-n", "xencommons_enable", "cloned_interfaces"])
    assert result.stdout == "YES\nbridge0\n"
    loader = host.run(["sysrc", "-f", "/boot/loader.conf", "-n", "xen_kernel"])
    assert loader.stdout == "/boot/xen\n"
    unknown = host.run(["sysrc", "-n", "xendriverdomain_enable"])
    assert (unknown.rc, unknown.stderr) == (1, "sysrc: unknown variable 'xendriverdomain_enable'\n")


def test_it_seeds_an_unready_host_failing_two_items(tmp_path) -> None:
    host = seed_host(tmp_path / "u", profile="unready")
    assert "memorylocked=64K" in host.path("/etc/login.conf").read_text()
    assert host.run(["sysctl", "-n", "vm.max_user_wired"]).stdout != "18446744073709551615\n"
    assert "vm.max_user_wired=-1" not in host.path("/etc/sysctl.conf").read_text()
    assert host.run(["pkg", "info", "-e", "xen-kernel", "xen-tools"]).rc == 0
    assert host.run(["test", "-d", "/var/log/xen"]).rc == 0
    fixed = host.run(["sysctl", "vm.max_user_wired=-1"])
    assert fixed.stdout.endswith("-> 18446744073709551615\n")


def test_it_flips_readiness_items(host: SimHost) -> None:
    host.set_readiness("ttys", False)
    assert "xc0" not in host.path("/etc/ttys").read_text()
    host.set_readiness("ttys", True)
    assert host.path("/etc/ttys").read_text().count("xc0 ") == 1
    host.set_readiness("bridge", False)
    gone = host.run(["ifconfig", "bridge0"])
    assert (gone.rc, gone.stderr) == (1, "ifconfig: interface bridge0 does not exist\n")
    assert host.run(["sysrc", "-n", "cloned_interfaces"]).stdout == "\n"
    host.set_readiness("xen_pkg", False)
    assert host.run(["pkg", "info", "-e", "xen-kernel"]).rc == 1
    assert host.run(["xl", "list"]).rc == 127
    host.set_readiness("logdir", False)
    assert host.run(["test", "-d", "/var/log/xen"]).rc == 1
    host.set_readiness("hvm", False)
    caps = host.run(["xl", "info", "virt_caps"]).stdout
    assert "hvm" not in caps and "hap" not in caps


def test_it_shows_bridge_members(host: SimHost) -> None:
    assert "\tmember: em0 flags=" in host.run(["ifconfig", "bridge0"]).stdout


def test_it_hashes_files(host: SimHost) -> None:
    expected = hashlib.sha256(b"CD001").hexdigest()
    assert host.run(["sha256", "-q", "/root/freebsd.iso"]).stdout == f"{expected}\n"
    assert host.run(["sha512", "-q", "/root/freebsd.iso"]).stdout == (
        hashlib.sha512(b"CD001").hexdigest() + "\n"
    )
    missing = host.run(["sha256", "-q", "/root/nope"])
    assert (missing.rc, missing.stderr) == (1, "sha256: /root/nope: No such file or directory\n")


def test_it_says_command_not_found(host: SimHost) -> None:
    result = host.run(["bhyve", "-h"])
    assert (result.rc, result.stderr) == (127, "bhyve: Command not found.\n")
