"""Issue 17 item 9: the memorylocked fix changes only the `default` class of login.conf.

The fix is a command an admin copies; this runs it, as printed, with the machine's POSIX awk on
a login.conf with several classes (cap_mkdb is a stand-in that records its argument).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hosts.readiness import FAIL, PASS, Gathered, Item, evaluate, memorylocked_fix

LOGIN_CONF = """\
# login.conf - login class capabilities database.
# default: the class of every user without one; memorylocked=64K in a comment stays.
default:\\
\t:passwd_format=sha512:\\
\t:cputime=unlimited:\\
\t:memorylocked=64K:\\
\t:memoryuse=unlimited:\\
\t:umask=022:

#
# A collection of common class names - forward them all to 'default'
standard:\\
\t:tc=default:
daemon:\\
\t:memorylocked=128M:\\
\t:tc=default:
russian|Russian Users Accounts:\\
\t:charset=UTF-8:\\
\t:memorylocked=1M:\\
\t:lang=ru_RU.UTF-8:\\
\t:tc=default:
"""

NO_CAPABILITY = LOGIN_CONF.replace("\t:memorylocked=64K:\\\n", "")

pytestmark = pytest.mark.skipif(shutil.which("awk") is None, reason="no awk on this machine")


def run_fix(tmp_path: Path, text: str) -> tuple[str, str]:
    tmp_path.mkdir(exist_ok=True)
    conf = tmp_path / "login.conf"
    conf.write_text(text)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "cap_mkdb"
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/cap_mkdb.args\n')
    fake.chmod(0o755)
    command = memorylocked_fix(str(conf))
    subprocess.run(["/bin/sh", "-c", command], check=True, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    return conf.read_text(), (tmp_path / "cap_mkdb.args").read_text().strip()


def records(text: str) -> list[str]:
    """The lines that do not belong to the default record, in order."""
    lines, out, in_default = text.splitlines(), [], False
    for line in lines:
        if line.startswith("default:"):
            in_default = True
        if not in_default:
            out.append(line)
        if in_default and not line.endswith("\\"):
            in_default = False
    return out


def test_the_fix_changes_only_the_default_class_then_rebuilds_the_db(tmp_path: Path) -> None:
    fixed, mkdb = run_fix(tmp_path, LOGIN_CONF)
    assert fixed == LOGIN_CONF.replace("\t:memorylocked=64K:\\", "\t:memorylocked=unlimited:\\")
    assert "\t:memorylocked=128M:\\" in fixed and "\t:memorylocked=1M:\\" in fixed
    assert "memorylocked=64K in a comment" in fixed
    assert records(fixed) == records(LOGIN_CONF)
    assert mkdb == str(tmp_path / "login.conf")
    item = _item(fixed)
    assert item.status == PASS


def test_a_default_class_without_the_capability_gets_it(tmp_path: Path) -> None:
    assert _item(NO_CAPABILITY).status == FAIL
    fixed, _ = run_fix(tmp_path, NO_CAPABILITY)
    assert fixed.startswith(
        "# login.conf - login class capabilities database.\n"
        "# default: the class of every user without one; memorylocked=64K in a comment stays.\n"
        "default:\\\n\t:memorylocked=unlimited:\\\n\t:passwd_format=sha512:\\\n"
    )
    assert records(fixed) == records(NO_CAPABILITY)
    assert _item(fixed).status == PASS


def test_running_it_twice_changes_nothing_more(tmp_path: Path) -> None:
    once, _ = run_fix(tmp_path / "1", LOGIN_CONF)
    again, _ = run_fix(tmp_path / "2", once)
    assert again == once


def test_the_readiness_item_offers_the_fix() -> None:
    item = _item(LOGIN_CONF)
    assert item.status == FAIL and "memorylocked=64K" in item.detail
    assert item.fix == memorylocked_fix("/etc/login.conf")
    assert "sed" not in item.fix and item.fix.endswith("&& cap_mkdb /etc/login.conf")


def _item(text: str) -> Item:
    return next(i for i in evaluate(Gathered(login_conf=text)) if i.key == "memorylocked")
