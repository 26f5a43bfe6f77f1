"""Signals the hosts app sends, for the apps above it to act on without being imported here."""

from django.dispatch import Signal

#: A job read a host's `xl list`. Sent by the refresh and poll jobs with `host` (a Host),
#: `domains` (the listing as `hosts.listing.listing_row` dicts, Domain-0 included) and
#: `dom0_cpu_seconds`. The domains app syncs its domUs' states and runs autostart on it.
listing_observed = Signal()
