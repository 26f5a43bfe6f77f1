"""The panel's own SSH key pair (one per installation, kept under var/ssh)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from hosts.connect import panel_key_path


def ensure_panel_key() -> Path:
    """Create the ed25519 key pair once; return the private key path."""
    path = panel_key_path()
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "xenpanel", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    os.chmod(path, 0o600)
    return path
