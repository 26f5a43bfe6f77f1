"""Validators for every value that can reach a Dom0.

Each validator returns the normalised value or raises `ValidationError(field, rule)`, where `rule`
is a sentence a person can act on. The caller passes `field` so a form can put the message on the
right input. Nothing here does I/O: DNS checks take a resolver callable.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

from dom0.errors import ValidationError
from dom0.pci import pci_bdf
from dom0.zfsnames import MAX_DATASET_LEN, dataset_name, snapshot, snapshot_name

__all__ = [
    "MAX_DATASET_LEN",
    "MAX_MEMORY_MB",
    "MAX_SIZE",
    "MAX_VCPUS",
    "MIN_MEMORY_MB",
    "abs_path",
    "bridge_name",
    "checksum_spec",
    "dataset_name",
    "domain_name",
    "file_name",
    "format_size",
    "interface_name",
    "mac",
    "memory_mb",
    "pci_bdf",
    "redact_url",
    "resolve_and_check",
    "sha256_hex",
    "sha512_hex",
    "size",
    "snapshot",
    "snapshot_name",
    "url",
    "vcpus",
    "vdev",
    "vnc_listen",
    "vnc_password",
    "volume_leaf",
]


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be text", value)
    return value.strip()


# --- domain names ------------------------------------------------------------------------------

_DOMAIN_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")
_DOMAIN_RULE = (
    "may contain only letters, digits, '_', '.' and '-', must start with a letter, "
    "at most 64 characters"
)
_MIGRATION_SUFFIXES = ("--incoming", "--migratedaway")


def domain_name(value: object, field: str = "name") -> str:
    """Return a domU name that xl can address by name and that is safe in log file names."""
    name = _text(value, field)
    if not _DOMAIN_RE.fullmatch(name):
        raise ValidationError(field, _DOMAIN_RULE, value)
    if name.endswith(_MIGRATION_SUFFIXES):
        raise ValidationError(
            field,
            "must not end with '--incoming' or '--migratedaway' (xl uses them while migrating)",
        )
    if name.lower() == "domain-0":
        raise ValidationError(field, "'Domain-0' is the name of the host's own domain", value)
    return name


# --- ZFS names (dom0/zfsnames.py) -------------------------------------------------------------

_LEAF_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def volume_leaf(value: object, field: str = "volume") -> str:
    """Return the last component of a volume name as a user types it (no '/', no ':')."""
    leaf = _text(value, field)
    if not _LEAF_RE.fullmatch(leaf):
        raise ValidationError(
            field,
            "may contain only letters, digits, '_', '.' and '-', must start with a letter or "
            "digit, at most 64 characters",
            value,
        )
    return leaf


# --- sizes -------------------------------------------------------------------------------------

_SIZE_RE = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?P<suffix>[A-Za-z]*)")
_SHIFTS = {letter: 10 * i for i, letter in enumerate("BKMGTPEZ")}
#: 1 PiB: far beyond any domU disk, and it keeps a typo like `20P` from reaching a host. ZFS takes
#: a volsize up to 2^63 - 1 and the panel's size columns are 64-bit signed, so this bound is the
#: panel's policy, well inside both (and a multiple of every volblocksize).
MAX_SIZE = 1 << 50
_SIZE_RULE = "must be a size such as 20G, 1536M or 1.5T (suffixes B K M G T P, powers of 1024)"


def _shift(suffix: str, field: str, value: object) -> int:
    if suffix == "":
        return 0
    upper = suffix.upper()
    letter, rest = upper[0], upper[1:]
    if letter not in _SHIFTS or (rest and (letter == "B" or rest not in ("B", "IB"))):
        raise ValidationError(field, f"invalid size suffix '{suffix}'; {_SIZE_RULE}", value)
    return _SHIFTS[letter]


def size(value: object, field: str = "size", *, maximum: int = MAX_SIZE) -> int:
    """Return a size in bytes, read with `zfs_nicestrtonum` rules (an int is taken as bytes)."""
    if isinstance(value, bool):
        raise ValidationError(field, _SIZE_RULE, value)
    if isinstance(value, int):
        number = value
    else:
        text = _text(value, field)
        match = _SIZE_RE.fullmatch(text)
        if not match:
            raise ValidationError(field, _SIZE_RULE, value)
        shift = _shift(match["suffix"], field, value)
        num = match["num"]
        if "." in num:
            whole, _, frac = num.partition(".")
            # Exact arithmetic; zfs uses a double and truncates, which this matches for sane sizes.
            scale = 10 ** len(frac)
            number = (int(whole or "0") * scale + int(frac or "0")) * (1 << shift) // scale
        else:
            number = int(num) << shift
    if number <= 0:
        raise ValidationError(field, "must be greater than zero", value)
    if number > maximum:
        raise ValidationError(field, f"must be at most {format_size(maximum)}", value)
    return number


def format_size(nbytes: int) -> str:
    """Return the shortest exact integer zfs size for `nbytes`, e.g. `20G`, `1536M`, `1000`."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes <= 0:
        raise ValueError(f"size must be a positive int, got {nbytes!r}")
    for letter in "EPTGMK":
        shift = _SHIFTS[letter]
        if nbytes % (1 << shift) == 0:
            return f"{nbytes >> shift}{letter}"
    return str(nbytes)


# --- paths -------------------------------------------------------------------------------------

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def abs_path(
    value: object, field: str, allowed_roots: Sequence[str], *, allow_root: bool = False
) -> str:
    """Return a normalised absolute path strictly under one of `allowed_roots`."""
    path = value if isinstance(value, str) else None
    if path is None:
        raise ValidationError(field, "must be text", value)
    if _CONTROL_RE.search(path):
        raise ValidationError(field, "must not contain control characters or newlines", value)
    if not path.startswith("/"):
        raise ValidationError(field, "must be an absolute path (starting with '/')", value)
    if ".." in path.split("/"):
        raise ValidationError(field, "must not contain '..'", value)
    normal = posixpath.normpath(path)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    for root in allowed_roots:
        root = posixpath.normpath(root)
        if normal == root and allow_root:
            return normal
        if normal.startswith(root.rstrip("/") + "/") and normal != root:
            return normal
    roots = ", ".join(allowed_roots) or "(none configured)"
    raise ValidationError(field, f"must be inside one of: {roots}", value)


_FILE_RE = re.compile(r"[A-Za-z0-9_+][A-Za-z0-9._+-]{0,254}")


def file_name(value: object, field: str = "file_name") -> str:
    """Return a single safe path component, e.g. an ISO file name."""
    name = _text(value, field)
    if not _FILE_RE.fullmatch(name):
        raise ValidationError(
            field,
            "may contain only letters, digits, '.', '_', '+' and '-', must not start with '.' or "
            "'-', at most 255 characters",
            value,
        )
    return name


# --- URLs --------------------------------------------------------------------------------------

_URL_SCHEMES = ("http", "https", "ftp")
_HOSTNAME_RE = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9-]+)*\.?"
)
_NUMERIC_HOST_RE = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.I)
_USERINFO_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


def redact_url(value: str) -> str:
    """Return `value` with any `user:pass@` and query string masked, for logs and pages.

    Signed download links carry their token in the query string, so it is as secret as a password.
    """
    masked = _USERINFO_RE.sub(r"\1***@", value)
    head, sep, _query = masked.partition("?")
    return f"{head}?***" if sep else masked


def _inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """Read a numeric host the way inet_aton/getaddrinfo do (`127.1`, `0x7f.1`, `2130706433`)."""
    parts = host.rstrip(".").split(".")
    nums: list[int] = []
    for part in parts:
        low = part.lower()
        try:
            if low.startswith("0x"):
                nums.append(int(low[2:] or "0", 16))
            elif len(low) > 1 and low.startswith("0"):
                nums.append(int(low, 8))
            else:
                nums.append(int(low, 10))
        except ValueError:
            return None
    total = 0
    for i, num in enumerate(nums[:-1]):
        if num > 255:
            return None
        total |= num << (24 - 8 * i)
    last_bits = 32 - 8 * (len(nums) - 1)
    if nums[-1] >= 1 << last_bits:
        return None
    return ipaddress.IPv4Address(total | nums[-1])


def _is_private(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None and _is_private(mapped):
            return True
    return (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


_PRIVATE_RULE = (
    "points at a loopback, private, link-local or otherwise non-public address, which is not "
    "allowed for downloads"
)


def url(value: object, field: str = "url", *, allow_private: bool = False) -> str:
    """Return an http, https or ftp URL that is safe to hand to `fetch` on a host."""
    text = _text(value, field)
    if not text or _CONTROL_RE.search(text) or " " in text:
        raise ValidationError(field, "must be a URL without spaces or control characters", value)
    if len(text) > 2048:
        raise ValidationError(field, "must be at most 2048 characters", value)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(field, f"is not a valid URL ({exc})", value) from None
    if parts.scheme.lower() not in _URL_SCHEMES:
        raise ValidationError(field, "must start with http://, https:// or ftp://", value)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationError(
            field,
            "must not contain a user name or password (they would end up in logs and process "
            "lists)",
            redact_url(text),
        )
    host = parts.hostname
    if not host:
        raise ValidationError(field, "must name a host, e.g. https://download.freebsd.org/...")
    if port == 0:
        raise ValidationError(field, "must not use port 0", value)
    _check_host(host, field, text, allow_private)
    return text


def _last_label(host: str) -> str:
    return host.rstrip(".").rsplit(".", 1)[-1]


def _check_host(host: str, field: str, value: str, allow_private: bool) -> None:
    host = host.lower()
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    if ":" in host:
        try:
            ip = ipaddress.IPv6Address(host)
        except ValueError:
            raise ValidationError(field, "has an invalid IPv6 address", value) from None
    elif _NUMERIC_HOST_RE.fullmatch(host) or re.fullmatch(r"[0-9]+|0x[0-9a-f]*", _last_label(host)):
        # Resolvers read numeric hosts with inet_aton rules; a numeric last label is never DNS.
        ip = _inet_aton(host)
        if ip is None:
            raise ValidationError(field, "has an invalid numeric host address", value)
    elif not _HOSTNAME_RE.fullmatch(host):
        raise ValidationError(field, "has an invalid host name", value)
    if allow_private:
        return
    if ip is not None and _is_private(ip):
        raise ValidationError(field, _PRIVATE_RULE, value)
    if host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
        raise ValidationError(field, _PRIVATE_RULE, value)


def resolve_and_check(
    host: str,
    resolver: Callable[[str], Iterable[str]],
    field: str = "url",
    *,
    allow_private: bool = False,
) -> list[str]:
    """Resolve `host` with `resolver` and refuse it if any address is not public."""
    addresses = [str(a) for a in resolver(host)]
    if not addresses:
        raise ValidationError(field, f"the host name '{host}' does not resolve", host)
    if not allow_private:
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
            if _is_private(ip):
                raise ValidationError(
                    field,
                    f"'{host}' resolves to {address}, a loopback, private, link-local or otherwise "
                    "non-public address, which is not allowed for downloads",
                    host,
                )
    return addresses


# --- network, console --------------------------------------------------------------------------

_IFACE_RE = re.compile(r"[a-z][a-z0-9_.]{0,14}")
_BRIDGE_RE = re.compile(r"[a-z][a-z0-9_.]{0,13}[0-9]")


def interface_name(value: object, field: str = "interface") -> str:
    """Return a FreeBSD interface name (IFNAMSIZ is 16, so at most 15 characters)."""
    name = _text(value, field)
    if not _IFACE_RE.fullmatch(name):
        raise ValidationError(
            field,
            "must be an interface name: lowercase letters, digits, '_' and '.', starting with a "
            "letter, at most 15 characters",
            value,
        )
    return name


def bridge_name(value: object, field: str = "bridge") -> str:
    """Return a bridge interface name such as `bridge0`.

    Policy: `[a-z][a-z0-9_.]{0,13}[0-9]` — FreeBSD's 15-character interface limit, and ending in a
    unit number as cloned interfaces do (renamed bridges keep working if they end in a digit).
    """
    name = _text(value, field)
    if not _BRIDGE_RE.fullmatch(name):
        raise ValidationError(
            field,
            "must be an interface name such as 'bridge0': lowercase letters, digits, '_' and '.', "
            "starting with a letter, ending with a digit, at most 15 characters",
            value,
        )
    return name


_MAC_RE = re.compile(r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}")


def mac(value: object, field: str = "mac") -> str:
    """Return a unicast MAC address in lowercase `xx:xx:xx:xx:xx:xx` form."""
    text = _text(value, field)
    if not _MAC_RE.fullmatch(text):
        raise ValidationError(
            field, "must be six hex octets separated by ':', e.g. 00:16:3e:74:34:32", value
        )
    octets = [int(part, 16) for part in re.split("[:-]", text)]
    if octets[0] & 1:
        raise ValidationError(field, "must be a unicast address (first octet even)", value)
    if not any(octets):
        raise ValidationError(field, "must not be 00:00:00:00:00:00", value)
    return ":".join(f"{o:02x}" for o in octets)


def vnc_listen(value: object, field: str = "vnclisten") -> str:
    """Return an IPv4 address for a domU's VNC server.

    IPv6 is refused: libxl passes a `vnclisten` that contains ':' to QEMU unchanged as
    `host:display`, so a bare IPv6 address would be misread.
    """
    text = _text(value, field)
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise ValidationError(field, "must be an IPv4 address such as 127.0.0.1", value) from None
    if isinstance(ip, ipaddress.IPv6Address):
        raise ValidationError(
            field,
            "must be an IPv4 address: libxl reads a ':' in vnclisten as a display number",
            value,
        )
    return str(ip)


_VNC_PASSWORD_RE = re.compile(r"[!#-&(-\[\]-~]{1,8}")


def vnc_password(value: object, field: str = "vncpasswd") -> str:
    """Return a VNC password: 1-8 printable ASCII characters, no space, quotes or backslash.

    Classic VNC authentication (DES) uses only the first 8 bytes, so a longer password would
    promise security it does not give; quotes and backslashes would need escaping in xl.cfg.
    """
    if not isinstance(value, str) or not _VNC_PASSWORD_RE.fullmatch(value):
        raise ValidationError(
            field,
            "must be 1 to 8 printable ASCII characters without spaces, quotes or backslashes "
            "(VNC authentication uses only 8 characters)",
        )
    return value


def _int(value: object, field: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(field, "must be a whole number", value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        return int(value.strip())
    raise ValidationError(field, "must be a whole number", value)


#: HVM guests with less than this do not get far enough to install anything.
MIN_MEMORY_MB = 32
#: 16 TiB in MiB: the x86 host RAM limit in Xen's SUPPORT.md; no domU gets more than its host has.
#: It fits the panel's memory columns (32-bit signed, in MiB) with room to spare.
MAX_MEMORY_MB = 16 << 20
#: Xen's HVM_MAX_VCPUS (public/hvm/hvm_info_table.h): an HVM domU cannot have more vCPUs.
MAX_VCPUS = 128


def memory_mb(value: object, maximum: int = MAX_MEMORY_MB, field: str = "memory") -> int:
    """Return a domU memory size in MiB between MIN_MEMORY_MB and `maximum` (<= MAX_MEMORY_MB)."""
    maximum = min(maximum, MAX_MEMORY_MB)
    number = _int(value, field)
    if number < MIN_MEMORY_MB:
        raise ValidationError(field, f"must be at least {MIN_MEMORY_MB} MiB", value)
    if number > maximum:
        why = " (16 TiB, the most Xen supports on x86)" if maximum == MAX_MEMORY_MB else ""
        raise ValidationError(field, f"must be at most {maximum} MiB{why}", value)
    return number


def vcpus(value: object, maximum: int = MAX_VCPUS, field: str = "vcpus") -> int:
    """Return a vCPU count between 1 and `maximum` (at most MAX_VCPUS)."""
    maximum = min(maximum, MAX_VCPUS)
    number = _int(value, field)
    if number < 1:
        raise ValidationError(field, "must be at least 1", value)
    if number > maximum:
        why = " (Xen's limit for an HVM domU)" if maximum == MAX_VCPUS else ""
        raise ValidationError(field, f"must be at most {maximum}{why}", value)
    return number


_VDEV_RE = re.compile(r"(hd|xvd|sd)[a-z]")


def vdev(value: object, field: str = "vdev") -> str:
    """Return a virtual disk name: hd[a-z], xvd[a-z] or sd[a-z]."""
    text = _text(value, field)
    if not _VDEV_RE.fullmatch(text):
        raise ValidationError(
            field, "must be a virtual device such as hda, hdc, xvda or sda", value
        )
    return text


# --- checksums ---------------------------------------------------------------------------------

_HEX_RE = re.compile(r"[0-9a-fA-F]+")
_BSD_SUM_RE = re.compile(r"(?P<algo>SHA256|SHA512) \((?P<file>.+)\) = (?P<hex>[0-9a-fA-F]+)")
_GNU_SUM_RE = re.compile(r"(?P<hex>[0-9a-fA-F]+) [ *](?P<file>.+)")
_HEX_LEN = {64: "sha256", 128: "sha512"}


def _hex(value: object, field: str, length: int, algo: str) -> str:
    text = _text(value, field)
    if len(text) != length or not _HEX_RE.fullmatch(text):
        raise ValidationError(field, f"must be a {algo.upper()} digest: {length} hex digits", value)
    return text.lower()


def sha256_hex(value: object, field: str = "sha256") -> str:
    """Return a lowercase SHA-256 hex digest."""
    return _hex(value, field, 64, "sha256")


def sha512_hex(value: object, field: str = "sha512") -> str:
    """Return a lowercase SHA-512 hex digest."""
    return _hex(value, field, 128, "sha512")


def checksum_spec(
    text: object, field: str = "checksum", *, file: str | None = None
) -> tuple[str, str]:
    """Return `(algo, hexdigest)` from a bare digest, a BSD `SHA256 (f) = hex` or a `hex  f` line.

    With `file`, `text` may be a whole CHECKSUM file and the line for that file is picked.
    """
    lines = [line.strip() for line in _text(text, field).splitlines() if line.strip()]
    rule = (
        "must be a SHA-256 or SHA-512 hex digest, a line like 'SHA256 (file.iso) = …' or a "
        "line like '…  file.iso'"
    )
    candidates: list[tuple[str, str]] = []
    for line in lines:
        if match := _BSD_SUM_RE.fullmatch(line):
            algo = match["algo"].lower()
            digest = _hex(match["hex"], field, 64 if algo == "sha256" else 128, algo)
            candidates.append((match["file"], digest))
        elif match := _GNU_SUM_RE.fullmatch(line):
            candidates.append((match["file"], match["hex"]))
        elif _HEX_RE.fullmatch(line):
            candidates.append(("", line))
        else:
            raise ValidationError(field, rule, text)
    if file is not None:
        candidates = [c for c in candidates if c[0] in (file, "")]
    if len(candidates) != 1:
        if not candidates:
            raise ValidationError(field, rule if not lines else f"has no line for '{file}'")
        raise ValidationError(field, "must hold exactly one checksum", text)
    digest = candidates[0][1]
    algo = _HEX_LEN.get(len(digest))
    if algo is None:
        raise ValidationError(field, rule, text)
    return algo, _hex(digest, field, len(digest), algo)
