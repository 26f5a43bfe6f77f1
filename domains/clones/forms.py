"""The template picker: which template, the names (one, or a pattern for a batch), memory,
vCPUs and a bridge per NIC; everything checked for all N clones before anything runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from accounts import access, quotas
from dom0 import validate
from dom0.errors import ParseError
from dom0.errors import ValidationError as Dom0ValidationError
from domains import cfg
from domains.clones import logic, naming
from domains.forms import (
    UsableChoiceField,
    _bounded,
    _css,
    host_domain_names,
    scanned_datasets,
)
from domains.models import Domain, DomainTemplate
from hosts.models import Host
from storage.models import Volume


@dataclass(frozen=True)
class Planned:
    """One clone the form will make: its name, its volumes' datasets and its VNC display."""

    name: str
    datasets: list[str]
    vnc_display: int | None


def template_choices(user: Any) -> Any:
    return access.owned_for_user(DomainTemplate.objects.select_related("host"), user)


class CloneForm(forms.Form):
    template = UsableChoiceField(
        queryset=DomainTemplate.objects.none(), to_field_name="code", empty_label=None
    )
    name = forms.CharField(
        max_length=64,
        help_text="One name, or a pattern with {n} for several: web-{n} gives web-1, web-2…",
    )
    count = forms.IntegerField(initial=1, **_bounded("How many", 1, naming.MAX_COUNT))
    start = forms.IntegerField(initial=1, **_bounded("First {n}", 0, naming.MAX_START))
    memory_mb = forms.IntegerField(
        **_bounded("Memory (MiB) each", validate.MIN_MEMORY_MB, validate.MAX_MEMORY_MB, "MiB")
    )
    vcpus = forms.IntegerField(**_bounded("vCPUs each", 1, validate.MAX_VCPUS))

    def __init__(
        self, *args: Any, user: Any, template: DomainTemplate | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        visible = template_choices(user)
        field = self.fields["template"]
        assert isinstance(field, UsableChoiceField)
        # A template whose snapshot a promote moved away has snapshot "" (logic.why_not_usable).
        field.queryset = visible.filter(state=DomainTemplate.State.READY).exclude(snapshot="")
        field.visible, field.why_not = visible, logic.why_not_usable
        # Not `self.template`: that name is the form's `template` field; this is the template
        # picked (from the URL, the posted value or the first one offered).
        self.picked: DomainTemplate | None = (
            template or self._chosen(visible) or field.queryset.first()
        )
        self.planned: list[Planned] = []
        self.nic_names: list[str] = []
        if self.picked is not None:
            self._from_template(self.picked)
        for f in self.fields.values():
            _css(f)

    def _chosen(self, visible: Any) -> DomainTemplate | None:
        value = self.data.get("template") if self.is_bound else None
        try:
            return visible.filter(code=value).first() if value else None
        except (ValueError, forms.ValidationError):
            return None  # not a UUID: the field itself says so

    def _from_template(self, template: DomainTemplate) -> None:
        host = template.host
        self.initial.setdefault("template", template.code)
        self.initial.setdefault("memory_mb", template.memory_mb)
        self.initial.setdefault("vcpus", template.vcpus)
        try:
            bridges = naming.nic_bridges(template.config_text, host.default_bridge)
        except (ValueError, ParseError):  # an unreadable config: no per-NIC bridge fields
            bridges = []
        for i, bridge in enumerate(bridges):
            key = f"bridge_{i}"
            self.fields[key] = forms.CharField(
                label=f"Bridge of NIC {i}", max_length=15, initial=bridge
            )  # fmt: skip
            self.nic_names.append(key)
        free = (host.facts or {}).get("free_memory_mib")
        self.fields["memory_mb"].help_text = (
            f"{free} MiB free on {host.name}" if free is not None else "Host not refreshed yet"
        )
        for resource, name in (("memory_mb", "memory_mb"), ("vcpus", "vcpus"), ("domus", "count")):
            text = quotas.remaining_text(self.user, resource)
            if text:
                self.fields[name].help_text = " · ".join(
                    filter(None, [str(self.fields[name].help_text), text])
                )

    @property
    def host(self) -> Host | None:
        return self.picked.host if self.picked is not None else None

    def nic_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.nic_names]

    # --- checks ------------------------------------------------------------------------------
    def _check(self, func: Any, *args: Any) -> Any:
        try:
            return func(*args)
        except Dom0ValidationError as exc:
            raise forms.ValidationError(exc.sentence) from exc

    def clean_template(self) -> DomainTemplate:
        template: DomainTemplate = self.cleaned_data["template"]
        reason = logic.why_not_usable(template)
        if reason:
            raise forms.ValidationError(reason)
        if template != self.picked:
            # The page showed another template's NICs: show this one's before creating.
            raise forms.ValidationError("The template changed: check the NICs below, then create.")
        return template

    def clean_vcpus(self) -> int:
        facts = (self.host.facts or {}) if self.host else {}
        cpus = facts.get("nr_cpus") or validate.MAX_VCPUS
        return self._check(validate.vcpus, self.cleaned_data["vcpus"], cpus, "vcpus")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for key in self.nic_names:
            if key in data:
                try:
                    data[key] = validate.bridge_name(data[key], "bridge")
                except Dom0ValidationError as exc:
                    self.add_error(key, exc.sentence)
        template = data.get("template")
        if template is None or self.errors:
            return data
        self._plan(template, data)
        if not self.errors:
            self.check_capacity(template, data)
        return data

    def _plan(self, template: DomainTemplate, data: dict[str, Any]) -> None:
        host = template.host
        count, start = data["count"], data["start"]
        try:
            names = naming.expand(data["name"], count, start)
        except naming.PatternError as exc:
            self.add_error("name", str(exc))
            return
        problems = naming.check_names(names, host_domain_names(host))
        if problems:
            self.add_error("name", " ".join(problems[:5]) + (" …" if len(problems) > 5 else ""))
            return
        taken = set(Volume.objects.filter(host=host).values_list("dataset", flat=True))
        taken |= scanned_datasets(host)
        displays = set(Domain.objects.filter(host=host).values_list("vnc_display", flat=True))
        vnc = _vnc_on(template)
        for name in names:
            datasets = naming.datasets_for(
                host.volumes_parent, name, len(_volumes(template)), taken
            )
            for dataset in datasets:
                try:
                    validate.dataset_name(dataset, "name", require_child=True)
                except Dom0ValidationError as exc:
                    self.add_error("name", f"{name}: its volume {dataset}: {exc.rule}.")
                    return
            taken |= set(datasets)
            display = cfg.next_display(displays) if vnc else None
            if vnc and display is None:
                self.add_error("count", f"No free VNC display left on {host.name} for {name}.")
                return
            displays.add(display)
            self.planned.append(Planned(name, datasets, display))

    def check_capacity(self, template: DomainTemplate, data: dict[str, Any]) -> None:
        n = len(self.planned)
        free = (template.host.facts or {}).get("free_memory_mib")
        if free is not None and n * data["memory_mb"] > free:
            self.add_error(
                "memory_mb",
                f"{n} × {data['memory_mb']} MiB is more than the {free} MiB free on "
                f"{template.host.name} (from its last refresh).",
            )
            return
        # Clones use no pool space at first (they share the template's blocks), but the disk
        # quota counts each volume's size (storage.usage.disk_bytes counts volsize for every
        # volume, clones too, as a clone can grow to it): N × the template's volumes.
        disk = sum(v.size_bytes for v in _volumes(template))
        wanted = {
            "memory_mb": ("memory_mb", n * data["memory_mb"]),
            "vcpus": ("vcpus", n * data["vcpus"]),
            "domus": ("count", n),
            "disk_bytes": ("count", n * disk),
        }
        for resource, (name, amount) in wanted.items():
            try:
                quotas.check(self.user, **{resource: amount})
            except quotas.QuotaExceeded as exc:
                self.add_error(name, f"{n} clone{'s' if n != 1 else ''}: {exc}")


def _volumes(template: DomainTemplate) -> list[Volume]:
    return logic.template_volumes(template)


def _vnc_on(template: DomainTemplate) -> bool:
    try:
        return bool(cfg.parse(template.config_text).vnc)
    except (ValueError, ParseError):
        return False
