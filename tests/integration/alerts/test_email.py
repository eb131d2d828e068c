"""Alert emails: the member's language, a link to the pool, sent only after the commit,
retried by ``send_alerts`` when the mail server fails, never breaking usage recording."""

from __future__ import annotations

import smtplib
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone, translation

from plans.services import lock_household
from tests.factories import GB, MB
from tests.integration.alerts.conftest import JAN_20, PARIS, fired, make_family
from usage import alerts
from usage.alerts import delivery as alert_delivery
from usage.models import Alert, AlertDelivery, AlertSettings, UsageRecord
from usage.services import Row, import_usage, record_usage
from usage.services import recording as recording_module

pytestmark = pytest.mark.django_db


def by_recipient(mailoutbox) -> dict[str, object]:
    return {m.to[0].split("-")[0]: m for m in mailoutbox}


def test_each_email_is_in_its_members_language(record, mailoutbox):
    """Léa reads French, Paul the site's default (English): the same alert, 2 GB left of
    10 GB, reads "2,00" with a decimal comma for her and "2.00 GB" for him."""
    family = make_family()
    family.lea.language = "fr"
    family.lea.save()
    record(family.paul, 8 * GB)

    mails = by_recipient(mailoutbox)
    with translation.override("fr"):  # whatever the French catalogue says today
        label_fr = str(Alert.Kind.POOL_LOW.label)
        hello_fr = translation.gettext("Hello %(name)s,") % {"name": "Lea"}
    assert mails["lea"].body.startswith(hello_fr + "\n")
    assert mails["paul"].body.startswith("Hello Paul,\n")
    assert family.household.name in mails["lea"].subject
    assert mails["lea"].subject.endswith(label_fr)
    assert mails["paul"].subject == f"Datapool · {family.household.name}: Domestic pool low"
    assert "2,00\xa0" in mails["lea"].body
    assert "10,0\xa0" in mails["lea"].body
    assert "2.00" not in mails["lea"].body
    assert "2.00\xa0GB left of 10.0\xa0GB" in mails["paul"].body
    for mail in mailoutbox:  # a link to the pool page, whatever the language
        assert "http://127.0.0.1:8000/\n" in mail.body
    assert translation.get_language() == "en"  # the override ended with the email


def test_the_subject_is_plain_text_not_html(record, mailoutbox):
    """A household called "Les O'Brien & Cie": the subject keeps its apostrophe and
    ampersand (no &#x27; or &amp;)."""
    family = make_family()
    family.household.name = "Les O'Brien & Cie"
    family.household.save()
    record(family.lea, 4 * GB)
    assert {m.subject for m in mailoutbox} == {
        "Datapool · Les O'Brien & Cie: Monthly cap nearly reached"
    }


def test_no_email_before_the_commit_and_none_if_it_rolls_back(
    family, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    """The alert is recorded inside the usage's transaction. If that transaction fails
    after it, neither the usage nor the alert nor any email survives."""
    real_evaluate = alerts.evaluate

    def evaluate_then_fail(*args, **kwargs):
        fired_now = real_evaluate(*args, **kwargs)
        assert [a.kind for a in fired_now] == ["pool_low"]
        assert mailoutbox == []  # not before the commit
        raise RuntimeError("the transaction fails after the alert")

    monkeypatch.setattr(recording_module.alerts, "evaluate", evaluate_then_fail)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        record_usage(family.paul, bytes=8 * GB, at=JAN_20, now=JAN_20)
    assert callbacks == []
    assert mailoutbox == []
    assert not Alert.objects.exists()
    assert not UsageRecord.objects.exists()


def test_an_alert_recorded_in_a_rolled_back_transaction_sends_nothing(
    family, record, mailoutbox, django_capture_on_commit_callbacks
):
    """Straight through evaluate. 8 GB used while the household warns only at 0 %, then
    it warns at 20 %: a transaction that evaluates (pool_low) and rolls back sends
    nothing and keeps nothing; the next one that commits sends the 4 emails."""
    settings = AlertSettings.objects.create(household=family.household, pool_low_percent=0)
    record(family.paul, 8 * GB)
    assert not Alert.objects.exists()
    settings.pool_low_percent = 20
    settings.save()

    def evaluate() -> list[str]:
        return [a.kind for a in alerts.evaluate(lock_household(family.household), now=JAN_20)]

    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        assert evaluate() == ["pool_low"]
        transaction.set_rollback(True)
    assert callbacks == []
    assert mailoutbox == []
    assert not Alert.objects.exists()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        assert evaluate() == ["pool_low"]
    assert len(mailoutbox) == 4


def test_a_dry_run_import_fires_and_sends_nothing(
    family, mailoutbox, django_capture_on_commit_callbacks
):
    row = Row(
        line=2,
        household=family.household.slug,
        username=family.paul.username,
        started_at="2026-01-20T09:00:00+01:00",
        bytes="9000000000",
        zone="domestic",
        ref="carrier-1",
    )
    with django_capture_on_commit_callbacks(execute=True):
        report = import_usage([row], dry_run=True, now=JAN_20)
    assert report.dry_run
    assert not Alert.objects.exists()
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        import_usage([row], now=JAN_20)
    assert fired(family.household) == [("pool_low", "domestic", 20, "2026-01")]
    assert len(mailoutbox) == 4


@pytest.mark.django_db(transaction=True)
def test_with_real_commits_the_email_leaves_after_the_commit(mailoutbox):
    """No test transaction around it: record_usage commits and the email goes out."""
    family = make_family()
    record_usage(family.lea, bytes=4 * GB, at=JAN_20, now=JAN_20)
    assert sorted(m.to[0].split("-")[0] for m in mailoutbox) == ["lea", "olga"]
    assert AlertDelivery.objects.filter(sent_at__isnull=True).count() == 0


def test_a_failed_email_is_logged_kept_and_retried_by_send_alerts(
    record, monkeypatch, mailoutbox, caplog
):
    """The mail server is down when Léa crosses 80 % of her cap: her usage is recorded,
    both deliveries keep sent_at empty with 1 attempt and the error. The next
    send_alerts, with the server back, sends both; a third run sends nothing."""
    family = make_family()

    def down(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(alert_delivery, "send_mail", down)
    record_ = record(family.lea, 4 * GB)
    assert UsageRecord.objects.get().pk == record_.pk
    assert Alert.objects.get().kind == "cap_near"
    deliveries = AlertDelivery.objects.order_by("member__user__username")
    assert [(d.member.name, d.sent_at, d.attempts, d.last_error) for d in deliveries] == [
        ("Lea", None, 1, "Connection unexpectedly closed"),
        ("Olga", None, 1, "Connection unexpectedly closed"),
    ]
    assert mailoutbox == []
    assert "alert email" in caplog.text and "Connection unexpectedly closed" in caplog.text

    monkeypatch.undo()
    later = datetime(2026, 1, 21, 7, tzinfo=PARIS)
    monkeypatch.setattr(timezone, "now", lambda: later)
    call_command("send_alerts", verbosity=0)
    assert sorted(m.to[0].split("-")[0] for m in mailoutbox) == ["lea", "olga"]
    assert [(d.sent_at, d.attempts, d.last_error) for d in deliveries.all()] == [
        (later, 2, ""),
        (later, 2, ""),
    ]
    call_command("send_alerts", verbosity=0)
    assert len(mailoutbox) == 2


def test_one_failing_address_does_not_stop_the_others(record, monkeypatch, mailoutbox):
    family = make_family()
    real = alert_delivery.send_mail

    def picky(subject, body, sender, to):
        if to[0].startswith("olga"):
            raise smtplib.SMTPRecipientsRefused({to[0]: (550, b"no such user")})
        return real(subject, body, sender, to)

    monkeypatch.setattr(alert_delivery, "send_mail", picky)
    record(family.paul, 8 * GB)
    assert sorted(m.to[0].split("-")[0] for m in mailoutbox) == ["lea", "max", "paul"]
    failed = AlertDelivery.objects.get(sent_at__isnull=True)
    assert (failed.member, failed.attempts) == (family.owner, 1)


def test_an_email_is_tried_at_most_alert_email_attempts_times(record, monkeypatch, settings):
    """ALERT_EMAIL_ATTEMPTS = 10: the try on commit and 9 send_alerts runs; the runs
    after that try nothing."""
    assert settings.ALERT_EMAIL_ATTEMPTS == 10
    family = make_family()
    family.owner.monthly_cap_bytes = 1 * GB
    family.owner.save()
    tries = []

    def down(subject, body, sender, to):
        tries.append(to[0])
        raise smtplib.SMTPException(f"try {len(tries)}")

    monkeypatch.setattr(alert_delivery, "send_mail", down)
    record(family.owner, 800 * MB)  # cap_near, to Olga alone
    assert len(tries) == 1
    for _ in range(9):
        call_command("send_alerts", verbosity=0)
    assert len(tries) == 10
    for _ in range(3):
        call_command("send_alerts", verbosity=0)
    assert len(tries) == 10
    delivery = AlertDelivery.objects.get()
    assert (delivery.sent_at, delivery.attempts, delivery.last_error) == (None, 10, "try 10")
    assert alerts.send_pending() == (0, 0)


def test_send_alerts_reports_what_it_did(record, monkeypatch, capsys):
    family = make_family()
    monkeypatch.setattr(
        alert_delivery, "send_mail", lambda *a: (_ for _ in ()).throw(OSError("down"))
    )
    record(family.lea, 4 * GB)  # 2 deliveries, both failed
    monkeypatch.undo()
    monkeypatch.setattr(timezone, "now", lambda: JAN_20)
    call_command("send_alerts")
    assert capsys.readouterr().out == "0 alert(s) fired; 2 email(s) sent, 0 failed.\n"


def test_a_member_without_an_email_address_still_sees_the_notice(record, mailoutbox):
    family = make_family()
    family.max.user.email = ""
    family.max.user.save()
    record(family.paul, 8 * GB)
    assert len(mailoutbox) == 3
    notices = alerts.notices(family.max, now=JAN_20)
    assert [n.alert.kind for n in notices] == ["pool_low"]


def test_notices_of_more_than_a_month_ago_leave_the_dashboard(record, mailoutbox):
    family = make_family()
    record(family.paul, 8 * GB)  # pool low on 20 January
    later = JAN_20 + timedelta(days=30)
    assert [n.alert.kind for n in alerts.notices(family.max, now=later)] == ["pool_low"]
    assert alerts.notices(family.max, now=JAN_20 + timedelta(days=32)) == []
