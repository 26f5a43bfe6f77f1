"""Jobs: clones (issue 13)."""
