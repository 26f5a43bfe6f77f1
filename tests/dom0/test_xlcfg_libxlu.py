"""The panel's xl config parser against libxlutil, the library `xl` itself parses configs with.

Both read the same texts, generated (keys, escaped strings, numbers, nested lists, `+=`, comments,
a missing last newline, stray characters) and every config text the test suite holds (string
constants in tests/ that contain an assignment, and `.cfg` files). They must accept and refuse
alike, on the same line, and agree on every value. libxlu keeps numbers as their text; the
panel's int must be what C's strtol reads of it.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dom0 import xlcfg
from tests.dom0 import libxlu

pytestmark = pytest.mark.skipif(
    libxlu.missing_reason() is not None, reason=str(libxlu.missing_reason())
)

TESTS = Path(__file__).resolve().parent.parent
_KEY_RE = re.compile(r"[a-z][._0-9a-z]*")
_ASSIGNMENT_RE = re.compile(r"^[ \t]*[a-z][._0-9a-z]*[ \t]*\+?=", re.MULTILINE)
_LINE_RE = re.compile(r"^config:(\d+):")


def agree(panel: xlcfg.Value, lib: libxlu.Tree) -> bool:
    if isinstance(panel, list):
        return isinstance(lib, list) and len(panel) == len(lib) and all(map(agree, panel, lib))
    if isinstance(panel, int):
        return isinstance(lib, str) and libxlu.strtol0(lib) == panel
    return panel == lib


def check(text: str) -> None:
    """Assert that the panel and libxlu read `text` alike."""
    try:
        panel: dict[str, xlcfg.Value] | None = xlcfg.parse(text)
        problem: xlcfg.XlCfgError | None = None
    except xlcfg.XlCfgError as exc:
        panel, problem = None, exc
    keys = set(_KEY_RE.findall(text)) | set(panel or ())
    lib = libxlu.read(text, keys)
    assert lib.ok == (panel is not None), f"{text!r}: libxlu {lib.error!r}, panel {problem}"
    first = lib.error.partition("\n")[0]  # libxlu goes on after an error; the first counts
    if problem is not None and first.endswith("lexical error"):
        # Lines of syntax errors are not compared: libxlu numbers an unexpected newline one line
        # early (`config:0:` for an error on line 1) and the end of file at the last token's
        # line; the panel names the line the problem is on (docs/day2-cli-facts.md).
        line = _LINE_RE.match(first)
        assert line and int(line[1]) == problem.line, f"{text!r}: {lib.error!r} vs {problem}"
    if problem is not None:
        return
    assert panel is not None
    assert set(panel) == set(lib.values), f"{text!r}: keys {set(panel)} vs {set(lib.values)}"
    for key, value in panel.items():
        assert agree(value, lib.values[key]), f"{text!r}: {key} {value!r} vs {lib.values[key]!r}"


# --- every config the test suite holds ---------------------------------------------------------


@cache
def suite_configs() -> list[str]:
    found: set[str] = set()
    for path in TESTS.rglob("*.cfg"):
        found.add(path.read_text("utf-8", "replace"))
    for path in TESTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if "\0" not in text and len(text) < 20000 and _ASSIGNMENT_RE.search(text):
                    found.add(text)
    return sorted(found)


def test_the_suite_holds_configs_to_compare() -> None:
    assert len(suite_configs()) > 50


def test_libxlu_and_the_panel_agree_on_every_config_of_the_suite() -> None:
    failures = []
    for text in suite_configs():
        try:
            check(text)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
    assert not failures, f"{len(failures)} divergences:\n" + "\n".join(failures[:20])


# --- generated configs -------------------------------------------------------------------------

keys = st.from_regex(r"\A[a-z][._0-9a-z]{0,6}\Z").filter(lambda k: k != "")
numbers = st.one_of(
    st.integers(0, 2**64).map(str),
    st.integers(0, 2**16).map(hex),
    st.integers(0, 4096).map(lambda n: f"0{n:o}"),
    st.sampled_from(["0", "09", "0x", "1abc", "0xfg", "00", "0x0", "9223372036854775808"]),
)
_string_chars = st.sampled_from(list("ab z#=,;[]'\"é") + ["\\n", "\\t", "\\\\", "\\'", '\\"'])


@st.composite
def quoted(draw: st.DrawFn) -> str:
    quote = draw(st.sampled_from(["'", '"']))
    body = "".join(draw(st.lists(_string_chars, max_size=8)))
    # An unescaped quote of the same kind ends the string early: both parsers must agree on it.
    return quote + body + quote


atoms = st.one_of(numbers, quoted())
values = st.recursive(
    atoms,
    lambda inner: st.lists(inner, max_size=4).map(
        lambda items: "[" + st_join(items) + "]",
    ),
    max_leaves=8,
)


def st_join(items: list[str]) -> str:
    return ", ".join(items)


@st.composite
def configs(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["set", "set", "add", "comment", "blank", "two", "junk"]))
        if kind == "set":
            lines.append(f"{draw(keys)} = {draw(values)}")
        elif kind == "add":
            lines.append(f"{draw(keys)} += {draw(values)}")
        elif kind == "comment":
            lines.append(draw(st.sampled_from(["# note", "a = 1 # note", "#"])))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", "  ", ";"])))
        elif kind == "two":
            lines.append(f"{draw(keys)} = {draw(values)}; {draw(keys)}={draw(values)}")
        else:
            junk = draw(st.sampled_from(["-1", "1.5", "(", "1024M", "A = 1", "a =", "= 1", "x x"]))
            lines.append(f"{draw(keys)} = {junk}")
    text = "\n".join(lines)
    return text + draw(st.sampled_from(["", "\n", "\n\n"]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
@example("a = 1\n# the end")
@example("a = [1, [2, ['x']]]\na += [3]\n")
@example("memory = 1024 # no newline")
def test_libxlu_and_the_panel_agree_on_generated_configs(text: str) -> None:
    check(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1=[],;#'\"\\ \n+x0.-")), max_size=30))
def test_libxlu_and_the_panel_agree_on_raw_text(text: str) -> None:
    check(text)
