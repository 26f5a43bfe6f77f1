"""LocalTransport: real subprocesses and real files in a temporary directory."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from dom0 import errors
from dom0.transport import (
    CANCELLED_RC,
    FileStat,
    LocalTransport,
    TransportConfig,
    make_transport,
)
from tests.dom0.transports.procs import group_ends, group_runs


@pytest.fixture
def local() -> LocalTransport:
    return LocalTransport(TransportConfig(kind="local"))


@pytest.fixture
def rooted(tmp_path: Path) -> LocalTransport:
    return LocalTransport(TransportConfig(kind="local", fs_root=str(tmp_path)))


def test_it_runs_argv_without_a_shell(local: LocalTransport) -> None:
    res = local.run(["printf", "[%s]", "a b", "$HOME", ";", "*"], timeout=5)
    assert res.ok
    assert res.stdout == "[a b][$HOME][;][*]"
    assert res.argv == ["printf", "[%s]", "a b", "$HOME", ";", "*"]
    assert res.seconds >= 0


def test_it_reports_nonzero_exit_and_stderr_without_raising(local: LocalTransport) -> None:
    res = local.run(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=5)
    assert (res.rc, res.stdout, res.stderr, res.ok) == (3, "out\n", "err\n", False)


def test_it_reports_a_missing_program_like_a_shell(local: LocalTransport) -> None:
    res = local.run(["xenpanel-no-such-tool", "x"], timeout=5)
    assert res.rc == 127
    assert "not found" in res.stderr


def test_it_feeds_stdin(local: LocalTransport) -> None:
    assert local.run(["cat"], timeout=5, stdin=b"line 1\nline 2\n").stdout == "line 1\nline 2\n"


def test_it_decodes_invalid_utf8_with_replacement(local: LocalTransport) -> None:
    assert local.run(["printf", "a\\377b"], timeout=5).stdout == "a\ufffdb"


def test_it_kills_the_process_group_on_timeout(local: LocalTransport) -> None:
    cmd = local.start(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.5)
    began = time.monotonic()
    with pytest.raises(errors.CommandTimeout) as caught:
        cmd.wait()
    assert time.monotonic() - began < 3
    assert caught.value.argv == ["sh", "-c", "sleep 30 & sleep 30"]
    assert cmd.pid is not None and group_ends(cmd.pid)


def test_it_raises_timeout_from_run(local: LocalTransport) -> None:
    with pytest.raises(errors.CommandTimeout):
        local.run(["sleep", "30"], timeout=0.3)


def test_it_polls_a_started_command(local: LocalTransport) -> None:
    cmd = local.start(["sh", "-c", "sleep 0.3; echo done"], timeout=5)
    assert cmd.poll() is None
    res = cmd.wait()
    assert (res.rc, res.stdout) == (0, "done\n")
    assert cmd.poll() == res


def test_it_cancels_a_started_command_and_its_children(local: LocalTransport) -> None:
    cmd = local.start(["sh", "-c", "sleep 30 & sleep 30"], timeout=60)
    assert cmd.pid is not None and group_runs(cmd.pid, "sleep", 2)  # both children started
    res = cmd.cancel()
    assert res.rc == CANCELLED_RC
    assert cmd.pid is not None and group_ends(cmd.pid)


def test_it_kills_when_wait_timeout_passes(local: LocalTransport) -> None:
    cmd = local.start(["sleep", "30"], timeout=60)
    with pytest.raises(errors.CommandTimeout):
        cmd.wait(timeout=0.2)
    assert cmd.pid is not None and group_ends(cmd.pid)


def test_it_refuses_a_string_argv(local: LocalTransport) -> None:
    with pytest.raises(errors.ValidationError):
        local.run("echo hi", timeout=5)  # type: ignore[arg-type]


def test_it_runs_bare_programs_from_tool_dir(tmp_path: Path) -> None:
    shim = tmp_path / "xl"
    shim.write_text('#!/bin/sh\necho "shim xl $*"\n')
    shim.chmod(0o755)
    t = LocalTransport(TransportConfig(kind="local", tool_dir=str(tmp_path)))
    res = t.run(["xl", "list"], timeout=5)
    assert res.stdout == "shim xl list\n"
    assert res.argv == ["xl", "list"]
    assert t.run(["/bin/echo", "abs"], timeout=5).stdout == "abs\n"


def test_it_maps_file_paths_under_fs_root(rooted: LocalTransport, tmp_path: Path) -> None:
    rooted.makedirs("/etc")
    rooted.write_file("/etc/ttys", b"xc0 on\n", mode=0o640)
    on_disk = tmp_path / "etc" / "ttys"
    assert on_disk.read_bytes() == b"xc0 on\n"
    assert stat.S_IMODE(on_disk.stat().st_mode) == 0o640
    assert rooted.read_file("/etc/ttys") == b"xc0 on\n"
    assert rooted.stat("/etc") == FileStat(
        size=(tmp_path / "etc").stat().st_size,
        mtime=(tmp_path / "etc").stat().st_mtime,
        is_dir=True,
    )
    assert sorted(os.listdir(tmp_path / "etc")) == ["ttys"]  # no temp file left behind


def test_it_keeps_dotdot_inside_fs_root(rooted: LocalTransport, tmp_path: Path) -> None:
    rooted.write_file("/../../escape", b"x")
    assert (tmp_path / "escape").read_bytes() == b"x"


def test_it_requires_absolute_paths(rooted: LocalTransport) -> None:
    with pytest.raises(errors.ValidationError):
        rooted.write_file("etc/ttys", b"x")


def test_it_reports_missing_files(rooted: LocalTransport) -> None:
    with pytest.raises(errors.RemoteFileMissing):
        rooted.read_file("/nope")
    assert rooted.stat("/nope") is None
    rooted.remove("/nope")  # missing is fine
    with pytest.raises(errors.RemoteFileMissing):
        rooted.write_file("/no/such/dir/file", b"x")


def test_it_removes_files(rooted: LocalTransport, tmp_path: Path) -> None:
    rooted.write_file("/f", b"x")
    rooted.remove("/f")
    assert not (tmp_path / "f").exists()


def test_it_puts_a_file_with_progress(rooted: LocalTransport, tmp_path: Path) -> None:
    src = tmp_path / "src.iso"
    src.write_bytes(os.urandom(2_500_000))
    seen: list[tuple[int, int]] = []
    rooted.makedirs("/iso")
    rooted.put_file(str(src), "/iso/x.iso", progress=lambda done, total: seen.append((done, total)))
    assert (tmp_path / "iso" / "x.iso").read_bytes() == src.read_bytes()
    assert seen[-1] == (2_500_000, 2_500_000)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert os.listdir(tmp_path / "iso") == ["x.iso"]


def test_make_transport_picks_by_kind() -> None:
    assert isinstance(make_transport(TransportConfig(kind="local")), LocalTransport)
    with pytest.raises(errors.ValidationError):
        make_transport(TransportConfig(kind="telnet"))
