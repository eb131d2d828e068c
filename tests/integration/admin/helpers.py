"""Helpers for the admin tests."""

from __future__ import annotations

from django.forms import CheckboxInput


def messages_of(response) -> list[str]:
    """The messages shown on the (last) page of ``response``."""
    return [str(m) for m in response.context["messages"]]


def form_data(response) -> dict:
    """What the browser would post back, unchanged, from an admin change page: the
    main form, every inline form and the management forms, as rendered."""
    data: dict = {}

    def add(form) -> None:
        for bound in form:
            if bound.field.disabled:
                continue
            value = bound.value()
            if isinstance(bound.field.widget, CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif value is not None:
                data[bound.html_name] = bound.field.prepare_value(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def inline_prefix(response, model) -> str:
    """The form prefix of ``model``'s inline on an admin change page."""
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return inline.formset.prefix
    raise AssertionError(f"no inline for {model}")
