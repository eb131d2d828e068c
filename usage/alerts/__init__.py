"""Alerts (pool low or empty, caps, rolled-over data expiring, period closed).

``evaluate`` runs inside the transaction that changed the accounts, under the household
lock: it records each alert whose condition now holds and that has not fired yet for its
subject, threshold and period (a unique constraint backs this), with one delivery per
recipient. Emails go out after the commit and are retried by ``send_alerts``; a failed
email is logged and never undoes the usage that caused it.

``rules`` says when each kind fires (pure functions of the figures), ``thresholds`` what
they compare against, ``figures`` reads what they need, ``evaluation`` records what
fires, ``delivery`` emails it, ``notices`` shows it on the dashboard.
"""

from usage.alerts.daily import check_all
from usage.alerts.delivery import send_pending
from usage.alerts.evaluation import evaluate, evaluate_many
from usage.alerts.notices import NOTICE_DAYS, dismiss, notices
from usage.alerts.preferences import set_preferences
from usage.alerts.thresholds import Thresholds, thresholds

__all__ = [
    "NOTICE_DAYS",
    "Thresholds",
    "check_all",
    "dismiss",
    "evaluate",
    "evaluate_many",
    "notices",
    "send_pending",
    "set_preferences",
    "thresholds",
]
