"""Jobs: pci (issue 13)."""
