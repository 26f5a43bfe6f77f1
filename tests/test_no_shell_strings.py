"""No command anywhere is built as a shell string."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATTERN = re.compile(r"shell\s*=\s*True|os\.system\(|os\.popen\(")


def test_it_finds_no_shell_true_in_the_project() -> None:
    offenders = []
    for path in ROOT.rglob("*.py"):
        if any(part in {".venv", "var", "node_modules"} for part in path.relative_to(ROOT).parts):
            continue
        if path == Path(__file__):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if PATTERN.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
