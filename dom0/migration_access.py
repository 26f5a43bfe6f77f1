"""Migration access between Dom0s (issue 14): the source's own key pair, the target's
authorized_keys line, and the source's known_hosts file with the target's pinned host key.

The direct transfer path (`migration_commands.direct_send`) and live migration (`xl migrate -s`)
run `ssh -i MIGRATE_KEY -o UserKnownHostsFile=MIGRATE_KNOWN_HOSTS ...` on the source; this module
builds what puts those files in place. Pure: argv lists and text, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re

from dom0.errors import ValidationError
from dom0.migration_commands import login_name, migration_host, port_number
from dom0.transports.hostkeys import PIN_KEY_TYPES

#: The source Dom0's private key for reaching other Dom0s (its `.pub` lies beside it).
MIGRATE_KEY = "/usr/local/etc/xenpanel/migrate_key"
#: The source Dom0's known_hosts for that ssh: only the targets' pinned host keys.
MIGRATE_KNOWN_HOSTS = "/usr/local/etc/xenpanel/migrate_known_hosts"
MIGRATE_DIR = "/usr/local/etc/xenpanel"
COMMENT_PREFIX = "xenpanel-migrate@"

_COMMENT_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_B64_RE = re.compile(r"[A-Za-z0-9+/]+={0,2}")


def key_comment(host_name: str) -> str:
    """`xenpanel-migrate@<host>`: names the key's owner in the target's authorized_keys."""
    if not isinstance(host_name, str) or not _COMMENT_NAME_RE.fullmatch(host_name):
        raise ValidationError(
            "host_name", "must be letters, digits, '_', '.' and '-' (a panel host name)", host_name
        )
    return COMMENT_PREFIX + host_name


def ssh_keygen_migrate(host_name: str) -> list[str]:
    """Return `ssh-keygen -q -t ed25519 -N "" -C xenpanel-migrate@<host> -f MIGRATE_KEY`.

    `-q` prints nothing on success; `-N ""` leaves the key without a passphrase (ssh runs it
    unattended with BatchMode); ssh-keygen asks before overwriting, so the caller runs it only
    when the key is missing (ssh-keygen.c `do_gen_all_hostkeys`/`confirm_overwrite`).
    """
    return ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", key_comment(host_name),
            "-f", MIGRATE_KEY]  # fmt: skip


def public_key_line(text: str) -> str:
    """Return the one `ssh-ed25519 AAAA... comment` line of a `.pub` file; ValidationError else.

    The line lands in another Dom0's authorized_keys, so no options (`command=...`) and no
    second line may come with it.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    rule = 'must be one line "ssh-ed25519 AAAA... comment"'
    if len(lines) != 1:
        raise ValidationError("public_key", rule, text[:200])
    parts = lines[0].split()
    if len(parts) not in (2, 3) or parts[0] != "ssh-ed25519" or not _B64_RE.fullmatch(parts[1]):
        raise ValidationError("public_key", rule, lines[0][:200])
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise ValidationError("public_key", rule + " (base64)", lines[0][:200]) from None
    if not blob.startswith(b"\x00\x00\x00\x0bssh-ed25519"):
        raise ValidationError("public_key", rule + " (an ed25519 key)", lines[0][:200])
    if len(parts) == 3 and not re.fullmatch(r"[A-Za-z0-9_.@+-]{1,100}", parts[2]):
        raise ValidationError("public_key", "has an odd comment", lines[0][:200])
    return " ".join(parts)


def getent_passwd(user: str) -> list[str]:
    """Return `getent passwd <user>`: the login's passwd(5) line, read on the target for its home
    (FreeBSD has getent(1) in base since 7.0; a home is not always /home/<user>)."""
    return ["getent", "passwd", login_name(user)]


#: A home sshd reads authorized_keys under: absolute, plain characters, no '.'/'..' parts.
_HOME_RE = re.compile(r"(?:/[A-Za-z0-9_+-][A-Za-z0-9_.+-]*)+|/")


def parse_home(stdout: str, user: str) -> str:
    """The home directory in `getent passwd <user>`'s line `name:pw:uid:gid:gecos:home:shell`.

    ValidationError if no line names `user` or its home is not a plain absolute path.
    """
    for line in stdout.splitlines():
        fields = line.split(":")
        if len(fields) == 7 and fields[0] == user:
            home = fields[5]
            if not _HOME_RE.fullmatch(home) or any(p in (".", "..") for p in home.split("/")):
                raise ValidationError("home", "must be a plain absolute path", home)
            return home
    raise ValidationError("getent", f"has no passwd line for {user}", stdout[:200])


def authorized_keys_path(home: str) -> str:
    return f"{home.rstrip('/')}/.ssh/authorized_keys"


def authorized_key_line(public: str, source_address: str = "") -> str:
    """Return the target's authorized_keys line for a source's migration key.

    `restrict` turns off port, agent and X11 forwarding, the pty and ~/.ssh/rc: `zfs recv` and
    `xl migrate-receive` only need their command run (sshd(8) AUTHORIZED_KEYS FILE FORMAT).
    `from="<address>"` when the source's address is an IP literal: the key then works only from
    that address. A host name is left out, as sshd matches names only with `UseDNS yes` (off by
    default) and would refuse the source otherwise.
    """
    key = public_key_line(public)
    try:
        address = str(ipaddress.ip_address((source_address or "").strip()))
    except ValueError:
        return f"restrict {key}"
    return f'from="{address}",restrict {key}'


def with_authorized_key(existing: str, line: str) -> tuple[str, bool]:
    """Return authorized_keys with `line` in it (False when that exact line is there already).

    A line is the key's by its base64 blob, whatever its options or comment: an older line of the
    same key (say, one written before `restrict`) is replaced, so there is one line per key.
    """
    words = line.split()
    if "ssh-ed25519" not in words[:2] or words[-1] == "ssh-ed25519":
        raise ValidationError("line", "must be an authorized_key_line", line[:200])
    blob = words[words.index("ssh-ed25519") + 1]
    kept, present, changed = [], False, False
    for row in existing.splitlines():
        if blob in row.split():
            if row.strip() == line and not present:
                present = True
                kept.append(row)
            else:
                changed = True
            continue
        kept.append(row)
    if not present:
        kept.append(line)
        changed = True
    if not changed:
        return existing, False
    return "\n".join(kept) + "\n", True


def known_hosts_name(address: str, port: int) -> str:
    """The host field ssh looks up: `address`, or `[address]:port` when the port is not 22."""
    host = migration_host(address, "address")
    return host if port_number(port) == 22 else f"[{host}]:{port}"


def known_hosts_line(address: str, port: int, host_key: str) -> str:
    """Return `<name> <keytype> <base64>` for the pinned host key of a target."""
    parts = host_key.split()
    if len(parts) < 2 or parts[0] not in PIN_KEY_TYPES or not _B64_RE.fullmatch(parts[1]):
        raise ValidationError("host_key", 'must look like "ssh-ed25519 AAAA..."', host_key[:200])
    return f"{known_hosts_name(address, port)} {parts[0]} {parts[1]}"


def with_known_host(existing: str, line: str) -> tuple[str, bool]:
    """Return known_hosts with `line` for its host name, replacing an older line for that name.

    Returns (text, changed). One line per name: a re-pinned target replaces its old key.
    """
    name = line.split()[0]
    kept, changed, present = [], False, False
    for row in existing.splitlines():
        if row.split()[:1] == [name]:
            if row.strip() == line:
                present = True
                kept.append(row)
            else:
                changed = True
            continue
        kept.append(row)
    if not present:
        kept.append(line)
        changed = True
    return "\n".join(kept) + "\n", changed


#: The first line of the known_hosts file the set-up writes on a source Dom0.
KNOWN_HOSTS_HEADER = (
    "# Written by xenpanel: the pinned host keys of the Dom0s this host sends domUs to.\n"
)


def chmod_private(path: str) -> list[str]:
    """Return `chmod 700 <path>` for a `~/.ssh` the set-up made (sshd's StrictModes)."""
    if not isinstance(path, str) or not re.fullmatch(r"(/[A-Za-z0-9_.-]+)+/\.ssh", path):
        raise ValidationError("path", "must be a home's .ssh directory", path)
    if "/../" in path + "/" or "/./" in path + "/":
        raise ValidationError("path", "must not contain '.' or '..' components", path)
    return ["chmod", "700", path]
