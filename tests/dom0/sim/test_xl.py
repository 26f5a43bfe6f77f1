from __future__ import annotations

import json
import re

from dom0.sim import SimHost

from .conftest import write_domu

HEADER = "Name                                        ID   Mem VCPUs\tState\tTime(s)"
ROW = re.compile(r"^(.{40}) ([ \d]{5}) ([ \d]{5}) ([ \d]{5})     ([-rbpscwSd]{6})  ([ \d.]{8})$")


def rows(host: SimHost) -> dict[str, tuple[int, int, int, str]]:
    result = host.run(["xl", "list"])
    assert result.rc == 0
    lines = result.stdout.splitlines()
    assert lines[0] == HEADER
    out = {}
    for line in lines[1:]:
        match = ROW.match(line)
        assert match, line
        name, domid, mem, vcpus, state, _ = match.groups()
        out[name.strip()] = (int(domid), int(mem), int(vcpus), state)
    return out


def test_it_lists_domain0_with_tabs_in_the_header(host: SimHost) -> None:
    assert rows(host) == {"Domain-0": (0, 8192, 4, "r-----")}


def test_it_creates_a_handbook_domu_and_lists_it(host: SimHost) -> None:
    cfg = write_domu(host)
    result = host.run(["xl", "create", cfg])
    assert (result.rc, result.stderr) == (0, f"Parsing config from {cfg}\n")
    listed = rows(host)
    assert listed["freebsd"][:3] == (1, 1024, 1)
    assert listed["freebsd"][3] in ("r-----", "-b----")
    assert host.run(["xl", "domid", "freebsd"]).stdout == "1\n"


def test_it_reports_idle_after_the_boot_burst(host: SimHost, monkeypatch) -> None:
    host.run(["xl", "create", write_domu(host)])
    now = host.now()
    monkeypatch.setattr(host, "now", lambda: now + 60)
    line = host.run(["xl", "list", "freebsd"]).stdout.splitlines()[1]
    assert "-b----" in line
    assert float(line.split()[-1]) > 2.0


def test_it_gives_increasing_ids_and_refuses_a_used_name(host: SimHost) -> None:
    cfg = write_domu(host, "a")
    assert host.run(["xl", "create", "-q", cfg]).rc == 0
    again = host.run(["xl", "create", "-q", cfg])
    assert again.rc == 3
    assert 'Domain with name "a" already exists.' in again.stderr
    assert re.search(
        r"libxl_create\.c:\d+:initiate_domain_create: Domain 2:cannot make", again.stderr
    )
    assert host.run(["xl", "create", "-q", write_domu(host, "b")]).rc == 0
    assert rows(host)["b"][0] == 3
    assert host.run(["xl", "destroy", "a"]).rc == 0
    assert host.run(["xl", "create", "-q", cfg]).rc == 0
    assert rows(host)["a"][0] == 4


def test_it_takes_memory_from_the_hypervisor(host: SimHost) -> None:
    assert host.run(["xl", "info", "free_memory"]).stdout == "24576\n"
    host.run(["xl", "create", write_domu(host, "big", memory=20000)])
    assert host.run(["xl", "info", "free_memory"]).stdout == "4576\n"
    result = host.run(["xl", "create", write_domu(host, "toobig", memory=8000)])
    assert result.rc == 3
    assert "Cannot allocate memory" in result.stderr
    assert "cannot (re-)build domain: -3" in result.stderr
    assert "toobig" not in rows(host)


def test_it_refuses_more_vcpus_than_cpus(host: SimHost) -> None:
    result = host.run(["xl", "create", write_domu(host, "wide", vcpus=9)])
    assert result.rc == 3


def test_it_refuses_a_missing_disk_target(host: SimHost) -> None:
    cfg = write_domu(host)
    host.path("/root/freebsd.iso").unlink()
    result = host.run(["xl", "create", cfg])
    assert result.rc == 3
    assert "unable to add disk devices" in result.stderr


def test_it_reports_missing_and_broken_config_files(host: SimHost) -> None:
    missing = host.run(["xl", "create", "/nope.cfg"])
    assert missing.rc == 3
    assert missing.stderr == ("Failed to read config file: /nope.cfg: No such file or directory\n")
    host.path("/root/bad.cfg").write_text('name = "x"\nmemory = 1024M\n')
    bad = host.run(["xl", "create", "bad.cfg"])
    assert bad.rc == 1
    assert "bad.cfg:2: config parsing error near `M': lexical error" in bad.stderr
    assert bad.stderr.endswith("Failed to parse config: Invalid argument\n")
    host.path("/root/noname.cfg").write_text("memory = 128\n")
    assert host.run(["xl", "create", "noname.cfg"]).stderr.endswith(
        "Domain name must be specified.\n"
    )
    host.path("/root/disk.cfg").write_text("name='d'\ndisk=['/x,raw,hda,rw,extra']\n")
    disk = host.run(["xl", "create", "-q", "disk.cfg"])
    assert disk.rc == 1
    assert disk.stderr.startswith(
        "disk.cfg: config parsing error in disk specification: too many positional parameters"
    )


def test_it_prints_the_long_listing_as_json(host: SimHost) -> None:
    host.run(["xl", "create", write_domu(host)])
    result = host.run(["xl", "list", "-l"])
    data = json.loads(result.stdout)
    assert result.stdout.startswith("[\n    {\n        ")
    assert [d["domid"] for d in data] == [0, 1]
    config = data[1]["config"]
    assert config["c_info"]["name"] == "freebsd"
    assert config["b_info"]["target_memkb"] == 1024 * 1024
    assert config["b_info"]["type.hvm"]["vnc"]["listen"] == "0.0.0.0"  # noqa: S104 (the cfg value, not a bind)
    assert config["disks"][1] == {
        "pdev_path": "/root/freebsd.iso",
        "vdev": "hdc",
        "backend": "phy",
        "format": "raw",
        "removable": 1,
        "is_cdrom": 1,
    }
    assert config["nics"][0]["bridge"] == "bridge0"
    assert "on_poweroff" not in config


def test_it_dry_runs_without_creating(host: SimHost) -> None:
    result = host.run(["xl", "create", "-n", write_domu(host)])
    assert json.loads(result.stdout)["c_info"]["name"] == "freebsd"
    assert list(rows(host)) == ["Domain-0"]


def test_it_allocates_vnc_ports_like_qemu(host: SimHost) -> None:
    host.run(["xl", "create", write_domu(host, "a")])
    host.run(["xl", "create", write_domu(host, "b")])
    assert (host.vnc_port("a"), host.vnc_port("b")) == (5900, 5901)
    cfg = write_domu(host, "c")
    host.path(cfg).write_text(host.path(cfg).read_text() + "vncunused = 0\n")
    assert host.run(["xl", "create", "-q", cfg]).rc == 3
    host.run(["xl", "destroy", "a"])
    assert host.run(["xl", "create", "-q", cfg]).rc == 0
    assert host.vnc_port("c") == 5900


def test_it_shuts_down_hvm_only_with_force_or_pv_drivers(host: SimHost) -> None:
    host.run(["xl", "create", write_domu(host)])
    plain = host.run(["xl", "shutdown", "freebsd"])
    assert plain.rc == 1
    assert plain.stderr.splitlines() == [
        "Shutting down domain 1",
        "PV control interface not available: external graceful shutdown not possible.",
        'Use "-F" to fallback to ACPI power event.',
        "shutdown failed (rc=-10)",
    ]
    assert host.run(["xl", "shutdown", "-F", "freebsd"]).rc == 0
    assert "freebsd" not in rows(host)
    host.run(["xl", "create", write_domu(host, "pv")])
    host.set_pv_drivers("pv", True)
    assert host.run(["xl", "shutdown", "-w", "pv"]).rc == 0
    assert "pv" not in rows(host)


def test_it_pauses_reboots_and_destroys(host: SimHost) -> None:
    host.run(["xl", "create", "-p", write_domu(host)])
    assert rows(host)["freebsd"][3] == "--p---"
    host.run(["xl", "unpause", "freebsd"])
    assert rows(host)["freebsd"][3] == "r-----"
    assert host.run(["xl", "reboot", "-F", "freebsd"]).rc == 0
    assert rows(host)["freebsd"][0] == 2
    assert host.run(["xl", "destroy", "0"]).stderr.startswith("Not destroying domain 0")
    assert host.run(["xl", "destroy", "freebsd"]).rc == 0
    gone = host.run(["xl", "destroy", "freebsd"])
    assert (gone.rc, gone.stderr) == (1, "freebsd is an invalid domain identifier (rc=-6)\n")
    assert host.run(["xl", "list", "99"]).stderr == "Error: Domain '99' does not exist.\n"


def test_it_ejects_and_inserts_the_cdrom(host: SimHost) -> None:
    host.run(["xl", "create", write_domu(host)])
    assert host.run(["xl", "cd-eject", "freebsd", "hdc"]).rc == 0
    disks = json.loads(host.run(["xl", "list", "-l", "freebsd"]).stdout)[0]["config"]["disks"]
    assert "pdev_path" not in disks[1] and disks[1]["format"] == "empty"
    missing = host.run(["xl", "cd-insert", "freebsd", "hdc", "/root/nope.iso"])
    assert (missing.rc, missing.stderr) == (1, "Cannot stat file: /root/nope.iso\n")
    assert host.run(["xl", "cd-insert", "freebsd", "hdc", "/root/freebsd.iso"]).rc == 0
    assert host.run(["xl", "cd-eject", "freebsd", "hdz"]).rc == 1


def test_it_pads_xl_info_keys(host: SimHost) -> None:
    lines = host.run(["xl", "info"]).stdout.splitlines()
    assert lines[0] == "host                   : xen1"
    assert lines[-1] == "xend_config_format     : 4"
    caps = next(line for line in lines if line.startswith("virt_caps"))
    assert caps.startswith("virt_caps              : pv hvm hvm_directio")
    assert host.run(["xl", "info", "xen_version"]).stdout == "4.18.0\n"


def test_it_fails_every_xl_command_when_xen_is_not_running(host: SimHost) -> None:
    host.set_readiness("xen_running", False)
    result = host.run(["xl", "list"])
    assert result.rc == 1
    assert result.stderr.endswith("cannot init xl context\n")
    assert not host.path("/dev/xen/xenstored").exists()
