"""The handbook path through xenpanel-cli alone, against a live server with a real worker and a
simulated host: upload an ISO with tus, create a domU and wait, read its VNC details, finish the
install, destroy and delete it. The CLI runs as a subprocess with only its environment
(XENPANEL_URL, XENPANEL_TOKEN): what a script on another machine would do."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from accounts import tokens
from accounts.models import ApiToken
from domains.models import Domain
from storage.models import IsoImage
from tests.api.conftest import ADMIN, ApiWorld
from tests.storage.conftest import iso_bytes

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / ".venv" / "bin" / "xenpanel-cli"
ISO_SIZE = 3 * 2**20 + 12345  # four 1 MiB chunks, the last one short


def cli_argv() -> list[str]:
    """The console script `make venv` installs; `python -m xenpanel_cli` where there is none."""
    if LAUNCHER.exists():
        return [str(LAUNCHER)]
    return [sys.executable, "-m", "xenpanel_cli"]


class Cli:
    def __init__(self, url: str, token: str, home: Path) -> None:
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XENPANEL_URL": url,
            "XENPANEL_TOKEN": token,
            "XENPANEL_CONFIG": str(home / "no-such-config.toml"),
        }

    def run(self, *args: str, ok: bool = True, env: dict[str, str] | None = None) -> Any:
        done = subprocess.run(
            [*cli_argv(), *args],
            cwd=ROOT,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=180,
        )
        if ok:
            assert done.returncode == 0, f"{args}: rc {done.returncode}\n{done.stdout}{done.stderr}"
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)


@pytest.fixture
def cli(live_api: str, api_world: ApiWorld, tmp_path: Path) -> Cli:
    return Cli(live_api, api_world.tokens[ADMIN], tmp_path)


def test_the_handbook_path_through_the_cli(cli: Cli, api_world: ApiWorld, tmp_path: Path) -> None:
    host = api_world.host

    # The hosts: a table by default, JSON for scripts.
    listed = cli.run("hosts", "list").stdout
    assert listed.splitlines()[0].startswith("NAME") and host.name in listed
    assert [h["name"] for h in cli.json("hosts", "list")] == [host.name]

    # Upload an ISO with tus (1 MiB chunks, each with its sha256), then wait for the copy job.
    iso_file = tmp_path / "install-cli.iso"
    data = iso_bytes(ISO_SIZE, seed=11)
    iso_file.write_bytes(data)
    up = cli.run("isos", "upload", str(iso_file), "--host", host.name, "--chunk-mib", "1",
                 "--wait")  # fmt: skip
    assert "100%" in up.stderr and "succeeded" in up.stdout, up.stderr
    iso = IsoImage.objects.get(host=host, file_name="install-cli.iso")
    assert iso.state == IsoImage.State.READY
    assert iso.sha256 == hashlib.sha256(data).hexdigest()
    shown = [i for i in cli.json("isos", "list", "--host", host.name)
             if i["file_name"] == "install-cli.iso"]  # fmt: skip
    assert shown and shown[0]["code"] == str(iso.code)

    # Create a domU from flags and wait: the job's progress on stderr, its outcome on stdout.
    made = cli.run(
        "domains", "create", "--host", host.name, "--name", "cli1", "--memory", "512",
        "--disk-size", "2", "--iso", "install-cli.iso", "--vnc-listen", "127.0.0.1", "--wait",
    )  # fmt: skip
    assert "succeeded" in made.stdout and "%]" in made.stderr, made.stderr
    domu = cli.json("domains", "show", "cli1")
    assert domu["state"] == "running" and domu["has_cdrom"] and domu["memory_mb"] == 512
    assert "cli1" in cli.run("domains", "list", "--host", host.name).stdout

    # Its VNC details: where to connect, the tunnel, the password for its owner's admin.
    vnc = cli.json("domains", "vnc", "cli1")
    domain = Domain.objects.get(host=host, name="cli1")
    assert vnc["port"] == domain.vnc_port and "ssh -N -L" in vnc["tunnel"]
    assert "port:" in cli.run("domains", "vnc", "cli1").stdout

    # Finish the install: the cdrom goes, the domU boots from its disk.
    cli.run("domains", "finish-install", "cli1", "--wait")
    assert cli.json("domains", "show", "cli1")["has_cdrom"] is False

    # Without --wait an action prints its job; `jobs wait` follows it; `jobs show` has steps.
    queued = cli.json("domains", "destroy", "cli1")
    assert queued["status"] in ("queued", "running") and queued["kind"]
    waited = cli.json("jobs", "wait", queued["code"])
    assert waited["status"] == "succeeded"
    steps = cli.run("jobs", "show", queued["code"]).stdout
    assert "STEP" in steps and "xl" in steps
    assert cli.json("domains", "show", "cli1")["state"] != "running"

    # Delete it (the name typed by --yes) with its volume.
    cli.run("domains", "delete", "cli1", "--yes", "--destroy-volume", "--wait")
    assert not Domain.objects.filter(host=host, name="cli1").exists()
    assert "cli1" not in [d["name"] for d in cli.json("domains", "list")]
    assert any(j["code"] == queued["code"] for j in cli.json("jobs", "list", "--limit", "20"))


def test_the_cli_says_what_went_wrong(cli: Cli, api_world: ApiWorld) -> None:
    # A failed action: exit 1 and the API's sentence (a running domU cannot be started).
    refused = cli.run("domains", "start", api_world.domain.name, "--wait", ok=False)
    assert refused.returncode == 1 and "(409)" in refused.stderr, refused.stderr
    # A name nobody has: exit 2.
    missing = cli.run("domains", "show", "no-such-domu", ok=False)
    assert missing.returncode == 2 and "no domU called 'no-such-domu'" in missing.stderr
    # Invalid input: the form's messages per field.
    bad = cli.run("domains", "create", "--host", api_world.host.name, "--name", "no good!",
                  ok=False)  # fmt: skip
    assert bad.returncode == 1 and "(400)" in bad.stderr and "name:" in bad.stderr
    # A revoked token: 401, said plainly.
    issued = tokens.issue(api_world.users[ADMIN], "revoked", scope=ApiToken.Scope.WRITE)
    tokens.revoke(issued.token)
    denied = cli.run("hosts", "list", ok=False, env={"XENPANEL_TOKEN": issued.secret})
    assert denied.returncode == 1 and "token invalid or expired" in denied.stderr
    # A read token cannot act: 403 with the API's detail.
    reader = tokens.issue(api_world.users[ADMIN], "reader").secret
    forbidden = cli.run("domains", "destroy", api_world.domain.name, ok=False,
                        env={"XENPANEL_TOKEN": reader})  # fmt: skip
    assert forbidden.returncode == 1 and "(403)" in forbidden.stderr
    assert "read" in forbidden.stderr
