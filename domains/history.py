"""Config history: diffs between versions, and restoring an old one as a new version."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from domains import cfg, records
from domains.models import Domain, DomainConfigVersion


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "ctx", "file"
    text: str


def diff(old: str, new: str, *, old_label: str, new_label: str) -> list[DiffLine]:
    """Return a unified diff of two config texts (VNC passwords masked) as typed lines."""
    lines = difflib.unified_diff(
        cfg.mask_password(old).splitlines(),
        cfg.mask_password(new).splitlines(),
        fromfile=old_label,
        tofile=new_label,
        lineterm="",
    )
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        out.append(DiffLine(kind, line))
    return out


def restore(domain: Domain, version: DomainConfigVersion, *, author: Any) -> DomainConfigVersion:
    """Store an old version's text as the newest version; it takes effect at the next start."""
    return records.add_version(
        domain,
        version.text,
        author=author,
        note=f"Restored version {version.number} (takes effect at the next start)",
    )
