"""How a template looks in the API (list and detail)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from domains import actions, cfg
from domains.clones import logic
from domains.models import DomainTemplate
from jobs.models import Job


class TemplateVolumeSerializer(serializers.Serializer):
    code = serializers.UUIDField(help_text="The volume's code.")
    dataset = serializers.CharField(help_text="Its ZFS dataset (read-only on the host).")
    size_bytes = serializers.IntegerField(help_text="Its size in bytes (each clone's too).")
    snapshot = serializers.CharField(
        help_text="`<dataset>@<snapshot>` clones are made from; empty once a promote moved it."
    )


class TemplateSerializer(serializers.ModelSerializer):
    """A template as lists show it."""

    host = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text="Code of the host it is on."
    )
    host_name = serializers.CharField(source="host.name", read_only=True, help_text="Its host.")
    owner = serializers.SlugRelatedField(
        slug_field="username", read_only=True, help_text="Who owns it."
    )
    team = serializers.SlugRelatedField(
        slug_field="name", read_only=True, help_text="The team it is shared with, if any."
    )
    # Plain text, not an enum: the same choices as a snapshot's state, which the schema
    # already names (a second component with them is an enum naming collision).
    state = serializers.CharField(read_only=True, help_text="creating, ready, failed or deleting.")
    source = serializers.SerializerMethodField(
        help_text="The name of the domU it was made of (that domU became the template); null "
        "when the panel has no record of it."
    )
    volumes = serializers.SerializerMethodField(help_text="Its volumes, the boot disk first.")
    clones = serializers.SerializerMethodField(
        help_text="Names of the domUs cloned from it (their disks depend on its snapshot)."
    )
    clones_count = serializers.SerializerMethodField(help_text="How many domUs those are.")
    why_not = serializers.SerializerMethodField(
        help_text="Why no clone can be made of it now; empty when one can."
    )
    url = serializers.SerializerMethodField(help_text="This template in the API.")
    page = serializers.SerializerMethodField(help_text="This template's page in the panel.")

    class Meta:
        model = DomainTemplate
        fields = [
            "code", "name", "host", "host_name", "state", "source", "guest_type", "memory_mb",
            "vcpus", "snapshot", "volumes", "clones", "clones_count", "why_not", "owner",
            "team", "description", "created_at", "url", "page",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "code": {"help_text": "The template's code (its address in the API and the pages)."},
            "name": {"help_text": "Its name (unique on its host)."},
            "guest_type": {"help_text": "hvm or pvh (its clones' too)."},
            "memory_mb": {"help_text": "Memory in MiB a clone gets unless told otherwise."},
            "vcpus": {"help_text": "vCPUs a clone gets unless told otherwise."},
            "snapshot": {
                "help_text": "The snapshot name on its volumes; empty once a promote moved it."
            },
            "description": {"help_text": "Free text (its clones start with it)."},
            "created_at": {"help_text": "When it became a template."},
        }

    def get_source(self, template: DomainTemplate) -> str | None:
        made = Job.objects.on(template).filter(kind=actions.MAKE_TEMPLATE).order_by("pk").first()
        target = made.targets.filter(role="domain").first() if made else None
        return target.label if target else None

    @extend_schema_field(TemplateVolumeSerializer(many=True))
    def get_volumes(self, template: DomainTemplate) -> list[dict[str, Any]]:
        return [
            {
                "code": v.code,
                "dataset": v.dataset,
                "size_bytes": v.size_bytes,
                "snapshot": logic.snapshot_of(template, v) if template.snapshot else "",
            }
            for v in logic.template_volumes(template)
        ]

    def _dependents(self, template: DomainTemplate) -> logic.Dependents:
        # Asked by two fields: read once per template.
        found: logic.Dependents | None = getattr(template, "_api_dependents", None)
        if found is None:
            found = logic.dependents(template)
            template._api_dependents = found  # type: ignore[attr-defined]
        return found

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_clones(self, template: DomainTemplate) -> list[str]:
        return [d.name for d in self._dependents(template).domains]

    def get_clones_count(self, template: DomainTemplate) -> int:
        return len(self._dependents(template).domains)

    def get_why_not(self, template: DomainTemplate) -> str:
        return logic.why_not_usable(template)

    def get_url(self, template: DomainTemplate) -> str:
        return reverse("api:domain-template", args=[template.code])

    def get_page(self, template: DomainTemplate) -> str:
        return template.get_absolute_url()


class TemplateDetailSerializer(TemplateSerializer):
    """A template with its config (VNC password masked) and everything that depends on it."""

    config_text = serializers.SerializerMethodField(
        help_text="The source domU's xl config (password masked); clones get a new name, MACs "
        "and disks."
    )
    dependents = serializers.SerializerMethodField(
        help_text="Everything that keeps it from being deleted: cloned domUs, templates made "
        "of its clones, loose clone volumes."
    )

    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "config_text", "dependents"]
        read_only_fields = fields

    def get_config_text(self, template: DomainTemplate) -> str:
        return cfg.mask_password(template.config_text)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_dependents(self, template: DomainTemplate) -> list[str]:
        return self._dependents(template).names()
