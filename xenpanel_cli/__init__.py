"""xenpanel-cli: the panel's REST API (/api/v1/) from a terminal.

A client only: it imports nothing from the panel (standard library only), so it can be copied to
any machine with Python 3.11 and talk to a panel over HTTP with a personal API token.
"""

__version__ = "0.2.0"
