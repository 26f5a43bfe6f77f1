"""Template tags of the domains app, one module per concern."""
