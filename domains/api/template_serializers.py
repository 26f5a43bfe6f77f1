"""How a template looks in the API (list and detail)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from domains import actions, cfg
from domains.clones import logic
from domains.models import DomainTemplate
from jobs.models import JobTarget


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

    # A list passes what it read for its whole page in the context (`page_context`); one
    # template (the detail) is read on its own.
    def _batched(self, key: str, template: DomainTemplate) -> Any:
        if template.pk not in self.context.get(key, {}):
            self.context.update(page_context([template]))
        return self.context[key][template.pk]

    def get_source(self, template: DomainTemplate) -> str | None:
        source: str | None = self._batched("sources", template)
        return source

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
        found: logic.Dependents = self._batched("dependents", template)
        return found

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_clones(self, template: DomainTemplate) -> list[str]:
        return [d.name for d in self._dependents(template).domains]

    def get_clones_count(self, template: DomainTemplate) -> int:
        return len(self._dependents(template).domains)

    def get_why_not(self, template: DomainTemplate) -> str:
        why: str = self._batched("why_not", template)
        return why

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


def page_context(templates: Sequence[DomainTemplate]) -> dict[str, dict[int, Any]]:
    """What the serializer shows beyond a template's columns, for a whole page in a fixed number
    of queries: the domU each was made of, what depends on it, why it cannot be cloned now."""
    return {
        "sources": _sources_of(templates),
        "dependents": logic.dependents_of(templates),
        "why_not": logic.why_not_usable_of(templates),
    }


def _sources_of(templates: Sequence[DomainTemplate]) -> dict[int, str | None]:
    """Template pk -> the name of the domU its (first) make-template job turned into it."""
    made = JobTarget.objects.filter(
        content_type=ContentType.objects.get_for_model(DomainTemplate),
        object_id__in=[t.pk for t in templates],
        job__kind=actions.MAKE_TEMPLATE,
    ).values_list("object_id", "job_id")
    first_job: dict[int, int] = {}
    for template_pk, job_pk in sorted(made, key=lambda row: row[1], reverse=True):
        if template_pk is not None:
            first_job[template_pk] = job_pk  # the oldest job is written last
    labels = dict(
        JobTarget.objects.filter(job_id__in=first_job.values(), role="domain").values_list(
            "job_id", "label"
        )
    )
    return {t.pk: labels.get(first_job.get(t.pk, -1)) for t in templates}
