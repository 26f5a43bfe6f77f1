"""Argv builders for moving a domU between Dom0s: `zfs send`/`zfs recv` and `xl migrate`
(re-exported by `dom0.commands`). Every input is validated first; the formats and their sources
are in docs/migration-cli-facts.md.

One string here is meant for a shell: the `-s <sshcommand>` of `xl migrate`, which xl pastes
into `exec <sshcommand> <host> xl migrate-receive` and runs with `sh -c` (xen
tools/xl/xl_migrate.c `main_migrate`, `create_migration_child`). `migrate_ssh_command` builds it
from parts that each match a strict character set, so the shell sees only plain words.
"""

from __future__ import annotations

import ipaddress
import re
import shlex

from dom0 import validate
from dom0.errors import ValidationError
from dom0.policy import DEFAULT_POLICY, PathPolicy
from dom0.policy import domain_arg as _dom

__all__ = [
    "RESUME_TOKEN_MAX_LEN",
    "direct_send",
    "direct_ssh_words",
    "login_name",
    "migrate_ssh_command",
    "migration_host",
    "port_number",
    "resume_token",
    "xl_migrate",
    "xl_migrate_receive",
    "zfs_receive_resume_token",
    "zfs_recv",
    "zfs_recv_abort",
    "zfs_send",
    "zfs_send_resume",
]

# --- validators --------------------------------------------------------------------------------

#: A path that `sh` reads as one plain word: absolute, and only these characters. None of them is
#: special to sh (no blanks, quotes, `$`, backquote, `\`, `;`, `&`, `|`, `<`, `>`, `(`, `)`, `*`,
#: `?`, `[`, `~`, `#`, `!`, `{`, `}`, `=`), and a word that starts with '/' is never an option.
_SAFE_PATH_RE = re.compile(r"(?:/[A-Za-z0-9._+-]+)+")
_SAFE_PATH_RULE = (
    "must be an absolute path made of letters, digits, '.', '_', '+', '-' and '/' only "
    "(no spaces, quotes or shell characters)"
)
#: A login name sh and ssh take as is: POSIX portable characters, not starting with '-'.
_USER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME_RE = re.compile(rf"(?=.{{1,253}}$){_HOST_LABEL}(?:\.{_HOST_LABEL})*")
#: `zfs get receive_resume_token` prints `<version>-<checksum>-<packed length>-<hex payload>`,
#: all hex in lower case (module/zfs/dsl_dataset.c `get_receive_resume_token`: "%u-%llx-%llx-%s"
#: with `%02x` bytes); version 1 is the only one libzfs accepts.
_TOKEN_RE = re.compile(r"1-[0-9a-f]{1,16}-[0-9a-f]{1,16}-(?:[0-9a-f]{2})+")
#: libzfs reads the property into a ZFS_MAXPROPLEN (8192) buffer, NUL included.
RESUME_TOKEN_MAX_LEN = 8191


def _safe_path(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be text", value)
    if len(value) > 1024:
        raise ValidationError(field, "must be at most 1024 characters", value)
    if not _SAFE_PATH_RE.fullmatch(value):
        raise ValidationError(field, _SAFE_PATH_RULE, value)
    if any(part in (".", "..") for part in value.split("/")):
        raise ValidationError(field, "must not contain '.' or '..' components", value)
    return value


def migration_host(value: object, field: str = "host") -> str:
    """Return the receiver as xl passes it to ssh: a host name, an IPv4 or an IPv6 address.

    It lands in the shell line xl runs, so only these forms pass: no user part (`-l` names the
    user), no port, no IPv6 zone, nothing starting with '-'.
    """
    if not isinstance(value, str):
        raise ValidationError(field, "must be text", value)
    host = value.strip()
    rule = "must be a host name such as xen-b.example.org, or an IPv4 or IPv6 address"
    if ":" in host:
        if "%" in host:
            raise ValidationError(field, rule + " (IPv6 without a '%zone')", value)
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValidationError(field, rule + " (IPv6 without a '%zone')", value) from None
        return host
    if not _HOSTNAME_RE.fullmatch(host):
        raise ValidationError(field, rule, value)
    return host


def resume_token(value: object, field: str = "token") -> str:
    """Return a `receive_resume_token` value as zfs prints it (`1-<hex>-<hex>-<hex>`)."""
    if not isinstance(value, str):
        raise ValidationError(field, "must be text", value)
    token = value.strip()
    if len(token) > RESUME_TOKEN_MAX_LEN:
        raise ValidationError(
            field, f"must be at most {RESUME_TOKEN_MAX_LEN} characters (ZFS_MAXPROPLEN)", value
        )
    if not _TOKEN_RE.fullmatch(token):
        raise ValidationError(
            field,
            "must be a receive_resume_token as 'zfs get receive_resume_token' prints it: "
            "'1-' and three groups of lower-case hex digits separated by '-'",
            value,
        )
    return token


def port_number(value: object, field: str = "port") -> int:
    """Return an ssh port: a whole number from 1 to 65535 (no bool, no text)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValidationError(field, "must be a whole number from 1 to 65535", value)
    return value


def login_name(value: object, field: str = "user") -> str:
    """Return a login name sh and ssh take as is (the one home of this rule: the migration
    access set-up checks the target's ssh user with it too)."""
    if not isinstance(value, str) or not _USER_RE.fullmatch(value):
        raise ValidationError(
            field,
            "must be a login name: letters, digits, '_', '.' and '-', starting with a letter or "
            "'_', at most 32 characters",
            value,
        )
    return value


# --- zfs send / recv ---------------------------------------------------------------------------


def _pool(name: str) -> str:
    return name.split("/", 1)[0].split("@", 1)[0]


def _incremental_source(value: object, snapshot: str) -> str:
    """Return `-i`'s operand: `@name` (a snapshot of the same dataset) or a full `ds@name`."""
    field = "incremental_from"
    if not isinstance(value, str):
        raise ValidationError(field, "must be text", value)
    text = value.strip()
    if text.startswith("#") or "#" in text:
        raise ValidationError(
            field, "must name a snapshot ('@name' or 'pool/ds@name'), not a bookmark", value
        )
    if text.startswith("@"):
        name = validate.snapshot_name(text[1:], field)
        full = f"{snapshot.partition('@')[0]}@{name}"
        text = f"@{name}"
    elif "@" in text:
        full = text = validate.snapshot(text, field)
        if _pool(full) != _pool(snapshot):
            raise ValidationError(
                field,
                f"must be in the pool '{_pool(snapshot)}', as the snapshot sent is "
                "(zfs sends increments only within one pool)",
                value,
            )
    else:
        # zfs would warn and guess "snapshot" (zfs_main.c `zfs_do_send`); say which one instead.
        raise ValidationError(field, "must start with '@' or be a full 'pool/ds@name'", value)
    if full == snapshot:
        raise ValidationError(field, "must be an earlier snapshot than the one sent", value)
    return text


def zfs_send(
    snapshot: str,
    *,
    incremental_from: str | None = None,
    compressed: bool = True,
    verbose: bool = False,
    parsable: bool = False,
    dry_run: bool = False,
) -> list[str]:
    """Return `zfs send [-c] [-v] [-P] [-n] [-i <from>] <ds@snap>` (the stream goes to stdout).

    `-c` sends blocks as they are compressed on disk; `-v` adds a progress line a second on stderr
    (with `-P` as `HH:MM:SS<TAB>bytes<TAB>snapshot`); `-n -v -P` prints only the size estimate,
    on stdout (zfs-send.8; libzfs_sendrecv.c `estimate_size`, `send_progress_thread`).
    """
    snap = validate.snapshot(snapshot)
    argv = ["zfs", "send"]
    for flag, on, name in (
        ("-c", compressed, "compressed"),
        ("-v", verbose, "verbose"),
        ("-P", parsable, "parsable"),
        ("-n", dry_run, "dry_run"),
    ):
        if not isinstance(on, bool):
            raise ValidationError(name, "must be true or false", on)
        if on:
            argv.append(flag)
    if incremental_from is not None:
        argv += ["-i", _incremental_source(incremental_from, snap)]
    return [*argv, snap]


def zfs_send_resume(token: str, *, verbose: bool = False, parsable: bool = False) -> list[str]:
    """Return `zfs send [-v] [-P] -t <token>`: the rest of an interrupted `zfs recv -s`.

    No `-c`: the token carries the flags of the first send, and `-t` refuses most others
    (zfs_main.c `zfs_do_send`: "invalid flags combined with -t").
    """
    argv = ["zfs", "send"]
    if verbose:
        argv.append("-v")
    if parsable:
        argv.append("-P")
    return [*argv, "-t", resume_token(token)]


def zfs_recv(dataset: str, *, force: bool = False, resumable: bool = True) -> list[str]:
    """Return `zfs recv [-F] [-s] <dataset>` (the stream comes on stdin).

    The dataset is the volume to create (full stream) or to add the snapshot to (incremental).
    `-F` rolls it back to its latest snapshot first, so an incremental lands even if the
    receiver's copy was touched; `-s` keeps a partial receive for `zfs send -t` (zfs-receive.8).
    """
    for name, on in (("force", force), ("resumable", resumable)):
        if not isinstance(on, bool):
            raise ValidationError(name, "must be true or false", on)
    # A volume cannot be a pool's root dataset (libzfs_sendrecv.c `zfs_receive_one`).
    name = validate.dataset_name(dataset, require_child=True)
    return [
        "zfs",
        "recv",
        *(["-F"] if force else []),
        *(["-s"] if resumable else []),
        name,
    ]


def zfs_recv_abort(dataset: str) -> list[str]:
    """Return `zfs recv -A <dataset>`: drop the partial state an interrupted `recv -s` saved."""
    return ["zfs", "recv", "-A", validate.dataset_name(dataset, require_child=True)]


def zfs_receive_resume_token(dataset: str) -> list[str]:
    """Return `zfs get -H -p -o value receive_resume_token <dataset>` (`-` when there is none)."""
    name = validate.dataset_name(dataset, require_child=True)
    return ["zfs", "get", "-H", "-p", "-o", "value", "receive_resume_token", name]


# --- xl migrate --------------------------------------------------------------------------------


def migrate_ssh_command(user: str, key_path: str, known_hosts_path: str, port: int) -> str:
    """Return the `-s` command xl runs to reach the receiver, as one line for `sh`.

    `ssh -i <key> -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=<file>
    -o GlobalKnownHostsFile=/dev/null -p <port> -l <user>`: the panel's key, no password
    prompt, and only the pinned host key (the empty global file keeps a key the Dom0's admin put
    in /etc/ssh/ssh_known_hosts from counting for a migration target).
    Safe for sh because every part is a constant or matches a character set with no shell
    metacharacter and no blank (see `_SAFE_PATH_RE`), so sh splits it into exactly these words
    and expands nothing; the paths start with '/' and the user with a letter or '_', so ssh never
    reads them as options.
    """
    key = _safe_path(key_path, "key_path")
    known_hosts = _safe_path(known_hosts_path, "known_hosts_path")
    login = login_name(user)
    number = port_number(port)
    return (
        f"ssh -i {key} -o BatchMode=yes -o StrictHostKeyChecking=yes "
        f"-o UserKnownHostsFile={known_hosts} -o GlobalKnownHostsFile=/dev/null "
        f"-p {number} -l {login}"
    )


_SSH_COMMAND_RE = re.compile(
    r"ssh -i (?P<key>\S+) -o BatchMode=yes -o StrictHostKeyChecking=yes "
    r"-o UserKnownHostsFile=(?P<known>\S+) -o GlobalKnownHostsFile=/dev/null "
    r"-p (?P<port>[0-9]{1,5}) -l (?P<user>\S+)"
)


def _checked_ssh_command(value: object) -> str:
    """Accept only what `migrate_ssh_command` builds (taken apart and built again)."""
    field = "ssh_command"
    if not isinstance(value, str) or not value:
        # With `-s ''` xl runs the host argument itself as the command (xl_migrate.c).
        raise ValidationError(
            field, "must be a command built by migrate_ssh_command (never empty)", value
        )
    match = _SSH_COMMAND_RE.fullmatch(value)
    if not match:
        raise ValidationError(
            field, "must be exactly a command built by migrate_ssh_command", value
        )
    rebuilt = migrate_ssh_command(match["user"], match["key"], match["known"], int(match["port"]))
    if rebuilt != value:
        raise ValidationError(field, "must be exactly a command built by migrate_ssh_command")
    return value


def xl_migrate(
    dom: str | int,
    host: str,
    *,
    ssh_command: str | None = None,
    config_path: str | None = None,
    paused: bool = False,
    no_wait: bool = False,
    debug: bool = False,
    policy: PathPolicy = DEFAULT_POLICY,
) -> list[str]:
    """Return `xl migrate [-C <cfg>] [-s <sshcommand>] [-e] [-p] [--debug] <dom> <host>`.

    xl runs `exec <sshcommand> <host> xl migrate-receive [-e] [-p]` (default `ssh`) and streams
    the domain over it. `-C` sends that config instead of the one the domain was made from (read
    on the sender); `-p` leaves it paused on the receiver; `-e` lets xl exit without waiting on
    the receiver for the domain's death; `--debug` prints a huge amount of debug output
    (xl_migrate.c `main_migrate`, xl_cmdtable.c, xl.1.pod.in). Disks are not copied: every disk
    path must reach the same data on the receiver.
    """
    domain = _dom(dom)
    target = migration_host(host)
    argv = ["xl", "migrate"]
    if config_path is not None:
        argv += ["-C", validate.abs_path(config_path, "config", [policy.config_dir])]
    if ssh_command is not None:
        argv += ["-s", _checked_ssh_command(ssh_command)]
    for flag, on, name in (("-e", no_wait, "no_wait"), ("-p", paused, "paused")):
        if not isinstance(on, bool):
            raise ValidationError(name, "must be true or false", on)
        if on:
            argv.append(flag)
    if not isinstance(debug, bool):
        raise ValidationError("debug", "must be true or false", debug)
    if debug:
        argv.append("--debug")
    return [*argv, domain, target]


# --- the direct Dom0 -> Dom0 transfer ----------------------------------------------------------

#: A word sh reads as itself: none of sh's metacharacters, blanks, quotes, `$`, `~`, globs or `#`.
_PLAIN_WORD_RE = re.compile(r"[A-Za-z0-9_./@:,=+%-]+")


def direct_ssh_words(
    user: str, key_path: str, known_hosts_path: str, port: int, host: str
) -> list[str]:
    """Return `ssh -i <key> -o BatchMode=yes -o StrictHostKeyChecking=yes -o
    UserKnownHostsFile=<known> -o GlobalKnownHostsFile=/dev/null -p <port> -l <user> <host>` as
    words (`migrate_ssh_command` + host).
    """
    return [
        *migrate_ssh_command(user, key_path, known_hosts_path, port).split(),
        migration_host(host),
    ]


def _plain_words(argv: object, field: str, first: list[str]) -> list[str]:
    if not isinstance(argv, list) or not all(isinstance(w, str) for w in argv):
        raise ValidationError(field, "must be a list of words", argv)
    if argv[: len(first)] != first or len(argv) <= len(first):
        raise ValidationError(field, f"must be a `{' '.join(first)} ...` command", argv)
    for word in argv:
        if not _PLAIN_WORD_RE.fullmatch(word):
            raise ValidationError(field, "has a word that is not plain for sh", word)
    return argv


_NOT_BUILT = "must be exactly what {} builds"
#: The words of `direct_ssh_words`: 15 of `migrate_ssh_command`, then the host.
_SSH_WORDS = 16


def _checked_send(argv: list[str]) -> list[str]:
    """Accept only a stream `zfs_send` (no `-n`) or `zfs_send_resume` builds: taken apart and
    built again, so an unknown flag, a repeated one or another order is refused."""
    words = argv[2:]
    flags = set(words)
    if "-t" in words:
        if len(words) < 2 or words[-2] != "-t":
            raise ValidationError("send_argv", _NOT_BUILT.format("zfs_send_resume"), argv)
        rebuilt = zfs_send_resume(words[-1], verbose="-v" in flags, parsable="-P" in flags)
    else:
        if not words or words[-1].startswith("-"):
            raise ValidationError("send_argv", _NOT_BUILT.format("zfs_send"), argv)
        incremental = words[-2] if len(words) >= 3 and words[-3] == "-i" else None
        rebuilt = zfs_send(
            words[-1], incremental_from=incremental, compressed="-c" in flags,
            verbose="-v" in flags, parsable="-P" in flags,
        )  # fmt: skip
    if rebuilt != argv:
        raise ValidationError("send_argv", _NOT_BUILT.format("zfs_send (without -n)"), argv)
    return argv


def _checked_recv(argv: list[str]) -> list[str]:
    """Accept only what `zfs_recv` builds (`zfs recv [-F] [-s] <dataset>`)."""
    words = argv[2:]
    if not words or words[-1].startswith("-"):
        raise ValidationError("recv_argv", _NOT_BUILT.format("zfs_recv"), argv)
    flags = set(words[:-1])
    rebuilt = zfs_recv(words[-1], force="-F" in flags, resumable="-s" in flags)
    if rebuilt != argv:
        raise ValidationError("recv_argv", _NOT_BUILT.format("zfs_recv"), argv)
    return argv


def direct_send(send_argv: list[str], ssh_words: list[str], recv_argv: list[str]) -> list[str]:
    """Return `["sh", "-c", "<zfs send ...> | ssh ... <host> <zfs recv ...>"]` for the source.

    One pipeline on the source Dom0 streams a volume straight into `zfs recv` on the target,
    with the panel's migration key and only the target's pinned host key (BatchMode: never a
    prompt). Safe for sh: `send_argv` must be exactly what `zfs_send` (a stream: no `-n`) or
    `zfs_send_resume` builds, `recv_argv` exactly what `zfs_recv` builds, and `ssh_words`
    exactly what `direct_ssh_words` builds — each is taken apart and built again through those
    builders (so their names are validated and no other flag passes); every word is then
    checked against a set of characters none of which is special to sh or to the remote shell
    ssh hands the command to, so `shlex.join` leaves them unquoted and both shells split the
    line into exactly these words and expand nothing. No sh is used for anything else.

    sh reports the pipeline's status as that of its last command, `zfs recv`: a send that fails
    part-way leaves recv a cut stream, which it refuses (or keeps for `-s` resumption), so a
    zero status means the whole stream arrived and was checked.
    """
    send = _checked_send(_plain_words(send_argv, "send_argv", ["zfs", "send"]))
    recv = _checked_recv(_plain_words(recv_argv, "recv_argv", ["zfs", "recv"]))
    words = _plain_words(ssh_words, "ssh_words", ["ssh"])
    if len(words) != _SSH_WORDS or not words[12].isdigit():
        raise ValidationError("ssh_words", "must be exactly what direct_ssh_words builds", words)
    known = words[8].removeprefix("UserKnownHostsFile=")
    rebuilt = direct_ssh_words(words[14], words[2], known, int(words[12]), words[15])
    if rebuilt != words:
        raise ValidationError("ssh_words", "must be exactly what direct_ssh_words builds", words)
    line = f"{shlex.join(send)} | {shlex.join([*words, *recv])}"
    return ["sh", "-c", line]


def xl_migrate_receive() -> list[str]:
    """Return `xl migrate-receive`: what the receiver runs, reading the domain on stdin.

    `xl migrate` starts it itself through ssh; the panel never runs it directly (documented for
    the simulator and for completeness).
    """
    return ["xl", "migrate-receive"]
