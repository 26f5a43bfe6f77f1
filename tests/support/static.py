"""Collected static files for the test session: hashed names and .gz copies, as in production.

collectstatic (hashing and compressing ~300 files) takes seconds, so its output is kept under the
system's temp directory, named after a digest of every source file: a session whose static files
have not changed reuses it; concurrent sessions never write into the same directory (each
collects into its own and renames it into place).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from pathlib import Path

CACHE = Path(tempfile.gettempdir()) / "xenpanel-test-static"
KEEP_SECONDS = 24 * 3600  # older collections (of since-changed sources) are removed


def source_digest() -> str:
    """A digest of every file the static finders see, and of the storage that collects them."""
    from importlib.metadata import version

    from django.contrib.staticfiles import finders

    import xenpanel.staticstorage

    digest = hashlib.sha256(f"{version('django')} {version('whitenoise')}".encode())
    digest.update(Path(xenpanel.staticstorage.__file__).read_bytes())
    files: dict[str, str] = {}
    for finder in finders.get_finders():
        for path, storage in finder.list(None):
            prefix = getattr(storage, "prefix", None) or ""
            files.setdefault(f"{prefix}/{path}", storage.path(path))
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + Path(files[name]).read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def collected_static_root() -> Path:
    """Return a STATIC_ROOT holding the current static files, collected as production does."""
    from django.core.management import call_command
    from django.test import override_settings

    root = CACHE / source_digest()
    if (root / "staticfiles.json").exists():
        root.touch()  # in use: not old enough to prune
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    _prune()
    building = Path(tempfile.mkdtemp(prefix="building-", dir=CACHE))
    with override_settings(STATIC_ROOT=building):
        call_command("collectstatic", "--noinput", verbosity=0)
    try:
        building.rename(root)
    except OSError:  # another session finished the same collection first
        shutil.rmtree(building, ignore_errors=True)
    return root


def _prune() -> None:
    cutoff = time.time() - KEEP_SECONDS
    for old in CACHE.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:
            pass
