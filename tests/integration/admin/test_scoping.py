"""Issue 5 scoping: A's owner never sees, reaches or changes household B's data."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.urls import reverse

from accounts.admin import ScopedAdmin
from accounts.models import Household, Member
from plans.models import Bucket, LedgerEntry, PeriodClose, Plan, Terms
from plans.services import grant
from tests.factories import GB
from usage.models import UsageRecord
from usage.services import record_usage

pytestmark = pytest.mark.django_db

SCOPED = sorted(
    (m for m, a in admin.site._registry.items() if isinstance(a, ScopedAdmin)),
    key=lambda m: m._meta.label,
)
SCOPED_LABELS = [m._meta.label for m in SCOPED]

# What would give B away on a page: its name, slug (in refs and notes), its people.
BRAVO_WORDS = ["Family bravo", "bravo-ref-", "bravo pack", "bruno", "bella"]


def household_of(obj) -> int:
    return obj.pk if isinstance(obj, Household) else obj.household_id


def url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_scoped_model_is_checked():
    assert {"accounts.Household", "accounts.Member", "plans.Bucket", "plans.LedgerEntry"} <= set(
        SCOPED_LABELS
    )
    assert "auth.User" not in SCOPED_LABELS


@pytest.mark.parametrize("model", SCOPED, ids=SCOPED_LABELS)
def test_changelist_lists_only_the_owners_household(owner_client, alpha, bravo, model):
    response = owner_client.get(url(model, "changelist"))
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert rows, "A has rows of every kind, so the list is not trivially empty"
    assert {household_of(row) for row in rows} == {alpha.household.pk}
    # Every one of A's rows is there (nothing of A is lost to the scoping).
    manager = model._default_manager
    mine = manager.filter(pk=alpha.household.pk) if model is Household else None
    mine = mine if mine is not None else manager.filter(household=alpha.household)
    assert response.context["cl"].result_count == mine.count()
    content = response.content.decode()
    for word in BRAVO_WORDS:
        assert word not in content, word


def test_bucket_ids_of_b_never_show(owner_client, alpha, bravo):
    response = owner_client.get(url(Bucket, "changelist"))
    shown = {b.pk for b in response.context["cl"].result_list}
    theirs = set(Bucket.objects.filter(household=bravo.household).values_list("pk", flat=True))
    assert shown == set(
        Bucket.objects.filter(household=alpha.household).values_list("pk", flat=True)
    )
    assert len(shown) == 6 and len(theirs) == 6
    assert not shown & theirs
    content = response.content.decode()
    for pk in theirs:
        assert f'value="{pk}"' not in content  # no action checkbox for B's buckets


def test_filtering_on_bs_household_by_url_shows_nothing(owner_client, alpha, bravo):
    for model in (Bucket, LedgerEntry, UsageRecord, Plan, Member):
        response = owner_client.get(
            url(model, "changelist"), {"household__id__exact": bravo.household.pk}
        )
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == []


def bs_objects(family) -> dict:
    household = family.household
    return {
        Household: household,
        Member: family.member,
        Plan: Plan.objects.get(household=household),
        Terms: Terms.objects.filter(household=household).first(),
        Bucket: family.rollover,
        LedgerEntry: LedgerEntry.objects.filter(household=household).first(),
        PeriodClose: PeriodClose.objects.filter(household=household).first(),
        UsageRecord: family.record,
    }


@pytest.mark.parametrize("model", SCOPED, ids=SCOPED_LABELS)
def test_change_page_of_bs_object_is_not_reachable(owner_client, alpha, bravo, model):
    objects = bs_objects(bravo)
    obj = objects.get(model) or model._default_manager.filter(household=bravo.household).first()
    assert obj is not None
    for view in ("change", "history"):
        response = owner_client.get(url(model, view, obj.pk), follow=True)
        assert response.redirect_chain == [(reverse("admin:index"), 302)], view
        assert any("doesn’t exist" in str(m) for m in response.context["messages"]), view
    # Posting to it changes nothing either: refused (read-only models) or sent away.
    before = model._default_manager.filter(pk=obj.pk).values().get()
    response = owner_client.post(url(model, "change", obj.pk), {"name": "Stolen"})
    if response.status_code == 302:
        assert response["Location"] == reverse("admin:index")
    else:
        assert response.status_code == 403
    assert model._default_manager.filter(pk=obj.pk).values().get() == before


def test_posting_bs_household_form_changes_nothing(owner_client, alpha, bravo):
    before = Household.objects.filter(pk=bravo.household.pk).values().get()
    owner_client.post(
        url(Household, "change", bravo.household.pk),
        {"name": "Stolen", "time_zone": "UTC", "cycle_day": 5, "start_period": "2026-01"},
    )
    assert Household.objects.filter(pk=bravo.household.pk).values().get() == before


def test_invitation_action_on_bs_member_sends_nothing(owner_client, alpha, bravo):
    response = owner_client.post(
        url(Member, "changelist"),
        {"action": "send_invitations", ACTION_CHECKBOX_NAME: [bravo.member.pk, bravo.owner.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert mail.outbox == []
    assert not any("Invitation sent" in str(m) for m in response.context["messages"])


def test_close_action_on_bs_household_closes_nothing(owner_client, alpha, bravo, clock):
    # In May both households have March and April due; A's owner selects B only.
    clock.set(datetime(2026, 5, 20, tzinfo=UTC))
    owner_client.force_login(alpha.owner.user)  # the first session has expired by then
    before = PeriodClose.objects.filter(household=bravo.household).count()
    data = {"action": "close_ended_periods", ACTION_CHECKBOX_NAME: [bravo.household.pk]}
    preview = owner_client.post(url(Household, "changelist"), data)
    assert preview.status_code == 200
    assert preview.context["previews"] == []  # B is not among the owner's households
    assert "Family bravo" not in preview.content.decode()
    done = owner_client.post(url(Household, "changelist"), {**data, "confirm": "1"}, follow=True)
    assert "Closed 0 period(s); 0 household(s) failed." in [
        str(m) for m in done.context["messages"]
    ]
    assert PeriodClose.objects.filter(household=bravo.household).count() == before == 2
    assert not PeriodClose.objects.filter(period__in=["2026-03", "2026-04"]).exists()


def test_extend_action_on_bs_rollover_changes_nothing(owner_client, alpha, bravo):
    bucket = bravo.rollover
    response = owner_client.post(
        url(Bucket, "changelist"),
        {
            "action": "extend_expiry",
            ACTION_CHECKBOX_NAME: [bucket.pk],
            "apply": "1",
            "expires_at": "2026-06-30T00:00",
        },
    )
    assert response.status_code == 302  # no item selected: back to the list
    after = Bucket.objects.get(pk=bucket.pk)
    assert after.expires_at == bucket.expires_at
    assert not LedgerEntry.objects.filter(kind="extension").exists()


def test_plan_form_offers_only_the_owners_household(owner_client, alpha, bravo):
    response = owner_client.get(url(Plan, "add"))
    field = response.context["adminform"].form.fields["household"]
    assert list(field.queryset) == [alpha.household]
    assert "Family bravo" not in response.content.decode()
    # Choosing B's household anyway is refused as an invalid choice.
    response = owner_client.post(
        url(Plan, "add"),
        {
            "household": bravo.household.pk,
            "name": "Sneaky",
            "monthly_allowance_bytes": "5GB",
            "rollover_months": 1,
            "consumption_order": "rollover_first",
        },
    )
    assert response.status_code == 200
    assert "household" in response.context["adminform"].form.errors
    assert not Plan.objects.filter(name="Sneaky").exists()


def test_household_form_offers_only_its_own_plans(owner_client, alpha, bravo):
    response = owner_client.get(url(Household, "change", alpha.household.pk))
    plans = response.context["adminform"].form.fields["plan"].queryset
    assert list(plans) == list(Plan.objects.filter(household=alpha.household))
    assert not plans.filter(household=bravo.household).exists()


def test_list_filters_offer_only_the_owners_values(owner_client, alpha, bravo):
    # A scheduled promotion of B's in 2026-05: a period value A does not have.
    grant(
        bravo.household,
        kind="bonus",
        zone="domestic",
        bytes=GB,
        at=datetime(2026, 5, 2, tzinfo=UTC),
        now=datetime(2026, 3, 15, 12, tzinfo=UTC),
    )
    response = owner_client.get(url(Bucket, "changelist"))
    specs = response.context["cl"].filter_specs
    titles = [str(spec.title) for spec in specs]
    assert "household" not in titles  # one household: no household filter for an owner
    period = next(s for s in specs if getattr(s, "field_path", "") == "period")
    assert "2026-05" not in list(period.lookup_choices)
    assert set(period.lookup_choices) == {"2026-01", "2026-02", "2026-03"}

    # With usage of two of A's members, the member filter shows (it hides a single
    # choice) and offers those two, never B's members.
    march_12 = datetime(2026, 3, 12, 9, tzinfo=UTC)
    record_usage(alpha.owner, bytes=GB, at=march_12, ref="alpha-owner", now=march_12)
    response = owner_client.get(url(UsageRecord, "changelist"))
    member = next(
        s for s in response.context["cl"].filter_specs if getattr(s, "field_path", "") == "member"
    )
    assert {pk for pk, _ in member.lookup_choices} == {alpha.member.pk, alpha.owner.pk}


def test_superuser_sees_the_household_filter_and_both_households(superuser_client, alpha, bravo):
    response = superuser_client.get(url(Bucket, "changelist"))
    cl = response.context["cl"]
    assert {b.household_id for b in cl.result_list} == {alpha.household.pk, bravo.household.pk}
    assert "household" in [str(spec.title) for spec in cl.filter_specs]


def test_autocomplete_returns_only_the_owners_household(owner_client, alpha, bravo):
    response = owner_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "plans", "model_name": "plan", "field_name": "household", "term": "Fam"},
    )
    assert response.status_code == 200
    results = json.loads(response.content)["results"]
    assert results == [{"id": str(alpha.household.pk), "text": "Family alpha"}]


@pytest.mark.parametrize(
    ("model", "term"),
    [
        (Household, "bravo"),
        (UsageRecord, "bravo-ref-1"),
        (Bucket, "bravo pack"),
        (Member, "bruno"),
        (Plan, "Family 10 GB"),
    ],
)
def test_search_never_finds_bs_rows(owner_client, alpha, bravo, model, term):
    response = owner_client.get(url(model, "changelist"), {"q": term})
    rows = list(response.context["cl"].result_list)
    assert all(household_of(row) == alpha.household.pk for row in rows)
    if model is Plan:
        assert len(rows) == 1  # both plans share the name: A's only
    else:
        assert rows == []


def test_grant_view_acts_on_the_owners_household_only(owner_client, alpha, bravo):
    grant_url = reverse("admin:plans_bucket_grant") + f"?household={bravo.household.pk}"
    response = owner_client.get(grant_url)
    assert response.context["household"] == alpha.household
    response = owner_client.post(
        grant_url, {"kind": "addon", "zone": "domestic", "amount": "2GB", "note": "probe"}
    )
    assert response.status_code == 302
    bucket = Bucket.objects.get(note="probe")
    assert bucket.household == alpha.household
    assert bucket.granted_bytes == 2 * GB
    assert Bucket.objects.filter(household=bravo.household).count() == 6


def test_member_admin_cannot_edit_bs_member_by_url(owner_client, alpha, bravo):
    response = owner_client.post(
        url(Member, "change", bravo.member.pk),
        {"display_name": "Hacked", "role": "member", "cap_action": "notify", "active": "on"},
    )
    assert response.status_code == 302
    assert Member.objects.get(pk=bravo.member.pk).display_name != "Hacked"
