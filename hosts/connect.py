"""Build the transport for a Host row (the only place that turns DB fields into a connection)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from dom0.transport import Transport, TransportConfig, make_transport
from hosts.models import Host


def panel_key_path() -> Path:
    """The panel's own SSH key (made by `manage.py xenpanel_keys` / the demo set-up)."""
    return Path(settings.VAR_DIR) / "ssh" / "id_ed25519"


def config_for(host: Host) -> TransportConfig:
    return TransportConfig(
        kind=host.transport,
        address=host.address,
        port=host.ssh_port,
        user=host.ssh_user,
        key_path=str(panel_key_path()),
        known_host_key=host.host_key,
        tool_dir=host.tool_dir,
        fs_root=host.fs_root,
        sim_dir=host.sim_dir,
        connect_timeout=float(settings.SSH_CONNECT_TIMEOUT),
    )


def transport_for(host: Host) -> Transport:
    return make_transport(config_for(host))
