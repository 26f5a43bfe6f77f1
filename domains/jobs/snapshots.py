"""Jobs: snapshots (issue 13)."""
