"""Forms for volumes and ISO images; every value that reaches a host goes through `validate`."""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import unquote, urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth.models import Group
from django.http import QueryDict

from accounts import access, quotas
from accounts.widgets import style_form
from dom0 import sizes, validate
from dom0.errors import ValidationError as Dom0ValidationError
from hosts import access as host_access
from hosts.models import Host
from storage.models import IsoImage, Volume
from storage.resolve import resolve_host

_SMALL = {"class": "form-control form-control-sm"}


class _StorageForm(forms.Form):
    """Shared bits: a host the user may see, an optional team, Bootstrap classes."""

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if "host" in self.fields:
            field = self.fields["host"]
            assert isinstance(field, forms.ModelChoiceField)
            field.queryset = host_access.hosts_for_user(user)
        teams = Group.objects.none()
        if user.is_authenticated:
            teams = user.groups.exclude(name__in=access.ROLE_GROUPS)
        self.fields["team"] = forms.ModelChoiceField(
            teams, required=False, help_text="Members of this group may see and use it too."
        )
        style_form(self)


class SizeField(forms.CharField):
    """A size in a field labelled GiB: a bare number is GiB; cleaned to bytes (dom0.sizes)."""

    def __init__(self, *, minimum: int = 1, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "GiB, or with a unit (powers of 1024): 20, 1.5, 1536M, 1.5T")
        super().__init__(**kwargs)
        self.minimum = minimum

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = super().to_python(value)
        if text is None or text in self.empty_values:
            return None
        if len(text) > 32:
            raise forms.ValidationError("Must be a size such as 20, 1.5 or 1536M.")
        try:
            return sizes.parse_size(text, minimum=self.minimum)
        except Dom0ValidationError as exc:
            raise forms.ValidationError(exc.sentence) from exc


class VolumeForm(_StorageForm):
    name = forms.CharField(max_length=64, help_text="e.g. freebsd-disk0")
    size = SizeField(label="Size (GiB)")
    sparse = forms.BooleanField(
        required=False,
        help_text="Thin provisioning: no space is reserved, so the pool can run out later.",
    )

    def __init__(self, *args: Any, host: Host, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.host = host
        _show_quota(self.fields["size"], self.user, "disk_bytes")

    def clean_name(self) -> str:
        try:
            leaf = validate.volume_leaf(self.cleaned_data["name"], "name")
            dataset = validate.dataset_name(
                f"{self.host.volumes_parent}/{leaf}", "name", require_child=True
            )
        except Dom0ValidationError as exc:
            raise forms.ValidationError(exc.sentence) from exc
        if Volume.objects.filter(host=self.host, dataset=dataset).exists():
            raise forms.ValidationError(f"{dataset} is already in the panel.")
        self.dataset = dataset
        return leaf

    def clean_size(self) -> int:
        size: int = self.cleaned_data["size"]
        _check_quota(self.user, disk_bytes=size)
        return size

    def command_preview(self) -> dict[str, Any]:
        """The parts of the `zfs create` line the page shows, from what the form holds (issue
        17: after a refused POST too, never the defaults): size as the panel writes it (`1536M`),
        the typed text when it cannot be read (`size_problem` then says why), name, sparse."""
        if not self.is_bound:
            return {"size": "20G", "name": "name", "sparse": False, "size_problem": ""}
        text = str(self.data.get("size", "")).strip()
        try:
            size = validate.format_size(sizes.parse_size(text, minimum=1))
            problem = ""
        except Dom0ValidationError as exc:
            size, problem = text or "?", exc.sentence
        return {
            "size": size,
            "name": str(self.data.get("name", "")).strip() or "name",
            "sparse": self["sparse"].value() is True,
            "size_problem": problem,
        }


def _show_quota(field: forms.Field, user: Any, resource: str) -> None:
    text = quotas.remaining_text(user, resource)
    if text:
        field.help_text = f"{field.help_text} · {text}" if field.help_text else text


def _check_quota(user: Any, **wanted: int) -> None:
    try:
        quotas.check(user, exclude=None, **wanted)
    except quotas.QuotaExceeded as exc:
        raise forms.ValidationError(str(exc)) from exc


class _IsoForm(_StorageForm):
    host = forms.ModelChoiceField(Host.objects.none(), empty_label=None)
    checksum = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: a SHA-256 or SHA-512 digest, or the image's line from CHECKSUM.SHA256 "
        "/ SHA256SUMS. Verified on the host; a mismatch marks the image bad.",
    )
    #: The `checksum` field parsed: (algorithm, digest), ("", "") for none; set by a valid form.
    checksum_spec: tuple[str, str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _show_quota(self.fields["host"], self.user, "iso_bytes")

    def _file_name(self, value: str) -> str:
        try:
            name = validate.file_name(value, "file_name")
        except Dom0ValidationError as exc:
            raise forms.ValidationError(exc.sentence) from exc
        return name

    def _check_unique(self, host: Host | None, name: str | None) -> None:
        if host and name and IsoImage.objects.filter(host=host, file_name=name).exists():
            self.add_error(
                "file_name", f"{host.name} already has an image named {name}; delete it first."
            )

    def _check_checksum(self, name: str | None) -> None:
        text = self.cleaned_data.get("checksum", "").strip()
        if not text:
            self.checksum_spec = ("", "")
            return
        try:
            self.checksum_spec = validate.checksum_spec(text, "checksum", file=name)
        except Dom0ValidationError as exc:
            self.add_error("checksum", exc.sentence)


class FetchForm(_IsoForm):
    url = forms.CharField(
        max_length=2048,
        label="URL",
        help_text="http, https or ftp; no user name or password in the URL.",
        widget=forms.URLInput(attrs={"placeholder": "https://download.freebsd.org/…/disc1.iso"}),
    )
    file_name = forms.CharField(
        max_length=200, required=False, help_text="Leave empty to use the name in the URL."
    )
    allow_private = forms.BooleanField(
        required=False,
        label="Allow a private or loopback address",
        help_text="Admins only: for a mirror inside your network.",
    )

    field_order = ["host", "url", "file_name", "checksum", "allow_private", "team"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not access.is_admin(self.user) or settings.FETCH_ALLOW_PRIVATE:
            del self.fields["allow_private"]

    @property
    def private_allowed(self) -> bool:
        return bool(settings.FETCH_ALLOW_PRIVATE or self.cleaned_data.get("allow_private"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = data.get("url", "")
        if raw:
            try:
                url = validate.url(raw, "url", allow_private=self.private_allowed)
                hostname = urlsplit(url).hostname or ""
                validate.resolve_and_check(
                    hostname, resolve_host, "url", allow_private=self.private_allowed
                )
            except Dom0ValidationError as exc:
                self.add_error("url", exc.sentence)
                # Never echo a password back into the page.
                shown = self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)
                shown["url"] = validate.redact_url(raw)
                self.data = shown
            else:
                data["url"] = url
                name = data.get("file_name") or unquote(posixpath.basename(urlsplit(url).path))
                try:
                    data["file_name"] = self._file_name(name)
                except forms.ValidationError as exc:
                    self.add_error("file_name", exc)
        self._check_unique(data.get("host"), data.get("file_name"))
        self._check_checksum(data.get("file_name"))
        try:
            _check_quota(self.user, iso_bytes=1)  # the size is known once the host asks
        except forms.ValidationError as exc:
            self.add_error(None, exc)
        return data


class UploadForm(_IsoForm):
    """The fields of an upload; `size` comes from the browser's File object."""

    file_name = forms.CharField(max_length=200)
    size = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)

    field_order = ["host", "file_name", "checksum", "team"]

    def clean_file_name(self) -> str:
        return self._file_name(self.cleaned_data["file_name"])

    def clean_size(self) -> int | None:
        size = self.cleaned_data.get("size")
        if size is not None and size > settings.ISO_UPLOAD_MAX_BYTES:
            from storage.uploads import too_big_message

            raise forms.ValidationError(too_big_message())
        if size is not None:
            _check_quota(self.user, iso_bytes=size)
        return size

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self._check_unique(data.get("host"), data.get("file_name"))
        self._check_checksum(data.get("file_name"))
        return data
