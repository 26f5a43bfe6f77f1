"""Where the monitoring room plugs into the lower rooms (called once from MonitoringConfig.ready).

Each concern adds its own line here: the sampling step of the host poll, host/domU page sections.
"""

from __future__ import annotations


def connect() -> None:
    # --- issue 16: sampling (hosts.jobs.register_poll_step) ---
    from hosts.jobs import register_poll_step
    from monitoring.sampling import sample_host

    register_poll_step(sample_host)
    # --- issue 16: charts (hosts.sections.register_section, domU page) ---
    from hosts.sections import register_section
    from monitoring.chart_views import host_section_context

    # Between the domUs (10) and storage (20): load is what one looks for after the domU list.
    register_section("charts", "monitoring/_host_charts.html", host_section_context, order=15)
    # --- issue 16: alerts ---
    from hosts.jobs import register_poll_step
    from monitoring import alert_tasks, notify  # noqa: F401  (their Celery tasks register)

    # After the sampling step: a poll's fresh domU states and pools are alerted on at once.
    register_poll_step(alert_tasks.after_poll)
