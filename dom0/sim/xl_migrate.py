"""`xl migrate [-C cfg] [-s sshcmd] [-e] [-p] [-D] [--debug] <dom> <host>`: the sending side.

Follows Xen tools/xl/xl_migrate.c: `main_migrate` builds the rune
`exec <sshcmd> <host> xl migrate-receive[ -e][ -d][ -p]` (or `<host>` alone with `-s ""`);
`create_migration_child` runs `sh -c <rune>` with its stdin/stdout as the two directions;
`migrate_domain` reads the banner, sends the header and config ("Saving to migration stream new
xl format (info 0x3/0x0/N)"), the memory (live: the domain runs until the image is out, then it
is suspended, here: paused), waits for "ready", renames the domain `<name>--migratedaway`, says
"go", reads the receiver's report and destroys its copy ("Migration successful.", exit 0) or
resumes it. The receiver's stderr reaches ours (ssh passes it through), so the output of a
migration has both sides' lines, in the order they happened.

The `sh` child finds `ssh` first in `<state_dir>/netbin`, the simulator's ssh (sshshim.py), which
reaches the other simulated host by name; any other -s command is run as given.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from typing import IO, TYPE_CHECKING, Any

from . import domains, streams, vnc
from . import xl_migrate_proto as proto
from .result import CommandExit
from .streams import StreamIO
from .xl_build import build_domain
from .xlcfg import CfgError, parse_cfg

if TYPE_CHECKING:
    from .host import SimHost

_SOURCE = "migration receiver stream"
_CHUNK = 64 * 1024


def xl_streaming(host: SimHost, args: list[str], io: StreamIO) -> int:
    """The streaming xl subcommands, after xl's global options and the Xen-is-running check."""
    from .xl import NOT_RUNNING
    from .xl_migrate_recv import xl_migrate_receive

    while args and args[0].startswith("-"):
        args = args[1:]
    if not host.store.read()["xen_running"]:
        io.err(*NOT_RUNNING)
        return 1
    if args[0] == "migrate-receive":
        return xl_migrate_receive(host, args[1:], io)
    return xl_migrate(host, args[1:], io)


def _parse(args: list[str]) -> tuple[dict[str, Any], list[str]]:
    opts: dict[str, Any] = {"config": None, "ssh": "ssh", "daemonize": True, "paused": False}
    opts["debug"] = False
    rest: list[str] = []
    it = iter(args)
    for arg in it:
        if arg in ("-C", "-s"):
            value = next(it, None)
            if value is None:
                raise CommandExit(2, f"option requires an argument -- '{arg[1]}'")
            opts["config" if arg == "-C" else "ssh"] = value
        elif arg in ("-e", "-F"):
            opts["daemonize"] = False
        elif arg == "-p":
            opts["paused"] = True
        elif arg == "--debug":
            opts["debug"] = True
        elif arg in ("-D", "--live"):
            continue
        elif arg.startswith("-") and len(arg) > 1:
            raise CommandExit(2, f"option `{arg.lstrip('-')[:1]}' not supported.")
        else:
            rest.append(arg)
    if len(rest) < 2:
        raise CommandExit(2, "'xl migrate' requires at least 2 arguments.")
    return opts, rest


def rune(ssh: str, target: str, *, daemonize: bool, debug: bool, paused: bool) -> str:
    """The command xl gives to `sh -c` (main_migrate; no -t, stderr is no tty here)."""
    if not ssh:
        return target
    tail = (" -e" if not daemonize else "") + (" -d" if debug else "") + (" -p" if paused else "")
    return f"exec {ssh} {target} xl migrate-receive{tail}"


def _config(host: SimHost, dom: dict[str, Any], path: str | None) -> bytes:
    if path is None:
        return proto.config_bytes(dom)
    try:
        text = host.local(path).read_text("utf-8", "replace")
        record = build_domain(parse_cfg(text, path))
    except (OSError, ValueError) as exc:
        raise CommandExit(1, "unable to read overridden config file") from exc
    except (CfgError, CommandExit) as exc:
        raise CommandExit(1, *exc.lines) from exc
    return proto.config_bytes(record)


def xl_migrate(host: SimHost, args: list[str], io: StreamIO) -> int:
    opts, rest = _parse(args)
    state = host.store.read()
    domid, dom = domains.find_domain(state, rest[0])
    if dom is None:
        raise CommandExit(1, f"{rest[0]} is an invalid domain identifier (rc=-6)")
    config = _config(host, dom, opts["config"])
    command = rune(
        opts["ssh"],
        rest[1],
        daemonize=opts["daemonize"],
        debug=opts["debug"],
        paused=opts["paused"],
    )
    sender = _Sender(host, io, dom["name"], domid, command)
    try:
        return sender.run(config, proto.image(dom))
    finally:
        sender.close()


class _Sender:
    """One run of migrate_domain: the child, its pipes and the relay of its stderr."""

    def __init__(self, host: SimHost, io: StreamIO, name: str, domid: int, command: str) -> None:
        from .sshshim import ensure_netbin

        self.host, self.io, self.name, self.domid, self.rune = host, io, name, domid, command
        env = dict(os.environ)
        env["PATH"] = f"{ensure_netbin(host.state_dir)}:{env.get('PATH', '/usr/bin:/bin')}"
        self.child = subprocess.Popen(
            ["sh", "-c", command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert self.child.stdin and self.child.stdout and self.child.stderr
        self.send: IO[bytes] = self.child.stdin
        self.recv: IO[bytes] = self.child.stdout
        self.errs: IO[bytes] = self.child.stderr
        flags = fcntl.fcntl(self.errs.fileno(), fcntl.F_GETFL)
        fcntl.fcntl(self.errs.fileno(), fcntl.F_SETFL, flags | os.O_NONBLOCK)

    def relay(self) -> None:
        """Pass on what the receiver printed so far (it prints before it answers on stdout)."""
        while True:
            try:
                data = os.read(self.errs.fileno(), 65536)
            except BlockingIOError:
                return
            except OSError:
                return
            if not data:
                return
            self.io.stderr.write(data)
            self.io.stderr.flush()

    def say(self, *lines: str) -> None:
        self.relay()
        self.io.err(*lines)

    def expect(self, message: bytes, what: str) -> bool:
        got = proto.read_exactly(self.recv, len(message))
        if len(got) < len(message):
            self.say(proto.truncated(what, _SOURCE))
            return False
        if got != message:
            self.say(
                f"{_SOURCE} contained unexpected data instead of {what}",
                f"(command run was: {self.rune} )",
            )
            return False
        return True

    def write(self, data: bytes, rate: int = 0) -> bool:
        """Send `data` (at most `rate` bytes/s if set); False if the pipe broke or on cancel."""
        started = time.monotonic()
        try:
            for start in range(0, len(data), _CHUNK):
                if self.io.cancelled.is_set():
                    return False
                self.send.write(data[start : start + _CHUNK])
                self.send.flush()
                self.relay()
                if rate:
                    delay = started + (start + _CHUNK) / rate - time.monotonic()
                    if delay > 0:
                        self.io.cancelled.wait(delay)
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def run(self, config: bytes, memory: bytes) -> int:
        if not self.expect(proto.BANNER, "banner"):
            return 1
        header = proto.header(config)
        if not self.write(header):
            self.say(
                "libxl: error: libxl_utils.c:508:libxl_write_exactly: failed to write header "
                "from migration stream: Broken pipe"
            )
            return 1
        self.say(f"Saving to migration stream new xl format (info 0x3/0x0/{len(header) - 48})")
        image = proto.U64.pack(len(memory)) + memory
        if not self.write(image, streams.migrate_rate(self.host)):
            if self.io.cancelled.is_set():
                # Killed (SIGTERM) in the live pre-copy: xl dies, the guest was never suspended
                # and runs on; closing the pipe makes the receiver drop what it got.
                return 1
            # Still in the live pre-copy: the guest was never asked to suspend, so libxl reports
            # ERROR_GUEST_TIMEDOUT and xl does not resume it (it still runs).
            self.say(
                "xc: error: Failed to write page data to stream (32 = Broken pipe): Internal error",
                "xc: error: Save failed (32 = Broken pipe): Internal error",
                "libxl: error: libxl_stream_write.c:343:libxl__xc_domain_save_done: "
                f"Domain {self.domid}:saving domain: domain did not respond to suspend request: "
                "Broken pipe",
                "migration sender: libxl_domain_suspend failed (rc=-8)",
                "Migration failed, failed to suspend at sender.",
            )
            return 1
        self._set(paused=True)
        if not self.write(proto.digest(memory) + proto.DONE):
            self.say(
                "libxl: error: libxl_stream_write.c:343:libxl__xc_domain_save_done: "
                f"Domain {self.domid}:saving domain: domain responded to suspend request: "
                "Broken pipe",
                "migration sender: libxl_domain_suspend failed (rc=-3)",
            )
            return self._resume("Migration failed, resuming at sender.")
        if not self.expect(proto.READY, "ready message"):
            return self._resume("Migration failed, resuming at sender.")
        self.say("migration sender: Target has acknowledged transfer.")
        self._set(name=f"{self.name}--migratedaway")
        self.say("migration sender: Giving target permission to start.")
        if not self.write(proto.GO):
            return self._badly()
        if not self.expect(proto.REPORT, "success/failure report message"):
            return self._badly()
        status = proto.read_exactly(self.recv, 1)
        if not status:
            self.say(proto.truncated("success/failure status", "migration ack stream"))
            return self._badly()
        if status[0]:
            self.say(f"migration sender: Target reports startup failure (status code {status[0]}).")
            if not self.expect(proto.GO, "permission for sender to resume"):
                return self._badly()
            self.say("migration sender: Trying to resume at our end.")
            self._set(name=self.name, paused=False)
            self.say("migration sender: Resumed OK.", "Migration failed due to problems at target.")
            return 1
        self.say("migration sender: Target reports successful startup.")
        self._destroy()
        self.say("Migration successful.")
        return 0

    def _resume(self, line: str) -> int:
        self.close_send()
        self.say(line)
        self._set(paused=False)
        return 1

    def _badly(self) -> int:
        self.say(
            "** Migration failed during final handshake **",
            "Domain state is now undefined !",
            "Please CHECK AT BOTH ENDS for running instances, before renaming and",
            " resuming at most one instance.  Two simultaneous instances of the domain",
            " would probably result in SEVERE DATA LOSS and it is now your",
            " responsibility to avoid that.  Sorry.",
        )
        return 1

    def _find(self, state: dict[str, Any]) -> dict[str, Any] | None:
        return domains.by_id(state, self.domid)

    def _set(self, *, name: str | None = None, paused: bool | None = None) -> None:
        with self.host.store.edit() as state:
            dom = self._find(state)
            if dom is None:
                return
            now = self.host.now()
            if paused is True and not dom["paused"]:
                domains.stop_clock(dom, now)
                dom["paused"] = True
            elif paused is False and dom["paused"]:
                dom["paused"], dom["run_since"] = False, now
            if name is not None and name != dom["name"]:
                del state["domains"][dom["name"]]
                dom["name"] = name
                state["domains"][name] = dom

    def _destroy(self) -> None:
        with self.host.store.edit() as state:
            dom = self._find(state)
            if dom is not None:
                del state["domains"][dom["name"]]
                vnc.stop(dom)

    def close_send(self) -> None:
        try:
            self.send.close()
        except OSError:
            pass

    def close(self) -> None:
        self.close_send()
        try:
            self.child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()
        # Whatever the receiver printed last (after our final line, as on a real terminal).
        fcntl.fcntl(self.errs.fileno(), fcntl.F_SETFL, 0)
        rest = self.errs.read()
        if rest:
            self.io.stderr.write(rest)
            self.io.stderr.flush()
        for stream in (self.recv, self.errs):
            stream.close()
