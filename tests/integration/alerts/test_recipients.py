"""Who gets which alert, and turning kinds off (issue #6).

Recipients: pool alerts -> every active member; roaming -> the roamers and the owner
(tests in test_thresholds.py); caps -> the member and the owner; rolled-over data
expiring -> every member; period closed -> the owner only.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from django.urls import reverse

from accounts.models import Member
from core.errors import Refused
from tests.factories import GB, MemberFactory
from tests.integration.alerts.conftest import PARIS, delivered_to, fired, inbox, make_family
from usage import alerts
from usage.models import Alert, AlertDelivery, AlertOptOut

pytestmark = pytest.mark.django_db

ALL_ON = {f"alert_{kind}": "on" for kind in Alert.Kind.values}


def test_period_closed_goes_to_the_owner_only(record, mailoutbox):
    """January: 4 GB used of 10 GB, rollover on: the lazy close on 2026-02-05 (grace over)
    rolls 6 GB; Olga alone gets "period closed" with the numbers."""
    family = make_family(rollover=True, roaming_allowance_bytes=0)
    record(family.paul, 4 * GB, at=datetime(2026, 1, 10, tzinfo=PARIS))
    mailoutbox.clear()
    record(family.max, 1 * GB, at=datetime(2026, 2, 5, tzinfo=PARIS))

    assert fired(family.household) == [("period_closed", "close:2026-01", 0, "2026-01")]
    alert = Alert.objects.get()
    assert alert.figures == {
        "used_bytes": 4 * GB,
        "overage_bytes": 0,
        "capped_bytes": 0,
        "beyond_fair_use_bytes": 0,
        "when_pool_is_empty": "overage",
        "rolled_bytes": 6 * GB,
        "expired_bytes": 0,
    }
    assert delivered_to(alert) == ["Olga"]
    subject = f"Datapool · {family.household.name}: Period closed"
    assert inbox(mailoutbox) == [("olga", subject)]
    assert (
        "Period 2026-01 is closed: 4.00\xa0GB used, 6.00\xa0GB rolled over, 0\xa0B expired."
        in mailoutbox[0].body
    )
    assert "Not covered by the pool" not in mailoutbox[0].body

    record(family.max, 1 * GB, at=datetime(2026, 2, 6, tzinfo=PARIS))  # announced once
    assert len(fired(family.household)) == 1


def test_inactive_members_get_nothing(record):
    family = make_family()
    gone = MemberFactory(household=family.household, display_name="Gone", active=False)
    record(family.paul, 8 * GB)
    assert delivered_to(Alert.objects.get()) == ["Lea", "Max", "Olga", "Paul"]
    assert not AlertDelivery.objects.filter(member=gone).exists()


def test_a_member_who_turned_a_kind_off_gets_none_the_others_still_do(record, mailoutbox):
    """Paul turns pool_low off: at 8 GB used the alert fires for Olga, Max and Léa only,
    and pool_empty (still on for him) reaches Paul too."""
    family = make_family()
    alerts.set_preferences(family.paul, disabled={"pool_low"})
    record(family.paul, 8 * GB)
    assert delivered_to(Alert.objects.get(kind="pool_low")) == ["Lea", "Max", "Olga"]
    assert sorted(m.to[0].split("-")[0] for m in mailoutbox) == ["lea", "max", "olga"]

    record(family.paul, 2 * GB)
    assert delivered_to(Alert.objects.get(kind="pool_empty")) == ["Lea", "Max", "Olga", "Paul"]


def test_the_owner_can_turn_cap_alerts_off_and_the_member_still_gets_them(record):
    family = make_family()
    alerts.set_preferences(family.owner, disabled={"cap_near", "cap_reached"})
    record(family.lea, 5 * GB)
    for kind in ("cap_near", "cap_reached"):
        assert delivered_to(Alert.objects.get(kind=kind)) == ["Lea"]


def test_preferences_page_turns_kinds_off_and_on_again(client, family):
    """Max unticks pool_low and roaming_low on his page; ticking them again turns them on."""
    client.force_login(family.max.user)
    page = client.get(reverse("usage:preferences"))
    assert page.status_code == 200
    form = page.context["form"]
    on_the_page = {name for name in form.fields if name.startswith("alert_")}
    assert on_the_page == set(ALL_ON) - {"alert_period_closed"}  # the owner's alone
    assert all(form[name].value() for name in on_the_page)  # all on at first

    off = {k: v for k, v in ALL_ON.items() if k not in {"alert_pool_low", "alert_roaming_low"}}
    response = client.post(reverse("usage:preferences"), {**off, "language": "fr"})
    assert response.status_code == 302
    assert set(family.max.alert_opt_outs.values_list("kind", flat=True)) == {
        "pool_low",
        "roaming_low",
    }
    family.max.refresh_from_db()
    assert family.max.language == "fr"

    client.post(reverse("usage:preferences"), {**ALL_ON, "language": ""})
    assert not family.max.alert_opt_outs.exists()
    family.max.refresh_from_db()
    assert family.max.language == ""


def test_the_owner_gets_period_closed_unless_they_turn_it_off_themselves(
    client, record, mailoutbox
):
    """Every other member turning everything off changes nothing for Olga; Olga's own
    POST without the "period closed" box stops it: the close is still recorded, with no
    delivery."""
    family = make_family(roaming_allowance_bytes=0)
    for member in (family.paul, family.max, family.lea):
        client.force_login(member.user)
        assert client.post(reverse("usage:preferences"), {"language": ""}).status_code == 302
    assert not AlertOptOut.objects.filter(member=family.owner).exists()

    record(family.paul, 1 * GB, at=datetime(2026, 1, 10, tzinfo=PARIS))
    record(family.paul, 1 * GB, at=datetime(2026, 2, 5, tzinfo=PARIS))  # closes January
    assert delivered_to(Alert.objects.get(kind="period_closed")) == ["Olga"]

    client.force_login(family.owner.user)
    assert client.get(reverse("usage:preferences")).context["form"]["alert_period_closed"].value()
    own_choice = {k: v for k, v in ALL_ON.items() if k != "alert_period_closed"}
    assert (
        client.post(reverse("usage:preferences"), {**own_choice, "language": ""}).status_code == 302
    )
    assert list(family.owner.alert_opt_outs.values_list("kind", flat=True)) == ["period_closed"]
    mailoutbox.clear()
    record(family.paul, 1 * GB, at=datetime(2026, 3, 5, tzinfo=PARIS))  # closes February
    assert fired(family.household, "period_closed")[-1][1] == "close:2026-02"
    assert delivered_to(Alert.objects.get(subject="close:2026-02")) == []
    assert mailoutbox == []


def test_a_member_who_becomes_owner_gets_period_closed_whatever_they_ticked_before(client, record):
    """Paul, a member, saves his page with every box unticked ("period closed" did not
    concern him). He then becomes the owner: the close is announced to him, since he
    never turned it off as an owner."""
    family = make_family(roaming_allowance_bytes=0)
    client.force_login(family.paul.user)
    assert client.post(reverse("usage:preferences"), {"language": ""}).status_code == 302
    Member.objects.filter(pk=family.owner.pk).update(role="member")
    Member.objects.filter(pk=family.paul.pk).update(role="owner")

    record(family.max, 1 * GB, at=datetime(2026, 1, 10, tzinfo=PARIS))
    record(family.max, 1 * GB, at=datetime(2026, 2, 5, tzinfo=PARIS))  # closes January
    assert delivered_to(Alert.objects.get(kind="period_closed")) == ["Paul"]


def test_unknown_kinds_are_refused():
    with pytest.raises(Refused) as refused:
        alerts.set_preferences(Member(), disabled={"pool_lo"})
    assert str(refused.value) == "alerts: unknown kind of alert (pool_lo)"


def test_a_member_cannot_store_a_period_closed_opt_out(family):
    """It is not theirs to turn off: the service keeps the rest of the choice only."""
    alerts.set_preferences(family.paul, disabled={"period_closed", "pool_low"})
    assert list(family.paul.alert_opt_outs.values_list("kind", flat=True)) == ["pool_low"]
    alerts.set_preferences(family.owner, disabled={"period_closed"})
    assert list(family.owner.alert_opt_outs.values_list("kind", flat=True)) == ["period_closed"]
