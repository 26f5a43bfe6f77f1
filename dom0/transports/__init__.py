"""The three transports behind `hosts.dom0.transport`; import from that module, not from here."""
