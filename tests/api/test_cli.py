"""xenpanel-cli without a server: its parsing, its output (table, fields, JSON), its config,
its error messages, the SSE parser, the tus headers and how a followed job ends."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from pathlib import Path

import pytest

from xenpanel_cli import commands, config, follow, output, tus, views
from xenpanel_cli.client import Api, ApiError, error_from
from xenpanel_cli.main import build_parser, main
from xenpanel_cli.resolve import CliError

HOST, ISO = str(uuid.uuid4()), str(uuid.uuid4())


def test_table_aligns_columns_numbers_right_and_blanks_as_dash() -> None:
    rows = [
        {"name": "web1", "host_name": "xen1", "state": "running", "memory_mb": 1024, "vcpus": 2,
         "owner": "alice", "code": "c1"},
        {"name": "db-primary", "host": {"name": "xen2"}, "state": "shut down", "memory_mb": 16384,
         "vcpus": 8, "owner": None, "code": "c2"},
    ]  # fmt: skip
    lines = output.table(rows, views.DOMAINS).splitlines()
    assert lines[0].split() == ["NAME", "HOST", "STATE", "MEM", "MiB", "VCPUS", "OWNER", "CODE"]
    assert lines[1].startswith("web1        xen1  running")
    assert lines[2].startswith("db-primary  xen2  shut down")
    # Numbers end in the same column; a missing owner reads "-"; no trailing blanks.
    assert lines[1].index("1024") + 4 == lines[2].index("16384") + 5
    assert lines[2].split()[-2:] == ["-", "c2"]
    assert all(line == line.rstrip() for line in lines)


def test_cells_are_one_line_and_readable() -> None:
    assert output.text(True) == "yes" and output.text(None) == "-"
    assert output.text(["a", "b"]) == "a, b"
    assert output.text("two\nlines") == "two lines"
    assert output.text([{"mac": "m", "bridge": "b0"}, {"mac": None}]) == "mac=m bridge=b0; mac=-"
    assert output.size(1536 * 2**20) == "1.5 GiB" and output.size(512) == "512 B"
    assert output.bar(50, 100, width=10) == "[=====>    ]  50%  50 B/100 B"


def test_fields_and_json() -> None:
    job = {"code": "j1", "title": "Start web1", "status": "running", "progress": 40,
           "error": ""}  # fmt: skip
    text = output.fields(job, views.JOB_FIELDS)
    assert "status:       running" in text and "progress:     40%" in text
    assert "error:        -" in text
    assert json.loads(output.as_json(job)) == job
    assert output.progress_line(job) == "[ 40%] running   Start web1"


def test_json_flag_before_or_after_the_command() -> None:
    parser = build_parser()
    assert parser.parse_args(["--json", "hosts", "list"]).json is True
    assert parser.parse_args(["hosts", "list", "--json"]).json is True
    assert parser.parse_args(["hosts", "list"]).json is False


def test_create_flags_become_the_forms_fields() -> None:
    args = build_parser().parse_args([
        "domains", "create", "--host", HOST, "--name", "web2", "--memory", "2G", "--vcpus", "2",
        "--disk-size", "20", "--iso", ISO, "--bridge", "bridge1", "--no-vnc",
        "--set", "autostart_order=5", "--wait",
    ])  # fmt: skip
    assert args.wait and args.handler is commands.domains_create
    body = commands.create_body(Api("http://panel", "t"), args)  # codes: no lookup needed
    assert body == {
        "host": HOST, "name": "web2", "memory_mb": 2048, "vcpus": 2, "disk": "new",
        "disk_gib": "20", "iso": ISO, "bridge": "bridge1", "vnc_enabled": False,
        "autostart_order": "5",
    }  # fmt: skip


def test_create_refuses_a_volume_and_a_size_together() -> None:
    args = build_parser().parse_args(
        ["domains", "create", "--host", HOST, "--name", "x", "--volume", ISO, "--disk-size", "5"]
    )
    with pytest.raises(CliError, match="either --volume"):
        commands.create_body(Api("http://panel", "t"), args)


@pytest.mark.parametrize(
    ("text", "mib"), [("1024", 1024), ("512M", 512), ("2G", 2048), ("1.5GiB", 1536)]
)
def test_memory_units(text: str, mib: int) -> None:
    assert commands.memory_mib(text) == mib


def test_memory_nonsense_is_refused() -> None:
    with pytest.raises(CliError):
        commands.memory_mib("lots")


def test_every_action_has_its_route() -> None:
    parser = build_parser()
    for action in ("start", "shutdown", "reboot", "destroy", "finish-install"):
        args = parser.parse_args(["domains", action, "web1", "--wait"])
        assert args.action == action and args.handler is commands.domains_action


def test_config_from_env_file_and_profiles(tmp_path: Path) -> None:
    path = tmp_path / "cli.toml"
    path.write_text(
        'url = "https://panel.example/"\ntoken = "xp_file"\n'
        '[profiles.lab]\nurl = "http://lab:8000"\ntoken = "xp_lab"\n'
    )
    path.chmod(0o600)
    env = {"XENPANEL_CONFIG": str(path)}
    assert config.load(env=env).url == "https://panel.example"
    assert config.load("lab", env=env).token == "xp_lab"
    assert config.load(env={**env, "XENPANEL_TOKEN": "xp_env"}).token == "xp_env"
    with pytest.raises(config.ConfigError, match=r"no profile 'prod'"):
        config.load("prod", env=env)
    with pytest.raises(config.ConfigError, match="Tokens page"):
        config.load(
            env={"XENPANEL_CONFIG": str(tmp_path / "none.toml"), "XENPANEL_URL": "http://x"}
        )


def test_errors_say_what_to_do() -> None:
    unauthorized = error_from(
        401, b'{"detail": "Invalid, revoked or expired API token.", "code": "x"}'
    )
    assert unauthorized.message().startswith("token invalid or expired (401)")
    invalid = error_from(
        400, b'{"detail": "Invalid input: see fields.", "code": "invalid", '
        b'"fields": {"name": ["Taken on xen1."], "__all__": ["Over quota."]}}'
    )  # fmt: skip
    assert invalid.message().splitlines() == [
        "Invalid input: see fields. (400)", "  name: Taken on xen1.", "  Over quota.",
    ]  # fmt: skip
    assert error_from(403, b'{"detail": "Viewers only read.", "code": "permission_denied"}'
                      ).message() == "Viewers only read. (403)"  # fmt: skip
    assert "server error" in error_from(502, b"<html>Bad gateway</html>").message()


def test_no_config_exits_2_with_the_reason(monkeypatch, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XENPANEL_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.delenv("XENPANEL_URL", raising=False)
    monkeypatch.delenv("XENPANEL_TOKEN", raising=False)
    assert main(["hosts", "list"]) == 2
    assert "no panel URL: set XENPANEL_URL" in capsys.readouterr().err


def test_unreachable_panel_is_one_clear_line(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XENPANEL_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("XENPANEL_TOKEN", "xp_abcdefgh_x")
    assert main(["jobs", "list"]) == 1
    assert "cannot reach the panel at http://127.0.0.1:9" in capsys.readouterr().err


def test_sse_parser_reads_events_and_skips_comments() -> None:
    stream = [
        "retry: 2000\n", "\n", "event: progress\n", "id: 0\n", 'data: {"status":"running"}\n',
        "\n", ": keep-alive\n", "\n", "event: end\n", "id: 3\n", 'data: {"status":"failed"}\n',
        "\n",
    ]  # fmt: skip
    assert list(follow.parse_events(iter(stream))) == [
        ("progress", "0", '{"status":"running"}'), ("end", "3", '{"status":"failed"}'),
    ]  # fmt: skip


def test_outcome_of_a_job() -> None:
    assert follow.outcome({"status": "succeeded", "title": "Start web1"}) == (
        0, "Start web1: succeeded",
    )  # fmt: skip
    assert follow.outcome({"status": "failed", "title": "Start web1", "error": "No memory."}) == (
        1, "Start web1: failed: No memory.",
    )  # fmt: skip
    assert follow.outcome({"status": "cancelled", "title": "x"})[0] == 1


def test_tus_headers() -> None:
    meta = tus.metadata({"filename": "a b.iso", "host": "c"})
    key, value = meta.split(",")[0].split(" ")
    assert key == "filename" and base64.b64decode(value) == b"a b.iso"
    digest = base64.b64encode(hashlib.sha256(b"chunk").digest()).decode()
    assert tus.chunk_checksum(b"chunk") == f"sha256 {digest}"


def test_api_paths() -> None:
    api = Api("https://panel.example/xp/", "t")
    assert api.path("domains/") == "/xp/api/v1/domains/"
    assert api.path("/api/v1/jobs/1/") == "/api/v1/jobs/1/"
    assert api.path("https://panel.example/api/v1/jobs/?offset=50") == "/api/v1/jobs/?offset=50"
    assert api.path("jobs/", {"status": "failed", "host": None}) == "/xp/api/v1/jobs/?status=failed"


def test_api_error_has_status_zero_without_an_answer() -> None:
    assert ApiError(0, "cannot reach").message() == "cannot reach"
