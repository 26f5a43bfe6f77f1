"""Forms for hosts; every field that reaches a host is checked by dom0.validate."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django import forms

from dom0 import validate
from dom0.errors import ValidationError as Dom0ValidationError
from hosts import vnc_exposure
from hosts.choices import MigrationTransfer, Transport
from hosts.models import Host

_QUEUE_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HOST_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9.-]{0,63}")
#: A DNS label: letters, digits and '-', not at either end, at most 63 characters (RFC 1123).
_LABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
#: A FreeBSD login name (MAXLOGNAME is 33 with the NUL, so 32 characters).
_SSH_USER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
MAX_PORT = 65535


def host_address(value: str) -> str:
    """Return an IP address or a DNS host name as one can connect to it; ValueError otherwise."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > 253 or not all(_LABEL_RE.fullmatch(p) for p in name.split(".")):
        raise ValueError(value)
    return value


class HostForm(forms.ModelForm):
    ssh_port = forms.IntegerField(
        label="SSH port",
        initial=22,
        min_value=1,
        max_value=MAX_PORT,
        error_messages={
            "invalid": "Must be a whole number.",
            "min_value": f"Must be a TCP port: 1 to {MAX_PORT}.",
            "max_value": f"Must be a TCP port: 1 to {MAX_PORT}.",
        },
    )

    class Meta:
        model = Host
        fields = [
            "name",
            "address",
            "transport",
            "ssh_user",
            "ssh_port",
            "volumes_parent",
            "iso_dir",
            "config_dir",
            "default_bridge",
            "vnc_listen",
            "queue",
            "shared_storage",
            "migration_transfer",
            "vnc_exposure_allowed",
        ]
        labels = {
            "migration_transfer": "Migration transfer",
            "vnc_exposure_allowed": "Allow VNC beyond loopback",
        }
        help_texts = {
            "queue": "Leave empty for the central worker pool; set e.g. host.xen1 and start a "
            "worker on the Dom0 with -Q host.xen1 to run this host's jobs there.",
            "shared_storage": "Hosts with the same label reach the same disks at the same paths "
            "(e.g. one iSCSI or NFS store): their domUs move by live migration (xl migrate), "
            "without copying disks. Leave empty for local disks: domUs then move by storage "
            "migration (zfs send/recv).",
            "migration_transfer": "How a storage migration's disk bytes leave this host. Direct "
            "needs the Dom0s to reach each other over SSH: set up migration access on the host "
            "page first.",
            "vnc_exposure_allowed": "Let admins give a domU on this host a VNC address other "
            "than loopback. Its console is then open to anyone who reaches that address, "
            "guarded only by VNC's 8-character password.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Scripts that post only the fields they know keep the default path (relayed).
        self.fields["migration_transfer"].required = False
        for field in self.fields.values():
            css = (
                "form-select form-select-sm"
                if isinstance(field.widget, forms.Select)
                else ("form-control form-control-sm")
            )
            field.widget.attrs.setdefault("class", css)

    def _check(self, name: str, func: Any, *args: Any) -> Any:
        value = self.cleaned_data.get(name)
        if value in (None, ""):
            return value
        try:
            return func(value, *args)
        except Dom0ValidationError as exc:
            raise forms.ValidationError(exc.sentence) from exc

    def clean_name(self) -> str:
        value = self.cleaned_data["name"]
        if not _HOST_NAME_RE.fullmatch(value):
            raise forms.ValidationError(
                "Start with a letter; use letters, digits, '.' and '-' (at most 64)."
            )
        return value

    def clean_address(self) -> str:
        value = self.cleaned_data.get("address", "")
        if not value:
            return value
        try:
            return host_address(value)
        except ValueError:
            raise forms.ValidationError(
                "Must be an IP address or a host name: letters, digits, '-' and '.', labels of "
                "at most 63 characters, at most 253 in all."
            ) from None

    def clean_migration_transfer(self) -> str:
        return self.cleaned_data.get("migration_transfer") or MigrationTransfer.RELAY

    def clean_ssh_user(self) -> str:
        value = self.cleaned_data.get("ssh_user", "")
        if not _SSH_USER_RE.fullmatch(value):
            raise forms.ValidationError(
                "Must be a user name: letters, digits, '_', '.' and '-', starting with a letter "
                "or '_', at most 32 characters."
            )
        return value

    def clean_volumes_parent(self) -> str:
        return self._check("volumes_parent", validate.dataset_name, "volumes_parent")

    def clean_iso_dir(self) -> str:
        return self._check("iso_dir", validate.abs_path, "iso_dir", ["/"])

    def clean_config_dir(self) -> str:
        return self._check("config_dir", validate.abs_path, "config_dir", ["/"])

    def clean_default_bridge(self) -> str:
        return self._check("default_bridge", validate.bridge_name, "default_bridge")

    def clean_vnc_listen(self) -> str:
        return self._check("vnc_listen", validate.vnc_listen, "vnc_listen")

    def clean_queue(self) -> str:
        value = self.cleaned_data.get("queue", "")
        if value and not _QUEUE_RE.fullmatch(value):
            raise forms.ValidationError("Use letters, digits, '.', '_' and '-' only.")
        return value

    def clean_shared_storage(self) -> str:
        value = self.cleaned_data.get("shared_storage", "").strip()
        if value and not _QUEUE_RE.fullmatch(value):
            raise forms.ValidationError("Use letters, digits, '.', '_' and '-' only (at most 64).")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("transport") == Transport.SSH
            and not data.get("address")
            and "address" not in self.errors
        ):
            self.add_error("address", "An SSH host needs an address.")
        already_sim = self.instance.pk is not None and self.instance.transport == Transport.SIM
        if data.get("transport") == Transport.SIM and not already_sim:
            self.add_error(
                "transport",
                "Simulated hosts are made with `manage.py sim_host` (or by make demo).",
            )
        # Issue 18: the default every new domU gets is loopback unless this host allows more.
        exposed = vnc_exposure.host_default_refusal(
            data.get("vnc_listen") or "", allowed=bool(data.get("vnc_exposure_allowed"))
        )
        if exposed and "vnc_listen" not in self.errors:
            self.add_error("vnc_listen", exposed)
        return data
