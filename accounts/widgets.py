"""Bootstrap 5 classes on form widgets: one rule for every form of the panel.

It lives in `accounts`, the lowest app, so that every room's forms can use it.
"""

from __future__ import annotations

from django import forms

# CheckboxSelectMultiple is a RadioSelect: both render a list of form-check inputs.
_CHECKS = (forms.CheckboxInput, forms.RadioSelect)


def style_field(field: forms.Field) -> None:
    """Give the field's widget its Bootstrap class, unless the form set one already."""
    widget = field.widget
    if isinstance(widget, _CHECKS):
        widget.attrs.setdefault("class", "form-check-input")
    elif isinstance(widget, forms.Select):
        widget.attrs.setdefault("class", "form-select form-select-sm")
    else:
        widget.attrs.setdefault("class", "form-control form-control-sm")


def style_form(form: forms.BaseForm) -> None:
    """Give every field of `form` its Bootstrap class."""
    for field in form.fields.values():
        style_field(field)
