"""Human units in pages, in the reader's language: ``{{ value|bytes }}``."""

from datetime import timedelta
from decimal import Decimal

from django import template
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

register = template.Library()


@register.filter(name="bytes")
def human_bytes(value):
    """``12.3 GB`` (``12,3 Go`` in French); ``None`` is unlimited data."""
    if value is None:
        return _("unlimited")
    binary = settings.DATAPOOL_BINARY_UNITS
    step = 1024 if binary else 1000
    units = (
        [
            pgettext("unit", "B"),
            pgettext("unit", "KiB"),
            pgettext("unit", "MiB"),
            pgettext("unit", "GiB"),
            pgettext("unit", "TiB"),
        ]
        if binary
        else [
            pgettext("unit", "B"),
            pgettext("unit", "kB"),
            pgettext("unit", "MB"),
            pgettext("unit", "GB"),
            pgettext("unit", "TB"),
        ]
    )
    amount = Decimal(abs(int(value)))
    index = 0
    while amount >= step and index < len(units) - 1:
        amount /= step
        index += 1
    digits = 0 if index == 0 else 2 if amount < 10 else 1 if amount < 100 else 0
    sign = "−" if value < 0 else ""
    return f"{sign}{number_format(amount, digits, use_l10n=True)}\u00a0{units[index]}"


@register.filter
def days_from(moment, now):
    """Whole days from ``now`` until ``moment``, counting a started day (0 if past)."""
    seconds = (moment - now).total_seconds()
    return max(0, -int(-seconds // 86400))


@register.filter
def last_day(moment):
    """The last instant before an exclusive end, to show the last day something counts."""
    return moment - timedelta(microseconds=1)
