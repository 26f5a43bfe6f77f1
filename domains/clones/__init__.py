"""clones (issue 13)."""
