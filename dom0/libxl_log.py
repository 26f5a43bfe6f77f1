"""Read the error lines libxl and libxc print to xl's stderr (facts §1.4, issue 17 item 12).

A failed `xl create` prints the cause first and then libxl's clean-up cascade: destroying the
half-built domain logs "Non-existant domain" (sic, still spelt so at Xen HEAD c447b7308b,
tools/libs/light/libxl_domain.c `libxl__destroy_domid`), "Unable to destroy guest" and
"unable to destroy domain following failed creation" (libxl_create.c
`domcreate_destruction_cb`). The cause is the first error line that is not clean-up noise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# libxl__logv: "libxl: error: <file>:<line>:<func>: [Domain <id>:]<message>"; xc_reportv:
# "xc: error: <message>[: <code description>]", where xc_dom_panic's message starts
# "panic: <file>:<line>: " (tools/libs/guest/xg_dom_core.c `xc_dom_panic_func`).
_ERROR_LINE_RE = re.compile(r"^(?:libxl|xc): error: .*$", re.M)
_PREFIX_RE = re.compile(
    r"^(?:libxl|xc): error: (?:panic: )?(?:[^:\s]+\.c:\d+:(?:[^:\s]*:)? ?)?(?:Domain \d+:)?"
)
_DOMID_RE = re.compile(r"Domain (?P<domid>\d+):")
# "Non-existent" is accepted too: a later spelling fix must not turn the noise into a cause.
_NONEXISTENT_RE = re.compile(r"Non-exist[ae]nt domain")
_CLEANUP_RE = re.compile(
    r"Non-exist[ae]nt domain|Unable to destroy guest|Unable to destroy stubdom"
    r"|Destruction of domain failed|unable to destroy domain following failed creation"
    r"|Failed to remove device-model savefile"
)
# xl options that take a value, so the word after them is not the domain (xl_cmdtable.c).
_VALUE_OPTIONS = frozenset({"-t", "-n", "-e", "-C", "-s", "-f", "--defconfig"})
_ERRNO_0_RE = re.compile(r": (?:Success|No error: 0)$")


def error_lines(stderr: str) -> list[str]:
    """Every `libxl: error:` / `xc: error:` line, in the order printed."""
    return [m[0].strip() for m in _ERROR_LINE_RE.finditer(stderr)]


def is_cleanup(line: str) -> bool:
    """True for the lines libxl prints while tidying up after an earlier failure."""
    return bool(_CLEANUP_RE.search(line))


def first_cause(stderr: str) -> str | None:
    """The first error line that is not clean-up noise, or None."""
    return next((line for line in error_lines(stderr) if not is_cleanup(line)), None)


def last_cause(stderr: str) -> str | None:
    """The last error line that is not clean-up noise, or None."""
    causes = [line for line in error_lines(stderr) if not is_cleanup(line)]
    return causes[-1] if causes else None


def message(line: str) -> str:
    """The words of an error line without the logger, file:line:func and Domain prefixes."""
    text = _PREFIX_RE.sub("", line.strip(), count=1)
    # LOGE* append strerror(errno) even when errno is 0 ("Success", FreeBSD "No error: 0").
    return _ERRNO_0_RE.sub("", text).strip()


def nonexistent_domid(stderr: str) -> str | None:
    """The domid of a "Non-existant domain" line that is the first error (not after a cause)."""
    lines = error_lines(stderr)
    if not lines or not _NONEXISTENT_RE.search(lines[0]):
        return None
    match = _DOMID_RE.search(lines[0])
    return match["domid"] if match else ""


def domain_arg(argv: Sequence[str]) -> str | None:
    """The first positional word after the xl subcommand (the domain), skipping options."""
    words = list(argv)[1:]
    # Global options (`xl -v destroy web1`) come before the subcommand.
    while words and words[0].startswith("-"):
        words = words[1:]
    skip = False
    for word in words[1:]:
        if skip:
            skip = False
        elif word in _VALUE_OPTIONS:
            skip = True
        elif not word.startswith("-") or word == "-":
            return word
    return None
