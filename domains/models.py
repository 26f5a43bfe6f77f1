"""DomU models (see the domUs issue)."""
