"""zfs send / zfs recv between two simulated hosts over real pipes (dom0/sim/zfs_stream.py)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest

from dom0.sim import SimHost, seed_host

VOL = "zroot/xen/web1-disk0"
NODE = f"/dev/zvol/{VOL}"


@pytest.fixture
def pair(tmp_path: Path) -> tuple[SimHost, SimHost]:
    a = seed_host(tmp_path / "xen-a", hostname="xen-a")
    b = seed_host(tmp_path / "xen-b", hostname="xen-b")
    assert a.run(["zfs", "create", "-V", "1G", VOL]).rc == 0
    return a, b


def write(host: SimHost, offset: int, data: bytes) -> None:
    with host.path(NODE).open("r+b") as fh:
        fh.seek(offset)
        fh.write(data)


def digest(host: SimHost) -> str:
    return hashlib.sha256(host.path(NODE).read_bytes()).hexdigest()


def relay(a: SimHost, b: SimHost, send: list[str], recv: list[str], limit: int | None = None):
    """Pipe A's `zfs send` into B's `zfs recv` (cut after `limit` bytes); return both."""
    sender = a.popen(send)
    receiver = b.popen(recv)
    if limit is None:
        shutil.copyfileobj(sender.stdout, receiver.stdin)
    else:
        receiver.stdin.write(sender.stdout.read(limit))
        sender.kill()
    receiver.stdin.close()
    out, err = receiver.communicate()
    sender.wait(10)
    return sender, sender.stderr.read().decode(), receiver, err.decode()


def test_full_then_incremental_carries_the_data(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    write(a, 5 * 16384, os.urandom(40000))
    assert a.run(["zfs", "snapshot", f"{VOL}@m1"]).rc == 0
    sender, progress, receiver, err = relay(
        a, b, ["zfs", "send", "-c", "-P", f"{VOL}@m1"], ["zfs", "recv", "-s", VOL]
    )
    assert (sender.returncode, receiver.returncode, err) == (0, 0, "")
    lines = progress.splitlines()
    assert re.fullmatch(rf"full\t{VOL}@m1\t\d+", lines[0])
    assert re.fullmatch(r"size\t\d+", lines[1])
    assert digest(a) == digest(b)
    guid = ["zfs", "get", "-H", "-p", "-o", "value", "guid", f"{VOL}@m1"]
    assert a.run(guid).stdout == b.run(guid).stdout != "-\n"

    write(a, 200 * 16384, b"written while the domU ran" * 100)
    assert a.run(["zfs", "snapshot", f"{VOL}@m2"]).rc == 0
    estimate = a.run(["zfs", "send", "-nvP", "-i", "@m1", f"{VOL}@m2"])
    first, size = estimate.stdout.splitlines()
    assert first.startswith(f"incremental\t{VOL}@m1\t{VOL}@m2\t")
    total = int(size.split("\t")[1])
    assert total < 40000  # only the changed block travels
    sender, _, receiver, err = relay(
        a, b, ["zfs", "send", "-i", "@m1", f"{VOL}@m2"], ["zfs", "recv", "-s", VOL]
    )
    assert (sender.returncode, receiver.returncode, err) == (0, 0, "")
    assert digest(a) == digest(b)
    names = b.run(["zfs", "list", "-H", "-t", "snapshot", "-o", "name", VOL]).stdout.split()
    assert names == [f"{VOL}@m1", f"{VOL}@m2"]


def test_progress_lines_in_the_real_format(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    write(a, 0, os.urandom(600_000))
    a.run(["zfs", "snapshot", f"{VOL}@m1"])
    a.set_stream_options(rate=2_000_000, progress_interval=0.05)
    _, progress, receiver, _ = relay(
        a, b, ["zfs", "send", "-v", "-P", f"{VOL}@m1"], ["zfs", "recv", VOL]
    )
    assert receiver.returncode == 0
    ticks = [line for line in progress.splitlines() if re.match(r"\d\d:\d\d:\d\d\t", line)]
    assert ticks, progress
    for line in ticks:
        assert re.fullmatch(rf"\d\d:\d\d:\d\d\t\d+\t{VOL}@m1", line)
    sent = [int(line.split("\t")[1]) for line in ticks]
    assert sent == sorted(sent)


def test_estimate_without_parsable(pair: tuple[SimHost, SimHost]) -> None:
    a, _ = pair
    a.run(["zfs", "snapshot", f"{VOL}@m1"])
    out = a.run(["zfs", "send", "-nv", f"{VOL}@m1"]).stdout.splitlines()
    assert out[0].startswith(f"full send of {VOL}@m1 estimated size is ")
    assert out[1].startswith("total estimated size is ")


def test_refusals(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    a.run(["zfs", "snapshot", f"{VOL}@m1"])
    stream = a.run(["zfs", "send", f"{VOL}@m1"]).stdout.encode("utf-8", "surrogateescape")
    assert b.run(["zfs", "recv", VOL], stdin=stream).rc == 0
    again = b.run(["zfs", "recv", VOL], stdin=stream)
    assert again.rc == 1
    assert again.stderr == (
        f"cannot receive new filesystem stream: destination '{VOL}' exists\n"
        "must specify -F to overwrite it\n"
    )
    forced = b.run(["zfs", "recv", "-F", VOL], stdin=stream)
    assert forced.stderr.startswith(
        "cannot receive new filesystem stream: destination has snapshots"
    )

    a.run(["zfs", "snapshot", f"{VOL}@m2"])
    a.run(["zfs", "snapshot", f"{VOL}@m3"])
    skip = a.run(["zfs", "send", "-i", "@m2", f"{VOL}@m3"]).stdout.encode(
        "utf-8", "surrogateescape"
    )
    refused = b.run(["zfs", "recv", VOL], stdin=skip)
    assert refused.rc == 1
    assert refused.stderr == (
        f"cannot receive incremental stream: most recent snapshot of {VOL} does not\n"
        "match incremental source\n"
    )
    assert b.run(["zfs", "recv", "zroot/xen/x"], stdin=stream[:10]).stderr == (
        "cannot receive: failed to read from stream\n"
    )
    missing = a.run(["zfs", "send", f"{VOL}@nope"])
    assert (missing.rc, missing.stderr) == (
        1,
        f"cannot open '{VOL}@nope': dataset does not exist\n",
    )
    assert a.run(["zfs", "send"]).rc == 2


def test_truncated_stream_resumes_with_the_token(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    write(a, 0, os.urandom(500_000))
    a.run(["zfs", "snapshot", f"{VOL}@m1"])
    _, _, receiver, err = relay(
        a, b, ["zfs", "send", f"{VOL}@m1"], ["zfs", "recv", "-s", VOL], limit=200_000
    )
    assert receiver.returncode == 1
    assert err.startswith(
        "cannot receive new filesystem stream: checksum mismatch or incomplete stream.\n"
        "Partially received snapshot is saved.\n"
    )
    token_argv = ["zfs", "get", "-H", "-p", "-o", "value", "receive_resume_token", VOL]
    token = b.run(token_argv).stdout.strip()
    assert re.fullmatch(r"1-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+", token)
    assert f"    zfs send -t {token}" in err
    sender, _, receiver, err = relay(a, b, ["zfs", "send", "-t", token], ["zfs", "recv", "-s", VOL])
    assert (sender.returncode, receiver.returncode, err) == (0, 0, "")
    assert digest(a) == digest(b)
    assert b.run(token_argv).stdout == "-\n"


def test_truncated_without_s_leaves_nothing(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    write(a, 0, os.urandom(300_000))
    a.run(["zfs", "snapshot", f"{VOL}@m1"])
    _, _, receiver, err = relay(
        a, b, ["zfs", "send", f"{VOL}@m1"], ["zfs", "recv", VOL], limit=100_000
    )
    assert (receiver.returncode, err) == (
        1,
        "cannot receive new filesystem stream: incomplete stream\n",
    )
    assert b.run(["zfs", "list", VOL]).rc == 1


def test_recv_abort_drops_the_partial_state(pair: tuple[SimHost, SimHost]) -> None:
    a, b = pair
    write(a, 0, os.urandom(300_000))
    a.run(["zfs", "snapshot", f"{VOL}@m1"])
    relay(a, b, ["zfs", "send", f"{VOL}@m1"], ["zfs", "recv", "-s", VOL], limit=100_000)
    assert b.run(["zfs", "recv", "-A", VOL]).rc == 0
    assert b.run(["zfs", "list", VOL]).rc == 1
