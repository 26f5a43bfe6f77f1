"""How a domU looks in the API (list and detail), and the request bodies of its writes.

The write bodies are here for the schema only: the Django forms the pages use validate them.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dom0.errors import ParseError
from domains import cfg, records
from domains.models import Domain, DomainConfigVersion, DomainSnapshot, DomainState

#: The one word the pages show for a state (includes/domain_state.html).
STATE_WORDS = {
    DomainState.BLOCKED: "running",
    DomainState.NOT_RUNNING: "not running",
    DomainState.SHUTDOWN: "shut down",
}


def state_word(state: str) -> str:
    return STATE_WORDS.get(state, state)  # type: ignore[call-overload]


class DomainSerializer(serializers.ModelSerializer):
    """A domU as lists show it."""

    host = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Code of the host it is on."
    )
    host_name = serializers.CharField(source="host.name", read_only=True, help_text="Its host.")
    state = serializers.SerializerMethodField(
        help_text="Its state as the pages say it: running, paused, shut down, crashed, dying, "
        "not running, unknown."
    )
    state_code = serializers.CharField(
        source="state", read_only=True, help_text="The state's code (the `state` filter)."
    )
    state_letters = serializers.CharField(
        read_only=True, help_text="`xl list` state flags (r b p s c d)."
    )
    owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Who owns it."
    )
    team = serializers.SlugRelatedField(
        slug_field="name",
        read_only=True,
        allow_null=True,
        help_text="The team it is shared with, if any.",
    )
    url = serializers.SerializerMethodField(help_text="This domU in the API.")
    page = serializers.SerializerMethodField(help_text="This domU's page in the panel.")

    class Meta:
        model = Domain
        fields = [
            "code", "name", "host", "host_name", "state", "state_code", "state_letters",
            "memory_mb", "vcpus", "guest_type", "owner", "team", "restart_pending",
            "created_at", "url", "page",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "code": {"help_text": "The domU's code (its address in the API and the pages)."},
            "name": {"help_text": "Its name (xl's name, unique on its host)."},
            "memory_mb": {"help_text": "Memory in MiB (its config)."},
            "vcpus": {"help_text": "vCPUs (its config)."},
            "guest_type": {"help_text": "hvm or pvh."},
            "restart_pending": {
                "help_text": "Its config changed while it ran: it runs the old settings until "
                "it is next started from its file."
            },
            "created_at": {"help_text": "When the panel made (or imported) it."},
        }

    def get_state(self, domain: Domain) -> str:
        return state_word(domain.state)

    def get_url(self, domain: Domain) -> str:
        return reverse("api:domain", args=[domain.code])

    def get_page(self, domain: Domain) -> str:
        return domain.get_absolute_url()


class VolumeRefSerializer(serializers.Serializer):
    code = serializers.UUIDField(help_text="The volume's code.")
    dataset = serializers.CharField(help_text="Its ZFS dataset.")
    size_bytes = serializers.IntegerField(help_text="Its size in bytes.")
    boot = serializers.BooleanField(help_text="Whether it is the boot disk.")


class NicSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="Index in `vif = [...]` (xl's devid).")
    mac = serializers.CharField(help_text="Its MAC; empty when none is fixed (xl picks one).")
    bridge = serializers.CharField(help_text="The bridge it joins.")


class VncSummarySerializer(serializers.Serializer):
    enabled = serializers.BooleanField(help_text="Whether it has a VNC console.")
    display = serializers.IntegerField(allow_null=True, help_text="VNC display (port - 5900).")
    port = serializers.IntegerField(allow_null=True, help_text="TCP port on the host.")
    listen = serializers.CharField(help_text="The address the VNC server listens on.")


class DomainDetailSerializer(DomainSerializer):
    """A domU with its disks, NICs, VNC summary (no password) and live figures."""

    volumes = serializers.SerializerMethodField(help_text="Its volumes, the boot disk first.")
    iso = serializers.SlugRelatedField(
        slug_field="code",
        read_only=True,
        allow_null=True,
        help_text="Code of the ISO it was created with.",
    )
    nics = serializers.SerializerMethodField(help_text="The NICs of its current config.")
    vnc = serializers.SerializerMethodField(help_text="Its VNC console (see /vnc/ for more).")
    has_cdrom = serializers.SerializerMethodField(
        help_text="Whether its config has a cdrom (Finish install removes the installer one)."
    )

    class Meta(DomainSerializer.Meta):
        fields = [
            *DomainSerializer.Meta.fields,
            "volumes", "iso", "nics", "vnc", "has_cdrom", "domid", "cpu_seconds", "mem_mib",
            "last_seen_at", "kernel", "maxmem_mb", "maxvcpus", "autostart", "autostart_order",
            "autostart_delay", "description", "tags",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            **DomainSerializer.Meta.extra_kwargs,
            "domid": {"help_text": "Xen's domain id while it exists in the hypervisor."},
            "cpu_seconds": {"help_text": "CPU time used, from the last `xl list`."},
            "mem_mib": {"help_text": "Memory it has now, from the last `xl list`."},
            "last_seen_at": {"help_text": "When `xl list` last showed it."},
            "kernel": {"help_text": "PVH: the kernel or boot loader on the host."},
            "maxmem_mb": {"help_text": "The ceiling memory may grow to while it runs."},
            "maxvcpus": {"help_text": "vCPUs it may be given while it runs."},
            "autostart": {"help_text": "Started after a Dom0 reboot."},
            "autostart_order": {"help_text": "Its place in the autostart order."},
            "autostart_delay": {"help_text": "Seconds to wait after starting it."},
            "description": {"help_text": "Free text."},
            "tags": {"help_text": "Tags."},
        }

    @extend_schema_field(VolumeRefSerializer(many=True))
    def get_volumes(self, domain: Domain) -> list[dict[str, Any]]:
        disks = [domain.volume] if domain.volume else []
        disks += [v for v in domain.extra_volumes.all() if v.pk != domain.volume_id]
        return [
            {"code": v.code, "dataset": v.dataset, "size_bytes": v.size_bytes, "boot": i == 0}
            for i, v in enumerate(disks)
        ]

    @extend_schema_field(NicSerializer(many=True))
    def get_nics(self, domain: Domain) -> list[dict[str, Any]]:
        version = records.current_version(domain)
        try:
            rows = cfg.summary(cfg.parse(version.text))["nics"] if version else []
        except ParseError:  # an unreadable config has no NICs to show
            rows = []
        return [
            {"position": p, "mac": m or "", "bridge": b or ""}
            for p, m, b in rows  # type: ignore[attr-defined]
        ]

    @extend_schema_field(VncSummarySerializer)
    def get_vnc(self, domain: Domain) -> dict[str, Any]:
        return {
            "enabled": domain.vnc_enabled,
            "display": domain.vnc_display,
            "port": domain.vnc_port,
            "listen": domain.vnc_listen,
        }

    def get_has_cdrom(self, domain: Domain) -> bool:
        version = records.current_version(domain)
        return cfg.has_cdrom(version.text) if version else False


class VersionSerializer(serializers.ModelSerializer):
    """One stored version of the domU's xl config (the VNC password masked)."""

    author = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="Who wrote it (empty: the panel)."
    )
    text = serializers.SerializerMethodField(help_text="The config text, password masked.")

    class Meta:
        model = DomainConfigVersion
        fields = ["number", "note", "author", "created_at", "text"]
        read_only_fields = fields
        extra_kwargs = {
            "number": {"help_text": "Its number (1 = first)."},
            "note": {"help_text": "What changed."},
            "created_at": {"help_text": "When it was written."},
        }

    def get_text(self, version: DomainConfigVersion) -> str:
        return cfg.mask_password(version.text)


class VersionDetailSerializer(VersionSerializer):
    diff = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="With ?diff=<other number>: the unified diff from that version to this one.",
    )

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "diff"]
        read_only_fields = fields


class SnapshotSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="Who took it (empty: the schedule)."
    )

    class Meta:
        model = DomainSnapshot
        fields = [
            "code", "name", "mode", "state", "schedule", "config_number", "datasets",
            "used_bytes", "referenced_bytes", "created_at", "author", "note",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "code": {"help_text": "The snapshot's code."},
            "name": {"help_text": "The part after @ on every volume (its address in the API)."},
            "mode": {"help_text": "running, paused or stopped: how it was taken."},
            "state": {"help_text": "creating, ready, failed or deleting."},
            "schedule": {"help_text": "hourly or daily for a scheduled one; empty by hand."},
            "config_number": {"help_text": "The config version it was taken with."},
            "datasets": {"help_text": "The volumes it holds."},
            "used_bytes": {"help_text": "Space only it holds (Refresh sizes)."},
            "referenced_bytes": {"help_text": "Space it refers to."},
            "created_at": {"help_text": "When it was taken."},
            "note": {"help_text": "A note."},
        }
