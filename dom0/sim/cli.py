"""The entry point of the command shims: run one tool against one simulated host."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from .host import SimHost
from .result import CommandExit, SimTimeout, SimUnreachable


def main(state_dir: str | Path, tool: str, argv: Sequence[str]) -> int:
    """Run `tool argv...` on the host in `state_dir`, print its output and return its exit code.

    An unreachable host answers as ssh would (exit 255), since that is how a shim behind sshd
    would look to the panel.
    """
    host = SimHost(state_dir)
    from .streams import StreamIO, streaming_handler

    streaming = streaming_handler(tool, argv)
    if streaming is not None:
        # zfs send/recv and xl migrate read and write as they go, on the real standard streams.
        try:
            _args, early = host.prelude([tool, *argv], None)
        except (SimUnreachable, SimTimeout):
            return _unreachable(state_dir)
        if early is not None:
            sys.stdout.write(early.stdout)
            sys.stderr.write(early.stderr)
            return early.rc
        streams = StreamIO(sys.stdin.buffer, sys.stdout.buffer, sys.stderr.buffer)
        try:
            rc = streaming(host, list(argv), streams)
        except CommandExit as exc:
            rc = streams.exit(exc)
        sys.stdout.flush()
        return rc
    # Only the digest tools read stdin, and only when given no file.
    files = [a for a in argv if not a.startswith("-")]
    stdin = None
    if tool in ("sha256", "sha512") and not files and sys.stdin is not None:
        stdin = sys.stdin.buffer.read()
    try:
        result = host.run([tool, *argv], stdin=stdin)
    except (SimUnreachable, SimTimeout):
        return _unreachable(state_dir)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    return result.rc


def _unreachable(state_dir: str | Path) -> int:
    sys.stderr.write(f"ssh: connect to host {Path(state_dir).name} port 22: Operation timed out\n")
    sys.stderr.flush()
    return 255
