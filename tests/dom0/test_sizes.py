"""dom0.sizes: the one size parser of the forms (a bare number is GiB, as the fields say)."""

from __future__ import annotations

import pytest

from dom0.errors import ValidationError
from dom0.sizes import parse_size

GIB = 2**30


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.5", 1536 * 2**20),
        ("20", 20 * GIB),
        (20, 20 * GIB),
        ("1536M", 1536 * 2**20),
        ("1.5T", 1536 * GIB),
        ("2GiB", 2 * GIB),
        ("512 MB", 512 * 2**20),
        ("1.5K", 1536),
        ("4096B", 4096),
    ],
)
def test_a_bare_number_is_gib_and_a_unit_is_honoured(value, expected):
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["1.5B", "0.3K", "1.0000000001"])
def test_a_fraction_of_a_byte_is_refused_naming_the_field(value):
    with pytest.raises(ValidationError) as exc:
        parse_size(value, "disk_gib")
    assert exc.value.field == "disk_gib"
    assert "is not a whole number of bytes" in exc.value.rule


@pytest.mark.parametrize("value", ["", "x", "-1", "20Q", "1KB2", True, None])
def test_garbage_is_refused_with_the_rule(value):
    with pytest.raises(ValidationError) as exc:
        parse_size(value, "size")
    assert "a bare number is in GiB" in exc.value.rule


def test_bounds():
    with pytest.raises(ValidationError, match="at least 1 GiB"):
        parse_size("512M", minimum=GIB)
    with pytest.raises(ValidationError, match=r"at most 1048576 GiB \(1P\)"):
        parse_size(2**40)
    assert parse_size("1P") == 2**50
