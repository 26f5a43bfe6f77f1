"""Where the monitoring room plugs into the lower rooms (called once from MonitoringConfig.ready).

Each concern adds its own line here: the sampling step of the host poll, host/domU page sections.
"""

from __future__ import annotations


def connect() -> None:
    # --- issue 16: sampling (hosts.jobs.register_poll_step) ---
    # --- issue 16: charts (hosts.sections.register_section, domU page) ---
    # --- issue 16: alerts ---
    pass
