"""editing (issue 13)."""
