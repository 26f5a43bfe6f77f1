"""LocalTransport.stream and relay() between two local commands (fast: no sshd)."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from pathlib import Path

import pytest

from dom0 import errors
from dom0.transport import CANCELLED_RC, LocalTransport
from dom0.transports.base import StreamingCommand
from dom0.transports.relay import RelayFailed, relay
from tests.dom0.transports.procs import group_ends


def os_random(size: int) -> bytes:
    return random.Random(14).randbytes(size)


@pytest.fixture
def local() -> LocalTransport:
    return LocalTransport()


def test_it_streams_stdin_to_stdout(local: LocalTransport) -> None:
    cmd = local.stream(["cat"], timeout=10)
    assert isinstance(cmd, StreamingCommand)

    def feed() -> None:  # in a thread: cat blocks on its full stdout until we read
        cmd.stdin.write(b"x" * 200_000)
        cmd.stdin.close()

    threading.Thread(target=feed, daemon=True).start()
    got = bytearray()
    while data := cmd.stdout.read(65536):
        got.extend(data)
    assert bytes(got) == b"x" * 200_000
    assert cmd.wait().ok


def test_it_yields_stderr_lines_while_the_command_runs(local: LocalTransport) -> None:
    script = "echo '12:00:01\t1024\tp/v@s' >&2; sleep 0.3; echo '12:00:02\t2048\tp/v@s' >&2"
    cmd = local.stream(["sh", "-c", script], timeout=10)
    lines = cmd.stderr_lines()
    first = next(lines)
    assert first == "12:00:01\t1024\tp/v@s"
    assert cmd.poll() is None  # the first line came before the command ended
    assert list(lines) == ["12:00:02\t2048\tp/v@s"]
    res = cmd.wait()
    assert res.ok and res.stderr.splitlines() == [first, "12:00:02\t2048\tp/v@s"]


def test_it_keeps_unread_stdout_in_the_result(local: LocalTransport) -> None:
    res = local.stream(["printf", "done\\n"], timeout=10).wait()
    assert (res.rc, res.stdout) == (0, "done\n")


def test_it_reports_a_missing_program_as_the_shell_would(local: LocalTransport) -> None:
    cmd = local.stream(["xenpanel-no-such-tool"], timeout=10)
    with pytest.raises(BrokenPipeError):
        cmd.stdin.write(b"x")
    assert cmd.stdout.read(10) == b""
    res = cmd.wait()
    assert res.rc == 127 and "not found" in res.stderr


def test_it_kills_the_group_at_the_deadline(local: LocalTransport) -> None:
    cmd = local.stream(["sh", "-c", "sleep 30 & sleep 30"], timeout=1)
    began = time.monotonic()
    assert cmd.stdout.read(10) == b""  # ends when the watchdog kills the command
    assert time.monotonic() - began < 4
    with pytest.raises(errors.CommandTimeout):
        cmd.wait()
    assert cmd.pid is not None and group_ends(cmd.pid)


def test_it_cancels(local: LocalTransport) -> None:
    cmd = local.stream(["sh", "-c", "sleep 30 & sleep 30"], timeout=60)
    res = cmd.cancel()
    assert res.rc == CANCELLED_RC
    assert cmd.pid is not None and group_ends(cmd.pid)


def test_it_relays_every_byte(local: LocalTransport, tmp_path: Path) -> None:
    data = os_random(20 * 1024 * 1024)
    (tmp_path / "vol").write_bytes(data)
    seen: list[int] = []
    lines: list[tuple[str, str]] = []
    script = "cat \"$1\"; echo '12:00:01\t20971520\tp/v@s' >&2"
    source = local.stream(["sh", "-c", script, "sh", str(tmp_path / "vol")], timeout=30)
    sink = local.stream(["sha256sum"], timeout=30)
    result = relay(
        source,
        sink,
        on_progress=seen.append,
        on_stderr=lambda side, line: lines.append((side, line)),
    )
    assert result.bytes == len(data) and seen[-1] == len(data)
    assert result.sink_result.stdout.split()[0] == hashlib.sha256(data).hexdigest()
    assert lines == [("source", "12:00:01\t20971520\tp/v@s")]
    assert result.source_result.ok and result.sink_result.ok and result.mib_per_second > 0


def test_it_names_the_source_when_the_source_fails(local: LocalTransport) -> None:
    source = local.stream(
        ["sh", "-c", "head -c 5000 /dev/zero; echo 'cannot open x' >&2; exit 1"], timeout=10
    )
    sink = local.stream(["sh", "-c", "cat > /dev/null; echo finished-cleanly"], timeout=10)
    with pytest.raises(RelayFailed) as caught:
        relay(source, sink)
    err = caught.value
    assert err.side == "source" and err.rc == 1 and "cannot open x" in str(err)
    # A truncated stream is never ended with a clean EOF: the sink is stopped instead.
    assert err.sink_result is not None and err.sink_result.rc == CANCELLED_RC
    assert "finished-cleanly" not in err.sink_result.stdout


def test_it_names_the_sink_when_the_sink_fails(local: LocalTransport) -> None:
    source = local.stream(["sh", "-c", "exec cat /dev/zero"], timeout=10)
    sink = local.stream(
        ["sh", "-c", "head -c 10 >/dev/null; echo 'must specify -F' >&2; exit 1"], timeout=10
    )
    with pytest.raises(RelayFailed) as caught:
        relay(source, sink)
    err = caught.value
    assert err.side == "sink" and err.rc == 1 and "must specify -F" in str(err)
    assert err.source_result is not None and err.source_result.rc == CANCELLED_RC


def test_it_fails_on_a_sink_that_exits_non_zero_after_eof(local: LocalTransport) -> None:
    source = local.stream(["printf", "abc"], timeout=10)
    sink = local.stream(
        ["sh", "-c", "cat >/dev/null; echo 'failed to read from stream' >&2; exit 1"], timeout=10
    )
    with pytest.raises(RelayFailed) as caught:
        relay(source, sink)
    assert caught.value.side == "sink" and caught.value.bytes == 3


def test_it_stops_both_sides_on_cancel(local: LocalTransport) -> None:
    source = local.stream(["sh", "-c", "sleep 30 & sleep 30"], timeout=60)
    sink = local.stream(["cat"], timeout=60)
    began = time.monotonic()
    with pytest.raises(RelayFailed) as caught:
        relay(source, sink, cancelled=lambda: time.monotonic() - began > 0.3)
    assert caught.value.side == "cancelled"
    assert time.monotonic() - began < 5
    assert caught.value.source_result is not None
    assert caught.value.source_result.rc == CANCELLED_RC


def test_it_reports_a_timeout_of_either_side(local: LocalTransport) -> None:
    source = local.stream(["sh", "-c", "sleep 30"], timeout=1)
    sink = local.stream(["cat"], timeout=60)
    with pytest.raises(RelayFailed) as caught:
        relay(source, sink)
    assert caught.value.side == "source" and "did not finish within 1 s" in str(caught.value)
