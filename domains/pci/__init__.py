"""pci (issue 13)."""
