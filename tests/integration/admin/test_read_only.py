"""Issue 5: nothing that moves bytes is edited or deleted in the admin, by anyone."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.admin import ScopedAdmin
from accounts.models import Household
from plans.admin import ReadOnlyAdmin
from plans.models import Bucket, LedgerEntry, PeriodClose, Terms
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db

READ_ONLY = sorted(
    (m for m, a in admin.site._registry.items() if isinstance(a, ReadOnlyAdmin)),
    key=lambda m: m._meta.label,
)
SCOPED = sorted(
    (m for m, a in admin.site._registry.items() if isinstance(a, ScopedAdmin)),
    key=lambda m: m._meta.label,
)


def test_the_audit_models_are_read_only():
    assert {Bucket, LedgerEntry, UsageRecord, PeriodClose, Terms} <= set(READ_ONLY)


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def an_object(model, family):
    if model is Household:
        return family.household
    return model._default_manager.filter(household=family.household).first()


def every_field(obj) -> dict:
    """A POST that tries to set every field to what it is, plus a few bytes more."""
    data = {}
    for field in obj._meta.fields:
        value = field.value_from_object(obj)
        if isinstance(value, int) and not isinstance(value, bool) and field.name != "id":
            value += 1
        data[field.attname if field.is_relation else field.name] = "" if value is None else value
    return data


@pytest.mark.parametrize("who", ["owner", "superuser"])
@pytest.mark.parametrize("model", READ_ONLY, ids=[m._meta.label for m in READ_ONLY])
def test_change_posts_are_refused(request, alpha, model, who):
    client = request.getfixturevalue(f"{who}_client")
    obj = an_object(model, alpha)
    before = model._default_manager.filter(pk=obj.pk).values().get()
    page = client.get(url(model, "change", obj.pk))
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert 'name="_save"' not in page.content.decode()
    response = client.post(url(model, "change", obj.pk), every_field(obj))
    assert response.status_code == 403
    assert model._default_manager.filter(pk=obj.pk).values().get() == before


@pytest.mark.parametrize("who", ["owner", "superuser"])
@pytest.mark.parametrize("model", SCOPED, ids=[m._meta.label for m in SCOPED])
def test_delete_views_are_refused(request, alpha, model, who):
    client = request.getfixturevalue(f"{who}_client")
    obj = an_object(model, alpha)
    assert client.get(url(model, "delete", obj.pk)).status_code == 403
    assert client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert model._default_manager.filter(pk=obj.pk).exists()
    # No bulk delete either.
    changelist = client.get(url(model, "changelist"))
    form = changelist.context["action_form"]  # None where the model has no action
    actions = [name for name, _ in form.fields["action"].choices] if form else []
    assert "delete_selected" not in actions
    response = client.post(
        url(model, "changelist"), {"action": "delete_selected", "_selected_action": [obj.pk]}
    )
    assert model._default_manager.filter(pk=obj.pk).exists()
    assert response.status_code in (200, 302)


def test_usage_record_page_shows_its_allocations_read_only(owner_client, alpha):
    record = alpha.record  # 2 GB in March, from February's rollover
    page = owner_client.get(url(UsageRecord, "change", record.pk))
    [inline] = page.context["inline_admin_formsets"]
    assert inline.has_add_permission is False and inline.has_change_permission is False
    rows = [(a.bucket_id, a.bytes) for a in record.allocations.all()]
    assert rows == [(alpha.rollover.pk, 2 * 10**9)]
    assert "2000000000" in page.content.decode()
