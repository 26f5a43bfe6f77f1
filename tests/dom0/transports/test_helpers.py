"""Pure helpers under the transports: argv checks, path mapping, pinned-key parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from dom0 import errors
from dom0.transport import Result, host_key_info, parse_pinned_key
from dom0.transports.base import check_argv, host_path, temp_sibling, with_tool_dir
from dom0.transports.ssh import remote_command
from tests.support.sshd import make_key


@pytest.mark.parametrize(
    ("path", "root", "expected"),
    [
        ("/etc/ttys", "", "/etc/ttys"),
        ("/etc/ttys", "/srv/sim", "/srv/sim/etc/ttys"),
        ("/etc/ttys", "/srv/sim/", "/srv/sim/etc/ttys"),
        ("//etc/../etc/./ttys", "/srv/sim", "/srv/sim/etc/ttys"),
        ("/../../etc", "/srv/sim", "/srv/sim/etc"),
        ("/", "/srv/sim", "/srv/sim"),
    ],
)
def test_host_path_maps_under_the_root(path: str, root: str, expected: str) -> None:
    assert host_path(path, root) == expected


@pytest.mark.parametrize("path", ["etc/ttys", "", "/a\x00b"])
def test_host_path_refuses_bad_paths(path: str) -> None:
    with pytest.raises(errors.ValidationError):
        host_path(path, "")


def test_tool_dir_prefixes_bare_names_only() -> None:
    assert with_tool_dir(["xl", "list"], "/opt/shims") == ["/opt/shims/xl", "list"]
    assert with_tool_dir(["/sbin/zfs", "list"], "/opt/shims") == ["/sbin/zfs", "list"]
    assert with_tool_dir(["xl"], "") == ["xl"]


@pytest.mark.parametrize("argv", [[], "xl list", ["xl", 3], ["a\x00"]])
def test_check_argv_refuses_bad_shapes(argv: object) -> None:
    with pytest.raises(errors.ValidationError):
        check_argv(argv)  # type: ignore[arg-type]


def test_temp_sibling_stays_in_the_same_directory() -> None:
    assert temp_sibling("/etc/xen/vm.cfg", "ab") == "/etc/xen/.vm.cfg.xenpanel-ab.tmp"


def test_remote_command_quotes_and_reports_the_pid() -> None:
    assert remote_command(["echo", "a b", "$x"]).endswith("; exec echo 'a b' '$x'")


def test_result_ok() -> None:
    assert Result(["x"], 0, "", "", 0.1).ok
    assert not Result(["x"], 1, "", "", 0.1).ok


def test_pinned_keys_parse_and_fingerprint(tmp_path: Path) -> None:
    line = make_key(tmp_path / "k")
    info = host_key_info(line + " some comment")
    assert info.openssh_line == line
    assert info.fingerprint_sha256.startswith("SHA256:") and "=" not in info.fingerprint_sha256


@pytest.mark.parametrize(
    "line",
    ["", "ssh-ed25519", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", "ssh-ed25519 not*base64", "x y"],
)
def test_malformed_pins_are_refused(line: str) -> None:
    with pytest.raises(errors.ValidationError):
        parse_pinned_key(line)


def test_a_pin_whose_type_disagrees_with_its_data_is_refused(tmp_path: Path) -> None:
    data = make_key(tmp_path / "k").split()[1]
    with pytest.raises(errors.ValidationError):
        parse_pinned_key(f"ecdsa-sha2-nistp256 {data}")
