"""Strict readers for XENPANEL_* environment variables.

Only `xenpanel.settings` calls these. Each reader refuses values it does not understand instead of
guessing, so a typo in a deployment fails at start-up with a message naming the variable.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

PREFIX = "XENPANEL_"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    """Return XENPANEL_<name>, or the contents of the file named by XENPANEL_<name>_FILE."""
    file_var = os.environ.get(f"{PREFIX}{name}_FILE")
    if file_var:
        try:
            return Path(file_var).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{PREFIX}{name}_FILE: cannot read {file_var}: {exc}"
            ) from exc
    return os.environ.get(f"{PREFIX}{name}", default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(f"{PREFIX}{name}")
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{PREFIX}{name} must be one of true/false/1/0/yes/no, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(f"{PREFIX}{name}")
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{PREFIX}{name} must be an integer, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{PREFIX}{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(f"{PREFIX}{name}")
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def secret_key(var_dir: Path) -> str:
    """Return the configured SECRET_KEY, or one generated once into var/secret_key."""
    configured = env_str("SECRET_KEY")
    if configured:
        return configured
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    from django.core.management.utils import get_random_secret_key

    var_dir.mkdir(parents=True, exist_ok=True)
    key = get_random_secret_key()
    # Written aside, then linked into place: two processes starting at once (the test sessions
    # `make test` runs side by side) end up with one key, and none reads a half-written file.
    fd, aside = tempfile.mkstemp(dir=var_dir, prefix=".secret_key.")  # mode 0600
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    try:
        os.link(aside, path)
    except FileExistsError:
        key = path.read_text().strip()
    except OSError:  # a filesystem without hard links: create it exclusively, as before
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
    finally:
        os.unlink(aside)
    return key


def database(url: str, var_dir: Path) -> dict[str, object]:
    """Return a DATABASES['default'] dict from a postgres:// or sqlite:/// URL (default: SQLite
    under var/)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if not url or parts.scheme == "sqlite":
        # sqlite:////abs/path.sqlite3 or sqlite:///abs/path.sqlite3: always an absolute path.
        path = "/" + unquote(parts.path).lstrip("/") if url else str(var_dir / "xenpanel.sqlite3")
        if url and path == "/":
            raise ImproperlyConfigured(f"{PREFIX}DATABASE_URL=sqlite:/// needs a file path")
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": path,
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"{PREFIX}DATABASE_URL must start with postgres://, postgresql:// or sqlite:///,"
            f" got {parts.scheme!r}"
        )
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,
    }
