"""snapshots (issue 13)."""
