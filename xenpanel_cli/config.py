"""Where the CLI finds the panel and its token: the environment, else a config file.

`XENPANEL_URL` and `XENPANEL_TOKEN` win over the file. The file (`~/.config/xenpanel/cli.toml`,
or `$XENPANEL_CONFIG`) holds `url` and `token` at the top level (the default profile) and in
`[profiles.<name>]` tables for `--profile <name>` (or `$XENPANEL_PROFILE`). The token is never
taken from the command line: argv is visible to every user of the machine (`ps`).
"""

from __future__ import annotations

import os
import stat
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """The CLI cannot tell which panel to talk to, or with which token."""


@dataclass(frozen=True)
class Config:
    url: str
    token: str
    source: str  # where it came from, for error messages


def default_path(env: Mapping[str, str]) -> Path:
    if env.get("XENPANEL_CONFIG"):
        return Path(env["XENPANEL_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "xenpanel" / "cli.toml"


def _read(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    # A token in a file others can read is a token others can use.
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH) and data.get("token"):
        print(
            f"xenpanel-cli: warning: {path} is readable by others; chmod 600 it.", file=sys.stderr
        )
    return data


def load(profile: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """The URL and token to use; ConfigError says what is missing and how to give it."""
    env = os.environ if env is None else env
    path = default_path(env)
    data = _read(path)
    profile = profile or env.get("XENPANEL_PROFILE") or None
    section: Mapping[str, object] = data
    where = str(path)
    if profile:
        profiles = data.get("profiles", {})
        chosen = profiles.get(profile) if isinstance(profiles, dict) else None
        if not isinstance(chosen, dict):
            raise ConfigError(
                f"no profile {profile!r} in {path} (add a [profiles.{profile}] table)"
            )
        section, where = chosen, f"{path} [profiles.{profile}]"
    url = env.get("XENPANEL_URL") or str(section.get("url") or "")
    token = env.get("XENPANEL_TOKEN") or str(section.get("token") or "")
    if not url:
        raise ConfigError(f"no panel URL: set XENPANEL_URL or `url` in {where}")
    if not token:
        raise ConfigError(
            f"no API token: create one on the panel's Tokens page, then set XENPANEL_TOKEN "
            f"or `token` in {where}"
        )
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"the panel URL must start with http:// or https:// (got {url!r})")
    source = "the environment" if env.get("XENPANEL_TOKEN") else where
    return Config(url=url.rstrip("/"), token=token.strip(), source=source)
