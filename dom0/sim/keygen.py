"""The simulator's `ssh-keygen` (key generation only) and `chmod <octal> <path>`, for the
panel's migration access set-up (hosts/migration_access.py).

`ssh-keygen -q -t ed25519 -N <pass> -C <comment> -f <path>` writes a key pair that looks like
OpenSSH's (the simulator's own random material: standard library only): `<path>` 0600,
`<path>.pub` 0644 `ssh-ed25519 AAAA... <comment>`; it prints
nothing, as OpenSSH does with `-q`. An existing `<path>` makes OpenSSH ask `Overwrite (y/n)?` on
its tty; with none (no answer) it gives up, exit 1. A missing directory:
`Saving key "<path>" failed: No such file or directory`, exit 1 (ssh-keygen.c `do_keygen` /
`sshkey_save_private` wording; UNVERIFIED for the exact prompt text on FreeBSD's base OpenSSH).
"""

from __future__ import annotations

import base64
import getopt
import os
import struct
from typing import TYPE_CHECKING

from .result import CommandExit, SimResult, fail, ok

if TYPE_CHECKING:
    from .host import SimHost

_USAGE = "usage: ssh-keygen [-q] [-a rounds] [-b bits] [-C comment] [-f output_keyfile]"


def ssh_keygen(host: SimHost, args: list[str]) -> SimResult:
    try:
        opts, rest = getopt.getopt(args, "qt:N:C:f:b:a:")
    except getopt.GetoptError:
        raise CommandExit(1, _USAGE) from None
    given = dict(opts)
    if rest or "-f" not in given:
        raise CommandExit(1, _USAGE)
    if given.get("-t", "ed25519") != "ed25519":
        raise CommandExit(1, f"unknown key type {given['-t']} (the simulator makes ed25519 only)")
    path = given["-f"]
    local = host.local(path)
    if local.exists():
        return fail(1, f"{path} already exists.", "Overwrite (y/n)? ")
    if not local.parent.is_dir():
        return fail(1, f'Saving key "{path}" failed: No such file or directory')
    # The simulator's own key material (standard library only): a public key blob in the
    # OpenSSH wire form (string "ssh-ed25519", string <32 bytes>), random bytes as its point.
    point = os.urandom(32)
    blob = _string(b"ssh-ed25519") + _string(point)
    public = b"ssh-ed25519 " + base64.b64encode(blob)
    body = base64.encodebytes(b"openssh-key-v1\0" + blob + _string(os.urandom(64))).decode()
    private = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}-----END OPENSSH PRIVATE KEY-----\n"
    private_bytes = private.encode()
    comment = given.get("-C", "root@" + host.hostname)
    local.write_bytes(private_bytes)
    local.chmod(0o600)
    pub = local.with_name(local.name + ".pub")
    pub.write_bytes(public + (f" {comment}" if comment else "").encode() + b"\n")
    pub.chmod(0o644)
    if "-q" in given:
        return ok()
    return ok(f"Your identification has been saved in {path}\n")


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def chmod(host: SimHost, args: list[str]) -> SimResult:
    if len(args) != 2 or not all(c in "01234567" for c in args[0]) or not args[0]:
        raise CommandExit(1, "usage: chmod [-fhv] [-R [-H | -L | -P]] mode file ...")
    mode, path = args
    local = host.local(path)
    if not local.exists():
        return fail(1, f"chmod: {path}: No such file or directory")
    local.chmod(int(mode, 8))
    return ok()


def _sh(host: SimHost, args: list[str], stdin: bytes | None) -> SimResult:
    # Never reached for a pipeline (streams.streaming_handler runs `sh` first); present so
    # SimHost.prelude knows the tool.
    raise CommandExit(2, "sim sh: only `sh -c <zfs send ... | ssh ... zfs recv ...>` runs here")


#: Registered in SimHost's tool table (host.py).
TOOLS = {
    "ssh-keygen": lambda host, args, stdin: ssh_keygen(host, args),
    "chmod": lambda host, args, stdin: chmod(host, args),
    "sh": _sh,
}
