"""SimHost: one simulated FreeBSD Xen Dom0 — run commands, inject faults, reboot."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import fs
from .result import CommandExit, SimResult, SimTimeout, SimUnreachable, fail
from .seed import apply_readiness
from .state import StateStore

if TYPE_CHECKING:
    from .streams import SimProcess


def _tools() -> dict[str, Callable[[SimHost, list[str], bytes | None], SimResult]]:
    # Imported lazily so a shim running `sysctl` does not load urllib or the xl code.
    def xl(host: SimHost, args: list[str], stdin: bytes | None) -> SimResult:
        from .xl import main

        return main(host, args)

    def zfs(host: SimHost, args: list[str], stdin: bytes | None) -> SimResult:
        from .zfs import zfs as run

        return run(host, args)

    def zpool(host: SimHost, args: list[str], stdin: bytes | None) -> SimResult:
        from .zfs import zpool as run

        return run(host, args)

    def fetch(host: SimHost, args: list[str], stdin: bytes | None) -> SimResult:
        from .fetch import fetch as run

        return run(host, args)

    def simple(name: str) -> Callable[[SimHost, list[str], bytes | None], SimResult]:
        def run(host: SimHost, args: list[str], stdin: bytes | None) -> SimResult:
            from . import sysutils

            if name in ("sha256", "sha512"):
                return sysutils.digest(host, name, args, stdin)
            handler: Callable[[SimHost, list[str]], SimResult] = getattr(sysutils, name)
            return handler(host, args)

        return run

    def pciconf(host: SimHost, args: list[str], stdin: bytes | None) -> SimResult:
        from .pci import pciconf as run

        return run(host, args)

    table: dict[str, Callable[[SimHost, list[str], bytes | None], SimResult]] = {
        "xl": xl,
        "zfs": zfs,
        "zpool": zpool,
        "fetch": fetch,
        "pciconf": pciconf,
    }
    from .keygen import TOOLS as access_tools  # ssh-keygen, chmod, sh (migration access)

    table.update(access_tools)
    from .getent import TOOLS as getent_tool  # getent passwd (migration access)

    table.update(getent_tool)
    from .xentop import TOOLS as xentop_tool  # xentop -b (metrics sampling, issue 16)

    table.update(xentop_tool)
    for name in ("sysctl", "sysrc", "pkg", "ifconfig", "sha256", "sha512", "test"):
        table[name] = simple(name)
    return table


TOOLS = _tools()


class SimHost:
    """A simulated Dom0 whose state lives in `state_dir` (see seed_host to create one)."""

    def __init__(self, state_dir: str | Path) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.store = StateStore(self.state_dir)
        if not self.store.exists():
            raise FileNotFoundError(f"no simulated host in {self.state_dir} (use seed_host)")
        self.root = self.state_dir / "root"

    def __repr__(self) -> str:
        return f"SimHost({str(self.state_dir)!r})"

    # -- the filesystem -----------------------------------------------------------------------

    def now(self) -> float:
        return time.time()

    def normalize(self, host_path: str) -> str:
        """Return the absolute host path; relative paths are taken from /root."""
        return fs.normalize(host_path)

    def local(self, host_path: str) -> Path:
        """Map a host path (relative ones from /root) under root, without the fault check."""
        return fs.to_local(self.root, host_path)

    def path(self, host_path: str) -> Path:
        """Map an absolute host path to its place under `root`; ValueError for escapes."""
        if not host_path.startswith("/"):
            raise ValueError(f"host path must be absolute: {host_path!r}")
        if self.store.read()["faults"]["unreachable"]:
            raise SimUnreachable(f"{self.hostname} does not answer")
        return self.local(host_path)

    @property
    def hostname(self) -> str:
        name: str = self.store.read()["hostname"]
        return name

    # -- commands -----------------------------------------------------------------------------

    def run(
        self, argv: Sequence[str], stdin: bytes | None = None, timeout: float | None = None
    ) -> SimResult:
        """Run one command on the host as argv and return what it printed and its exit code."""
        args, early = self.prelude(argv, timeout)
        if early is not None:
            return early
        tool = args[0].rsplit("/", 1)[-1]
        from .streams import run_buffered, streaming_handler

        streaming = streaming_handler(tool, args[1:])
        if streaming is not None:
            return run_buffered(self, streaming, args[1:], stdin)
        try:
            return TOOLS[tool](self, args[1:], stdin)
        except CommandExit as exc:
            return exc.result()

    def popen(self, argv: Sequence[str], timeout: float | None = None) -> SimProcess:
        """Start one command in a thread with stdin/stdout/stderr pipes (streams.py).

        The command runs as `run` would, but reads and writes as it goes: `zfs send` writes its
        stream to `proc.stdout`, `zfs recv` reads `proc.stdin`, progress lines arrive on
        `proc.stderr`. SimUnreachable/SimTimeout are raised here, as by `run`.
        """
        from .streams import SimProcess, StreamIO, streaming_handler

        args, early = self.prelude(argv, timeout)
        tool = args[0].rsplit("/", 1)[-1]
        streaming = None if early is not None else streaming_handler(tool, args[1:])

        def target(streams: StreamIO) -> int:
            if streaming is not None:
                return streaming(self, args[1:], streams)
            data = None
            if early is None and tool in ("sha256", "sha512"):
                data = streams.stdin.read()
            result = early if early is not None else self.run(args, stdin=data)
            streams.stdout.write(result.stdout.encode("utf-8", "surrogateescape"))
            streams.stderr.write(result.stderr.encode("utf-8", "replace"))
            return result.rc

        return SimProcess(self, args, target)

    def prelude(
        self, argv: Sequence[str], timeout: float | None
    ) -> tuple[list[str], SimResult | None]:
        """Apply the injected faults; return argv as strings and an early result, if any."""
        if not argv:
            raise ValueError("empty argv")
        state = self.store.read()
        faults = state["faults"]
        if faults["unreachable"]:
            raise SimUnreachable(f"{state['hostname']} does not answer")
        latency = faults["latency_ms"] / 1000
        if latency:
            if timeout is not None and latency > timeout:
                time.sleep(timeout)
                raise SimTimeout(f"no answer from {state['hostname']} within {timeout}s")
            time.sleep(latency)
        args = [str(a) for a in argv]
        tool = args[0].rsplit("/", 1)[-1]
        for prefix, (rc, stderr) in faults["fail"].items():
            words = prefix.split()
            if [tool, *args[1:]][: len(words)] == words:
                return args, SimResult(
                    int(rc), "", stderr if stderr.endswith("\n") else stderr + "\n"
                )
        handler = TOOLS.get(tool)
        if handler is None or (tool == "xl" and "xen-tools" not in state["packages"]):
            return args, fail(127, f"{tool}: Command not found.")
        return args, None

    # -- control from tests and the demo -------------------------------------------------------

    def set_faults(
        self,
        *,
        latency_ms: int | None = None,
        unreachable: bool | None = None,
        fail: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        """Change the injected faults; arguments left as None keep their current value."""
        with self.store.edit() as state:
            faults = state["faults"]
            if latency_ms is not None:
                faults["latency_ms"] = int(latency_ms)
            if unreachable is not None:
                faults["unreachable"] = bool(unreachable)
            if fail is not None:
                faults["fail"] = {k: [int(rc), err] for k, (rc, err) in fail.items()}

    def reboot(self) -> None:
        """Reboot Dom0: every domU is gone, ids start at 1 again, cpu time and boot id reset."""
        from . import vnc

        with self.store.edit() as state:
            for dom in state["domains"].values():
                vnc.stop(dom)
            state["domains"] = {}
            state["next_domid"] = 1
            state["boot_time"] = time.time()
            state["boot_id"] = str(uuid.uuid4())

    def age(self, seconds: float) -> None:
        """Move the boot back by `seconds`: the host has been up that much longer (Domain-0's
        CPU time grows with it, as on a host that ran for a while before a reboot)."""
        with self.store.edit() as state:
            state["boot_time"] = float(state["boot_time"]) - seconds

    @property
    def boot_id(self) -> str:
        value: str = self.store.read()["boot_id"]
        return value

    def set_readiness(self, item: str, ok: bool) -> None:
        """Make one readiness item (seed.READINESS_ITEMS) pass or fail."""
        with self.store.edit() as state:
            apply_readiness(self.root, state, item, ok)

    def vnc_port(self, name: str) -> int | None:
        """Return the TCP port the domU's VNC server listens on, or None."""
        dom = self.store.read()["domains"].get(name)
        return None if dom is None else dom.get("vnc_port")

    def set_vnc_servers(self, enabled: bool, *, qemu: bool = True) -> None:
        """Run a real VNC server for each domU created from now on with `vnc = 1` (see vnc.py).

        qemu=False keeps to the built-in RFB server even where QEMU could boot the domU's ISO.
        """
        with self.store.edit() as state:
            state["vnc_servers"] = bool(enabled)
            state["vnc_qemu"] = bool(qemu)

    def set_pciback(self, present: bool) -> None:
        """Model a Dom0 whose libxl can make devices assignable (True, the default), or stock
        FreeBSD libxl, whose pciback paths are /dev/null so every pci-assignable call fails."""
        with self.store.edit() as state:
            state["pciback"] = present

    def set_stream_options(
        self, *, rate: int | None = None, progress_interval: float | None = None
    ) -> None:
        """Throttle `zfs send` to `rate` bytes/s (0 = no limit) and set the seconds between its
        progress lines (1.0, as zfs), so tests and the demo can watch a send progress."""
        with self.store.edit() as state:
            opts = state.setdefault("stream", {})
            if rate is not None:
                opts["rate"] = int(rate)
            if progress_interval is not None:
                opts["progress_interval"] = float(progress_interval)

    def set_pv_drivers(self, name: str, present: bool) -> None:
        """Say whether a domU's guest runs PV drivers (graceful shutdown without -F)."""
        with self.store.edit() as state:
            if name not in state["domains"]:
                raise KeyError(name)
            state["domains"][name]["pv_drivers"] = present
