"""The simulator's `sh -c`: only the direct-transfer pipeline the panel builds
(`dom0.migration_commands.direct_send`):

    sh -c "zfs send ... <ds@snap> | ssh -i <key> -o ... -l <user> <host> zfs recv ... <ds>"

Anything else is refused (exit 2): a simulated Dom0 is not a shell. The two commands run as two
real OS processes joined by an OS pipe, as sh would run them: `zfs send` through the simulator's
command entry point on this host, `ssh` as the simulator's ssh (sshshim.py), which runs `zfs recv`
on the peer host. Both share one stderr; the exit status is the last command's (sh without
`pipefail`), and a cancel (SimProcess.kill/terminate) kills both.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import threading
from typing import IO, TYPE_CHECKING

from .result import CommandExit

if TYPE_CHECKING:
    from .host import SimHost
    from .streams import StreamIO

_RUN_TOOL = (
    "import sys; sys.path.insert(0, sys.argv[1]); from dom0.sim.cli import main; "
    "sys.exit(main(sys.argv[2], sys.argv[3], sys.argv[4:]))"
)
_POLL = 0.1


def pipeline(line: str) -> tuple[list[str], list[str]]:
    """Return (zfs send argv, ssh argv) of `line`, or raise ValueError for any other shape."""
    words = shlex.split(line)
    if words.count("|") != 1:
        raise ValueError("not one pipe")
    cut = words.index("|")
    left, right = words[:cut], words[cut + 1 :]
    if left[:2] != ["zfs", "send"] or right[:1] != ["ssh"] or "zfs" not in right:
        raise ValueError("not zfs send | ssh ... zfs recv")
    remote = right[right.index("zfs") :]
    if remote[:2] not in (["zfs", "recv"], ["zfs", "receive"]):
        raise ValueError("the remote command is not zfs recv")
    return left, right


def sh(host: SimHost, args: list[str], io: StreamIO) -> int:
    if len(args) != 2 or args[0] != "-c":
        raise CommandExit(2, "sim sh: only `sh -c <zfs send ... | ssh ... zfs recv ...>` runs here")
    try:
        send, ssh = pipeline(args[1])
    except ValueError as exc:
        raise CommandExit(
            2, f"sim sh: only `zfs send ... | ssh ... zfs recv ...` runs here ({exc}): {args[1]}"
        ) from None
    from .shims import PROJECT_ROOT
    from .sshshim import ensure_netbin

    netbin = ensure_netbin(host.state_dir)
    first = subprocess.Popen(
        [sys.executable, "-c", _RUN_TOOL, str(PROJECT_ROOT), str(host.state_dir), *send],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert first.stdout is not None and first.stderr is not None
    second = subprocess.Popen(
        [str(netbin / "ssh"), *ssh[1:]],
        stdin=first.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first.stdout.close()  # only `ssh` reads it now: zfs send sees EPIPE if ssh goes away
    assert second.stdout is not None and second.stderr is not None
    lock = threading.Lock()
    threads = [
        threading.Thread(target=_copy, args=(first.stderr, io.stderr, lock), daemon=True),
        threading.Thread(target=_copy, args=(second.stderr, io.stderr, lock), daemon=True),
        threading.Thread(target=_copy, args=(second.stdout, io.stdout, None), daemon=True),
    ]
    for t in threads:
        t.start()
    while second.poll() is None or first.poll() is None:
        if io.cancelled.wait(_POLL):
            for proc in (first, second):
                if proc.poll() is None:
                    proc.kill()
    for proc in (first, second):
        proc.wait()
    for t in threads:
        t.join(2.0)
    rc = second.returncode
    return rc if rc >= 0 else 128 + (-rc or signal.SIGKILL)


def _copy(src: IO[bytes], dst: IO[bytes], lock: threading.Lock | None) -> None:
    # Whole lines for stderr (two writers share it), raw chunks for stdout.
    reader = iter(src.readline, b"") if lock is not None else iter(lambda: src.read(65536), b"")
    for data in reader:
        try:
            if lock is not None:
                with lock:
                    dst.write(data)
                    dst.flush()
            else:
                dst.write(data)
        except (BrokenPipeError, ValueError, OSError):
            pass
    src.close()
