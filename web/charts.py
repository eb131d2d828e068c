"""The history chart: server-rendered SVG geometry, no JavaScript."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

SERIES = [
    ("used_bytes", _("Used"), "used"),
    ("rolled_bytes", _("Rolled over"), "rolled"),
    ("expired_bytes", _("Expired"), "expired"),
    ("overage_bytes", _("Overage"), "overage"),
]
WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 720, 260, 16, 36, 8


def history_chart(periods: list) -> dict:
    """Grouped bars, one group per period (oldest on the left), one bar per series."""
    peak = max([getattr(p, name) for p in periods for name, _, _ in SERIES] + [1])
    group = (WIDTH - LEFT) / max(len(periods), 1)
    bar = group * 0.8 / len(SERIES)
    usable = HEIGHT - TOP - BOTTOM
    groups = []
    for index, period in enumerate(periods):
        x0 = LEFT + index * group + group * 0.1
        bars = []
        for n, (name, label, css) in enumerate(SERIES):
            value = getattr(period, name)
            height = usable * value / peak
            bars.append(
                {
                    "x": round(x0 + n * bar, 1),
                    "y": round(TOP + usable - height, 1),
                    "width": round(bar * 0.9, 1),
                    "height": round(height, 1),
                    "value": value,
                    "label": label,
                    "css": css,
                }
            )
        groups.append(
            {"period": period.period, "bars": bars, "label_x": round(x0 + group * 0.4, 1)}
        )
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "baseline": HEIGHT - BOTTOM,
        "label_y": HEIGHT - BOTTOM + 20,
        "groups": groups,
        "series": [{"label": label, "css": css} for _, label, css in SERIES],
    }
