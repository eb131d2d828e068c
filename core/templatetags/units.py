"""Human units in pages, in the reader's language: ``{{ value|bytes }}``."""

from datetime import timedelta

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from core.units import scale

register = template.Library()


@register.filter(name="bytes")
def human_bytes(value):
    """``12.3 GB`` (``12,3 Go`` in French); ``None`` is unlimited data."""
    if value is None:
        return _("unlimited")
    amount, unit = scale(int(value))
    digits = max(0, -amount.as_tuple().exponent)
    sign = "−" if amount < 0 else ""
    return f"{sign}{number_format(abs(amount), digits, use_l10n=True)}\u00a0{unit.name}"


@register.filter
def days_from(moment, now):
    """Whole days from ``now`` until ``moment``, counting a started day (0 if past)."""
    seconds = (moment - now).total_seconds()
    return max(0, -int(-seconds // 86400))


@register.filter
def last_day(moment):
    """The last instant before an exclusive end, to show the last day something counts."""
    return moment - timedelta(microseconds=1)
