"""The domU console in the browser: single-use tickets, the websockify plugin, the page.

Flow: the page POSTs for a ticket (permission-checked, audited); the ticket names the target
(host:port, and the SSH hop for SSH hosts) in Redis for 30 s; the browser opens
`<CONSOLE_WS_URL>?token=<ticket>`; the proxy (`python -m domains.console.serve`) consumes the
ticket with GETDEL and connects, so a ticket works once, for the one domU it was made for.
"""
