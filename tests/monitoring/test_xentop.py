"""xentop: the argv, the parser on text in Xen's own printf formats, and the simulator's xentop."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dom0.errors import ParseError
from dom0.metrics_commands import xentop_batch
from dom0.metrics_parsers import parse_xentop, split_iterations
from dom0.sim import SimHost, seed_host
from dom0.sim.load import clear_load, set_load

# Two iterations of `xentop -b` in xentop.c's formats: do_header prints "%*s" per field joined
# by one space; print_name "%10.10s"; MAXMEM(k) "%10s" "no limit", MAXMEM(%) "%9s" "n/a"; VBD_*
# "%*c" '-' when every disk failed. Batch mode prints no summary.
TEXT = (Path(__file__).parent / "xentop-batch.txt").read_text(encoding="utf-8")
HEADER = TEXT.splitlines()[0]
SECOND = "\n".join(TEXT.splitlines()[4:]) + "\n"


def test_the_argv_is_batch_full_names_two_iterations_one_second_apart() -> None:
    assert xentop_batch() == ["xentop", "-b", "-f", "-i", "2", "-d", "1"]


def test_it_reads_the_second_iteration() -> None:
    rows = {r.name: r for r in parse_xentop(TEXT)}
    assert len(split_iterations(TEXT)) == 2
    assert set(rows) == {"Domain-0", "web1", "db 2"}
    web = rows["web1"]
    assert (web.state, web.cpu_seconds, web.cpu_pct) == ("-----r", 312, 150.3)
    assert (web.mem_kib, web.maxmem_kib, web.vcpus) == (2097152, 2097152, 2)
    assert (web.nets, web.nettx_kib, web.netrx_kib) == (1, 5100, 7300)
    assert (web.vbds, web.vbd_rd, web.vbd_wr, web.vbd_rsect, web.vbd_wsect) == (
        1,
        210,
        320,
        1680,
        2560,
    )


def test_no_limit_na_and_dashes_become_none() -> None:
    rows = {r.name: r for r in parse_xentop(TEXT)}
    dom0 = rows["Domain-0"]
    assert dom0.is_dom0 and dom0.maxmem_kib is None and dom0.cpu_pct == 12.5
    db = rows["db 2"]  # a name with a space keeps it (only the name may hold spaces)
    assert db.vbds == 2 and db.vbd_rd is None and db.vbd_wsect is None


def test_a_name_holding_no_limit_is_not_taken_for_maxmem() -> None:
    line = TEXT.splitlines()[-1].replace("      db 2", "  no limit")
    (row,) = parse_xentop(f"{HEADER}\n{line}\n")
    assert row.name == "no limit" and row.maxmem_kib == 1048576 and row.vbd_rd is None


def test_output_it_does_not_know_is_refused() -> None:
    with pytest.raises(ParseError):
        parse_xentop("Failed to initialize xenstat library\n")
    with pytest.raises(ParseError):
        parse_xentop(f"{HEADER}\n      web1 --b---  12\n")
    with pytest.raises(ParseError):
        parse_xentop(f"{HEADER}\n" + SECOND.splitlines()[1].replace("-----r", "xx---r") + "\n")


def _sim_with_domus(tmp_path: Path, names: list[str], vcpus: int = 2) -> SimHost:
    sim = seed_host(tmp_path / "h", cpus=8)
    now = time.time()
    with sim.store.edit() as state:
        for i, name in enumerate(names, start=1):
            state["domains"][name] = {
                "name": name,
                "domid": i,
                "memory": 1024,
                "maxmem": 1024,
                "vcpus": vcpus,
                "disks": [{}],
                "nics": [{}],
                "paused": False,
                "run_since": now - 60,
                "cpu_acc": 0.0,
                "shutdown_reason": None,
                "created": now - 60,
                "vnc_port": None,
            }
    return sim


def test_the_simulators_xentop_parses_and_follows_the_load_knob(tmp_path: Path) -> None:
    sim = _sim_with_domus(tmp_path, ["web1", "a-name-longer-than-ten"])
    set_load(sim, "web1", cpu_pct=150, net_kbps=200, disk_read_kbps=512, disk_write_kbps=1024)
    time.sleep(1.05)  # a load counts from when it is set; xentop measures the last second
    result = sim.run(xentop_batch())
    assert result.rc == 0, result.stderr
    rows = {r.name: r for r in parse_xentop(result.stdout)}
    assert set(rows) == {"Domain-0", "web1", "a-name-longer-than-ten"}  # -f: full names
    assert rows["web1"].cpu_pct == pytest.approx(150, abs=0.2)
    assert rows["a-name-longer-than-ten"].cpu_pct == pytest.approx(4, abs=0.2)  # idle: 2 %/vCPU
    first = rows["web1"]
    time.sleep(1.0)
    later = {r.name: r for r in parse_xentop(sim.run(xentop_batch()).stdout)}["web1"]
    assert later.nettx_kib - first.nettx_kib == pytest.approx(200, abs=25)
    assert later.vbd_rsect - first.vbd_rsect == pytest.approx(1024, abs=130)  # 512 KiB/s
    assert later.vbd_wsect - first.vbd_wsect == pytest.approx(2048, abs=260)
    assert later.cpu_seconds >= first.cpu_seconds + 1
    clear_load(sim, "web1")
    rows = {r.name: r for r in parse_xentop(sim.run(xentop_batch()).stdout)}
    assert rows["web1"].cpu_pct == pytest.approx(4, abs=0.2)


def test_the_simulators_first_iteration_has_no_cpu_percent_and_paused_domus_stop(
    tmp_path: Path,
) -> None:
    sim = _sim_with_domus(tmp_path, ["web1"])
    set_load(sim, "web1", cpu_pct=80)
    time.sleep(1.05)
    iterations = split_iterations(sim.run(xentop_batch()).stdout)
    assert len(iterations) == 2
    assert all(" 0.0 " in line for line in iterations[0][1])
    with sim.store.edit() as state:
        state["domains"]["web1"]["paused"] = True
    (web,) = [r for r in parse_xentop(sim.run(xentop_batch()).stdout) if r.name == "web1"]
    assert web.state == "----p-" and web.cpu_pct == 0.0


def test_the_simulators_xentop_needs_batch_mode_and_a_running_xen(tmp_path: Path) -> None:
    sim = _sim_with_domus(tmp_path, [])
    assert sim.run(["xentop"]).rc == 1
    with sim.store.edit() as state:
        state["xen_running"] = False
    result = sim.run(xentop_batch())
    assert (result.rc, result.stderr) == (1, "Failed to initialize xenstat library\n")
