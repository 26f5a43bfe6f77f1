"""Relayed storage-migration throughput: host A's stream relayed into host B through the worker's
two SSH channels (dom0.transports.relay), against a plain `ssh A cat file | ssh B 'cat >/dev/null'`
pipe between the same endpoints, measured in the same run (issue 14: target >= 0.5x).

Both "hosts" are one throwaway OpenSSH sshd on 127.0.0.1 (tests/support/sshd.py), reached over
two separate connections, as the worker reaches two Dom0s. The source reads a file of random
bytes (in the page cache after the first round); the sink throws the bytes away.

    .venv/bin/python bench/relay.py [--mib 512] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dom0.transport import SSHTransport, TransportConfig  # noqa: E402
from dom0.transports.relay import relay  # noqa: E402
from tests.support.sshd import SshdInfo, start_sshd, stop_sshd  # noqa: E402

MiB = 1024 * 1024
SINK = ["sh", "-c", "cat > /dev/null"]


def make_file(path: Path, mib: int) -> None:
    rng = random.Random(14)
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(rng.randbytes(MiB))


def ssh_argv(info: SshdInfo, known_hosts: Path) -> list[str]:
    return [
        "ssh", "-i", info.client_key_path, "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
        "-p", str(info.port), "-l", info.user, "127.0.0.1",
    ]  # fmt: skip


def plain_pipe(info: SshdInfo, known_hosts: Path, data: Path) -> float:
    base = ssh_argv(info, known_hosts)
    began = time.monotonic()
    a = subprocess.Popen([*base, "cat", str(data)], stdout=subprocess.PIPE)
    b = subprocess.Popen([*base, "cat > /dev/null"], stdin=a.stdout)
    assert a.stdout is not None
    a.stdout.close()
    if b.wait() or a.wait():
        raise RuntimeError(f"plain pipe failed: rc {a.returncode} / {b.returncode}")
    return time.monotonic() - began


def relayed(cfg: TransportConfig, data: Path, expect: int) -> tuple[float, str]:
    with SSHTransport(cfg) as a, SSHTransport(cfg) as b:
        a.run(["true"], timeout=10)  # connect both first: the pipe's ssh connects inside its time
        b.run(["true"], timeout=10)
        began = time.monotonic()
        source = a.stream(["cat", str(data)], timeout=3600)
        sink = b.stream(SINK, timeout=3600)
        result = relay(source, sink)
        seconds = time.monotonic() - began
        live = a.connection()
        cipher = f"{live.local_cipher}/{live.local_mac}"
    if result.bytes != expect:
        raise RuntimeError(f"relayed {result.bytes} bytes, expected {expect}")
    return seconds, cipher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xenpanel-bench-relay-"))
    info = start_sshd(work / "sshd")
    try:
        known_hosts = work / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{info.port} {info.host_key_line}\n")
        cfg = TransportConfig(
            kind="ssh", address="127.0.0.1", port=info.port, user=info.user,
            key_path=info.client_key_path, known_host_key=info.host_key_line,
        )  # fmt: skip
        data = work / "volume.bin"
        make_file(data, args.mib)
        size = args.mib * MiB
        pipe_mibs: list[float] = []
        relay_mibs: list[float] = []
        cipher = ""
        for n in range(args.rounds):
            # Alternate the order so neither always runs on a warmer machine.
            order = ("pipe", "relay") if n % 2 == 0 else ("relay", "pipe")
            for what in order:
                if what == "pipe":
                    pipe_mibs.append(args.mib / plain_pipe(info, known_hosts, data))
                else:
                    seconds, cipher = relayed(cfg, data, size)
                    relay_mibs.append(args.mib / seconds)
            print(
                f"round {n + 1}: plain pipe {pipe_mibs[-1]:7.1f} MiB/s, "
                f"relay {relay_mibs[-1]:7.1f} MiB/s ({relay_mibs[-1] / pipe_mibs[-1]:.2f}x)"
            )
        best = max(relay_mibs) / max(pipe_mibs)
        med = statistics.median(relay_mibs) / statistics.median(pipe_mibs)
        print(f"{args.mib} MiB x {args.rounds} rounds, {os.cpu_count()} CPUs, relay {cipher}")
        for name, figures in (("plain pipe", pipe_mibs), ("relay", relay_mibs)):
            print(
                f"{name:10} best {max(figures):.1f} / median {statistics.median(figures):.1f} MiB/s"
            )
        print(f"ratio best {best:.2f}, ratio of medians {med:.2f} (target >= 0.5)")
    finally:
        stop_sshd(info)
        for leftover in work.glob("*.bin"):
            leftover.unlink()


if __name__ == "__main__":
    main()
