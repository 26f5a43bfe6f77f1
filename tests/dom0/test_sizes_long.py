"""A size typed with thousands of digits is refused as too large, not a ValueError (Python
refuses to turn more than 4300 digits into an int): found by the generated-input test."""

from __future__ import annotations

import pytest

from dom0.errors import ValidationError
from dom0.sizes import parse_size
from dom0.validate import size


@pytest.mark.parametrize("text", ["9" * 5000, "9" * 41, "1." + "5" * 5000])
def test_a_size_with_thousands_of_digits_is_refused_as_too_large(text: str) -> None:
    with pytest.raises(ValidationError, match="must be at most"):
        size(text, "disk_bytes")


@pytest.mark.parametrize("text", ["9" * 5000, "1." + "5" * 5000 + "G"])
def test_the_forms_size_parser_refuses_them_too(text: str) -> None:
    with pytest.raises(ValidationError, match="must be at most"):
        parse_size(text, "size")
