"""What the host pages and the hosts API both do: save through HostForm, read and pin an SSH
host key, and the rule for removing a host. One copy, so both accept and refuse the same."""

from __future__ import annotations

from dataclasses import dataclass

from dom0.errors import Dom0Error
from hosts.choices import Transport
from hosts.forms import HostForm
from hosts.models import Host

#: What a new SSH host (or one that moved) needs before the panel will connect.
KEY_HINT = (
    "Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host, then "
    "confirm it."
)


@dataclass(frozen=True)
class KeyRead:
    """The outcome of asking a host for its SSH host key: a sentence, and whether it worked."""

    ok: bool
    message: str


def edit_form(host: Host | None, data: object = None) -> HostForm:
    """The host form as the pages bind it (a simulated host keeps its transport)."""
    form = HostForm(data, instance=host)
    if host is not None and host.transport == Transport.SIM:
        form.fields["transport"].disabled = True
    return form


def save_host(form: HostForm) -> tuple[Host, KeyRead | None]:
    """Save a valid form; read the SSH host key of a new SSH host, or of one whose address or
    port changed (a new address is a new machine as far as trust goes: the pinned key goes)."""
    before = form.instance if form.instance.pk else None
    old_address = (
        Host.objects.filter(pk=before.pk).values_list("address", "ssh_port").first()
        if before is not None
        else None
    )
    host = form.save()
    if host.transport != Transport.SSH:
        return host, None
    if old_address is None:
        return host, read_host_key(host)
    if (host.address, host.ssh_port) != old_address:
        Host.objects.filter(pk=host.pk).update(host_key="", host_key_fingerprint="")
        return host, read_host_key(host)
    return host, None


def read_host_key(host: Host) -> KeyRead:
    """Ask the host for its SSH host key and keep it as pending (never trusted unasked)."""
    from dom0.transport import fetch_host_key

    try:
        info = fetch_host_key(host.address, host.ssh_port, timeout=10)
    except (Dom0Error, ValueError, OverflowError) as exc:
        # ValueError, OverflowError: an address or port saved before the form checked them.
        return KeyRead(False, f"Could not read the SSH host key of {host.address}: {exc}")
    Host.objects.filter(pk=host.pk).update(
        pending_host_key=info.openssh_line, pending_host_key_fingerprint=info.fingerprint_sha256
    )
    host.pending_host_key = info.openssh_line
    host.pending_host_key_fingerprint = info.fingerprint_sha256
    return KeyRead(True, f"{host.address} offers host key {info.fingerprint_sha256}. {KEY_HINT}")


def pin_host_key(host: Host, fingerprint: str) -> bool:
    """Trust the pending key if it is still the one shown (`fingerprint`); False otherwise."""
    if not host.pending_host_key or fingerprint != host.pending_host_key_fingerprint:
        return False
    Host.objects.filter(pk=host.pk).update(
        host_key=host.pending_host_key,
        host_key_fingerprint=host.pending_host_key_fingerprint,
        pending_host_key="",
        pending_host_key_fingerprint="",
    )
    host.host_key, host.host_key_fingerprint = host.pending_host_key, fingerprint
    host.pending_host_key = host.pending_host_key_fingerprint = ""
    return True


def removal_refusal(host: Host, confirm: str) -> str:
    """Why `host` may not be removed with this confirmation ('' when it may): the name typed."""
    if confirm != host.name:
        return f"Type the host name ({host.name}) to remove it from the panel."
    return ""


def remove_host(host: Host) -> str:
    """Forget the host (its domUs, volumes and images in the panel go with it); say so."""
    name = host.name
    host.delete()
    return f"Removed {name} from the panel. Nothing on the host was changed."
