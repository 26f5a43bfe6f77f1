"""Jobs: edit (issue 13)."""
