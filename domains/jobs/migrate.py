"""Jobs: migrate (issue 14)."""
