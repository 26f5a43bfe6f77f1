"""Jobs: evacuate (issue 14)."""
