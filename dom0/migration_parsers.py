"""Parsers for moving a domU between Dom0s (re-exported by `dom0.parsers`): the `zfs send`
size estimate and progress lines, the receive resume token, and what `xl migrate` prints.

Formats and sources are in docs/migration-cli-facts.md (openzfs/zfs be7657e3f2,
xen-project/xen c447b7308b).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from dom0 import errors

__all__ = [
    "MigrationOutcome",
    "MigrationPhase",
    "MigrationProgress",
    "SendEstimate",
    "SendProgress",
    "SendStream",
    "parse_receive_resume_token",
    "parse_xl_migrate_progress",
    "parse_zfs_send_estimate",
    "parse_zfs_send_progress",
    "read_zfs_send_progress",
]

# --- sizes as zfs_nicenum prints them -----------------------------------------------------------

_NICE_RE = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]+)?)(?P<unit>[BKMGTPE]?)")
_NICE_SHIFT = {"": 0, "B": 0, "K": 10, "M": 20, "G": 30, "T": 40, "P": 50, "E": 60}


def _nice_bytes(text: str) -> int | None:
    """Read `zfs_nicenum`/`zfs_nicebytes` output (`512B`, `1.50M`, `12G`): powers of 1024, at
    most three significant decimals, so the result is approximate."""
    match = _NICE_RE.fullmatch(text)
    if not match:
        return None
    return int(float(match["num"]) * (1 << _NICE_SHIFT[match["unit"]]))


# --- zfs send -nvP -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SendStream:
    """One stream of an estimate: `full` or `incremental` (then `from_snapshot` is set)."""

    kind: str
    snapshot: str
    from_snapshot: str | None
    size: int


@dataclass(frozen=True)
class SendEstimate:
    """What `zfs send -n -v -P` prints: each stream, and the total in bytes.

    `exact` is False when the numbers came from the human form (`-v` without `-P`).
    """

    total_bytes: int
    streams: tuple[SendStream, ...] = ()
    exact: bool = True


_TOTAL_NICE_RE = re.compile(r"total estimated size is (?P<size>\S+)$")
_FULL_NICE_RE = re.compile(r"full send of (?P<snap>\S+) estimated size is (?P<size>\S+)$")
_INCR_NICE_RE = re.compile(
    r"send from (?P<from>\S+) to (?P<snap>\S+) estimated size is (?P<size>\S+)$"
)


def _int_field(raw: str, line: str) -> int:
    if not raw.isdigit():
        raise errors.ParseError(f"zfs send -nvP: expected a byte count in {line!r}")
    return int(raw)


def parse_zfs_send_estimate(text: str) -> SendEstimate:
    """Parse `zfs send -nvP` (or `-nv`) output.

    `-P` lines are `full<TAB>pool/ds@s<TAB>bytes`, `incremental<TAB><from><TAB>pool/ds@s<TAB>
    bytes` and a final `size<TAB>bytes` (libzfs_sendrecv.c `send_print_verbose`,
    `estimate_size`). `<from>` is `pool/ds@a` for a single-dataset send and the bare snapshot
    name for `-R`/`-I` sends. Other lines (a resume token's contents, warnings) are skipped.
    """
    streams: list[SendStream] = []
    total: int | None = None
    exact = True
    for raw in text.splitlines():
        line = raw.rstrip("\r\n")
        cells = line.split("\t")
        if cells[0] == "full" and len(cells) == 3:
            streams.append(SendStream("full", cells[1], None, _int_field(cells[2], line)))
        elif cells[0] == "incremental" and len(cells) == 4:
            size = _int_field(cells[3], line)
            streams.append(SendStream("incremental", cells[2], cells[1], size))
        elif cells[0] == "size" and len(cells) == 2:
            total = _int_field(cells[1], line)
        elif match := _FULL_NICE_RE.search(line):
            exact = False
            streams.append(SendStream("full", match["snap"], None, _nice_or_fail(match, line)))
        elif match := _INCR_NICE_RE.search(line):
            exact = False
            size = _nice_or_fail(match, line)
            streams.append(SendStream("incremental", match["snap"], match["from"], size))
        elif match := _TOTAL_NICE_RE.search(line):
            exact = False
            total = _nice_or_fail(match, line)
    if total is None:
        if not streams:
            raise errors.ParseError(
                "zfs send -nvP: no 'size' line and no stream lines in the output"
            )
        total = sum(s.size for s in streams)
    return SendEstimate(total_bytes=total, streams=tuple(streams), exact=exact)


def _nice_or_fail(match: re.Match[str], line: str) -> int:
    value = _nice_bytes(match["size"])
    if value is None:
        raise errors.ParseError(f"zfs send -nv: unreadable size in {line!r}")
    return value


# --- zfs send -v / -P progress -----------------------------------------------------------------


@dataclass(frozen=True)
class SendProgress:
    """One per-second progress line of `zfs send -v`: the wall-clock time, bytes sent so far and
    the snapshot; `exact` is False for the human form (`1.21G`), which is rounded."""

    time: str
    bytes_sent: int
    snapshot: str
    exact: bool = True


_TIME_RE = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}")
_HUMAN_PROGRESS_RE = re.compile(
    r"(?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})\s+(?P<bytes>[0-9.]+[BKMGTPE]?)\s+"
    r"(?:[0-9]+\s+)?(?P<snap>\S+)"
)


def read_zfs_send_progress(line: str) -> SendProgress | None:
    """Read one stderr line of `zfs send -v[v] [-P]`; None for anything else.

    `-v -P`: `HH:MM:SS<TAB>bytes<TAB>snapshot`; `-vv -P` adds a block count before the
    snapshot; without `-P`: `HH:MM:SS   <nicebytes>   snapshot` after a `TIME  SENT  SNAPSHOT`
    header (libzfs_sendrecv.c `send_progress_thread`). The estimate lines and the header give
    None.
    """
    text = line.strip("\r\n")
    cells = text.split("\t")
    if len(cells) in (3, 4) and _TIME_RE.fullmatch(cells[0]):
        if not all(c.isdigit() for c in cells[1:-1]) or not cells[-1]:
            return None
        return SendProgress(cells[0], int(cells[1]), cells[-1])
    match = _HUMAN_PROGRESS_RE.fullmatch(text.strip())
    if match:
        value = _nice_bytes(match["bytes"])
        if value is not None:
            return SendProgress(match["time"], value, match["snap"], exact=False)
    return None


def parse_zfs_send_progress(line: str) -> int | None:
    """Return the bytes sent so far from one `zfs send -v`/`-P` progress line, else None."""
    progress = read_zfs_send_progress(line)
    return progress.bytes_sent if progress else None


def parse_receive_resume_token(text: str) -> str | None:
    """Parse `zfs get -H -p -o value receive_resume_token <ds>`: the token, or None for `-`."""
    value = text.strip()
    if value in ("", "-"):
        return None
    if not re.fullmatch(r"[0-9]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+", value):
        raise errors.ParseError(f"zfs get receive_resume_token: not a token: {value[:80]!r}")
    return value


# --- xl migrate --------------------------------------------------------------------------------


class MigrationPhase(enum.IntEnum):
    """How far a live migration got, in the order xl's messages come (sender and receiver
    messages share one stderr: ssh passes the receiver's through)."""

    NOT_STARTED = 0
    RECEIVER_READY = 1  # migration target: Ready to receive domain.
    SENDING = 2  # Saving to migration stream new xl format (info ...)
    RECEIVING = 3  # Loading new save file <incoming migration stream> (new xl fmt info ...)
    TRANSFERRED = 4  # migration target: Transfer complete, requesting permission to start ...
    ACKNOWLEDGED = 5  # migration sender: Target has acknowledged transfer.
    HANDED_OVER = 6  # migration sender: Giving target permission to start.  (no return)
    TARGET_STARTING = 7  # migration target: Got permission, starting domain.
    TARGET_STARTED = 8  # migration sender: Target reports successful startup.
    DONE = 9  # Migration successful.


class MigrationOutcome(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the domain is back on (or never left) the sender
    UNDEFINED = "undefined"  # failed during the final handshake: check both hosts


#: A rough share of the whole for each phase: xl hides its page-copy progress while it streams
#: (xl_migrate.c sets XTL_STDIOSTREAM_HIDE_PROGRESS), so the copy is the gap 15 -> 85.
PHASE_PERCENT = {
    MigrationPhase.NOT_STARTED: 0,
    MigrationPhase.RECEIVER_READY: 5,
    MigrationPhase.SENDING: 10,
    MigrationPhase.RECEIVING: 15,
    MigrationPhase.TRANSFERRED: 85,
    MigrationPhase.ACKNOWLEDGED: 90,
    MigrationPhase.HANDED_OVER: 93,
    MigrationPhase.TARGET_STARTING: 95,
    MigrationPhase.TARGET_STARTED: 98,
    MigrationPhase.DONE: 100,
}

_PHASE_LINES: tuple[tuple[re.Pattern[str], MigrationPhase], ...] = tuple(
    (re.compile(pattern), phase)
    for pattern, phase in (
        (r"^migration target: Ready to receive domain\.$", MigrationPhase.RECEIVER_READY),
        (r"^Saving to migration stream new xl format \(info ", MigrationPhase.SENDING),
        (
            r"^Loading new save file <incoming migration stream> \(new xl fmt info ",
            MigrationPhase.RECEIVING,
        ),
        (
            r"^migration target: Transfer complete, requesting permission to start domain\.$",
            MigrationPhase.TRANSFERRED,
        ),
        (
            r"^migration sender: Target has acknowledged transfer\.$",
            MigrationPhase.ACKNOWLEDGED,
        ),
        (
            r"^migration sender: Giving target permission to start\.$",
            MigrationPhase.HANDED_OVER,
        ),
        (
            r"^migration target: Got permission, starting domain\.$",
            MigrationPhase.TARGET_STARTING,
        ),
        # xl really prints "successsfully" (three s) here (xl_migrate.c `migrate_receive`).
        (r"^migration target: Domain started succes+fully\.$", MigrationPhase.TARGET_STARTED),
        (
            r"^migration sender: Target reports successful startup\.$",
            MigrationPhase.TARGET_STARTED,
        ),
        (r"^Migration successful\.$", MigrationPhase.DONE),
    )
)
_FAILED_LINES = (
    "Migration failed, resuming at sender.",
    "Migration failed, failed to suspend at sender.",
    "Migration failed due to problems at target.",
)
_UNDEFINED_LINE = "** Migration failed during final handshake **"
_ERROR_RE = re.compile(
    r"^(?:libxl: error: .*|xc: error: .*|migration target: (?:Domain creation failed|"
    r"Failed to destroy).*|migration sender: (?:libxl_domain_suspend failed|Target reports "
    r"startup failure).*|.* contained unexpected data instead of .*|No config file stored .*)$"
)


@dataclass(frozen=True)
class MigrationProgress:
    """What `xl migrate`'s output says so far: the phase reached, the outcome, and where the
    domain is (`source`, `destination`, or `unknown` while the hosts hand it over or after a
    failed final handshake)."""

    phase: MigrationPhase
    outcome: MigrationOutcome
    where: str
    resumed: bool | None
    events: tuple[str, ...]
    errors: tuple[str, ...]

    @property
    def percent(self) -> int:
        return PHASE_PERCENT[self.phase]

    @property
    def finished(self) -> bool:
        return self.outcome is not MigrationOutcome.IN_PROGRESS


def _where(outcome: MigrationOutcome, phase: MigrationPhase) -> str:
    if outcome is MigrationOutcome.SUCCEEDED:
        return "destination"
    if outcome is MigrationOutcome.FAILED:
        return "source"
    if outcome is MigrationOutcome.UNDEFINED or phase >= MigrationPhase.HANDED_OVER:
        return "unknown"
    return "source"


def parse_xl_migrate_progress(text: str) -> MigrationProgress:
    """Read `xl migrate`'s stderr so far (call it again as more arrives).

    The lines are xl's own (tools/xl/xl_migrate.c `migrate_domain`, `migrate_receive`;
    xl_saverestore.c `save_domain_core_writeconfig`; xl_vmcontrol.c `create_domain`). A carriage
    return (the receiver's `-t` progress display) counts as a line break.
    """
    phase = MigrationPhase.NOT_STARTED
    outcome = MigrationOutcome.IN_PROGRESS
    resumed: bool | None = None
    events: list[str] = []
    problems: list[str] = []
    for raw in text.replace("\r", "\n").splitlines():
        line = raw.strip()
        if not line:
            continue
        for pattern, step in _PHASE_LINES:
            if pattern.search(line):
                phase = max(phase, step)
                events.append(line)
                break
        else:
            if line in _FAILED_LINES:
                outcome = MigrationOutcome.FAILED
                events.append(line)
            elif line == _UNDEFINED_LINE:
                outcome = MigrationOutcome.UNDEFINED
                events.append(line)
            elif line == "migration sender: Resumed OK.":
                resumed = True
                events.append(line)
            elif line == "migration sender: Trying to resume at our end.":
                resumed = False if resumed is None else resumed
                events.append(line)
            elif line.startswith("xc: info: "):
                events.append(line)
            elif _ERROR_RE.match(line):
                problems.append(line)
    if outcome is MigrationOutcome.IN_PROGRESS and phase is MigrationPhase.DONE:
        outcome = MigrationOutcome.SUCCEEDED
    return MigrationProgress(
        phase=phase,
        outcome=outcome,
        where=_where(outcome, phase),
        resumed=resumed,
        events=tuple(events),
        errors=tuple(problems),
    )
