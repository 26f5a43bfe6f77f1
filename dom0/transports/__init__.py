"""The three transports behind `dom0.transport`; import from that module, not from here."""
