"""The family's pages: dashboard, manual usage entry, history and my usage."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.decorators import member_required
from core.errors import Refused
from usage import alerts
from usage.charts import history_chart
from usage.forms import PreferencesForm, RecordUsageForm
from usage.models import UsageRecord
from usage.selectors import forecast, snapshot
from usage.services import record_usage

HISTORY_PERIODS = 12
RECORDS_PER_PAGE = 20


def dashboard_context(request, form=None) -> dict:
    snap = snapshot(request.member.household)
    own = [m for m in snap.members if m.member.pk == request.member.pk]
    others = [m for m in snap.members if m.member.pk != request.member.pk]
    scale = max(
        [m.used_bytes for m in snap.members] + [m.cap_bytes or 0 for m in snap.members] + [1]
    )
    return {
        "snap": snap,
        "member_rows": [
            {"figures": m, "width": round(100 * m.used_bytes / scale, 1), "mine": m in own}
            for m in own + others
        ],
        "cap_scale": scale,
        "forecast": forecast(snap),
        "pending": snap.awaiting[-1] if snap.awaiting else None,
        "form": form or RecordUsageForm(),
        "is_owner": request.member.role == "owner",
        "notices": alerts.notices(request.member),
    }


@require_GET
@vary_on_headers("HX-Request")
@member_required
def dashboard(request):
    """The household pool for the current period. HTMX asks only for the live region."""
    template = "usage/dashboard.html#live" if request.htmx else "usage/dashboard.html"
    return render(request, template, dashboard_context(request))


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@member_required
def record(request):
    """Manual usage entry: the form region for HTMX, a redirect without JavaScript."""
    if request.method == "GET":
        return redirect("usage:dashboard")
    form = RecordUsageForm(request.POST)
    if form.is_valid():
        try:
            record_usage(
                request.member,
                bytes=form.bytes(),
                zone=form.cleaned_data["zone"],
                at=form.cleaned_data["at"],
            )
        except Refused as refused:
            form.add_error(RecordUsageForm.FIELD_OF.get(refused.field), refused.messages[0])
        except ValidationError as error:
            form.add_error(None, error)
    if form.is_valid():
        note = _("Recorded. The pool is up to date.")
        if not request.htmx:
            messages.success(request, note)
            return redirect("usage:dashboard")
        response = render(
            request, "usage/dashboard.html#record-form", {"form": RecordUsageForm(), "note": note}
        )
        response["HX-Trigger"] = "usage-recorded"
        return response
    if request.htmx:
        return render(request, "usage/dashboard.html#record-form", {"form": form})
    return render(request, "usage/dashboard.html", dashboard_context(request, form), status=422)


@require_GET
@vary_on_headers("HX-Request")
@member_required
def history(request):
    """The last 12 closed periods as a chart and as a table."""
    snap = snapshot(request.member.household)
    periods = snap.history[:HISTORY_PERIODS]
    return render(
        request,
        "usage/history.html",
        {"periods": periods, "chart": history_chart(list(reversed(periods))), "snap": snap},
    )


@require_GET
@vary_on_headers("HX-Request")
@member_required
def my_usage(request):
    """The signed-in member's records this period, newest first; HTMX loads more."""
    household = request.member.household
    period = household.period_of(timezone.now())
    records = UsageRecord.objects.filter(member=request.member, period=period.key).order_by(
        "-started_at", "-id"
    )
    page = Paginator(records, RECORDS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "period": period, "zone": household.calendar.zone}
    template = "usage/my_usage.html#record-rows" if request.htmx else "usage/my_usage.html"
    return render(request, template, context)


@require_POST
@member_required
def dismiss_notice(request, pk: int):
    """Hide one alert notice; HTMX removes it in place, without JavaScript it redirects."""
    if not alerts.dismiss(request.member, pk):
        raise Http404
    if request.htmx:
        return HttpResponse("")
    return redirect("usage:dashboard")


@require_http_methods(["GET", "POST"])
@member_required
def preferences(request):
    """Which alerts the member gets, and in which language."""
    form = PreferencesForm(request.POST or None, member=request.member)
    if request.method == "POST" and form.is_valid():
        alerts.set_preferences(
            request.member,
            disabled=form.disabled_kinds(),
            language=form.cleaned_data["language"],
        )
        messages.success(request, _("Preferences saved."))
        return redirect("usage:preferences")
    return render(request, "usage/preferences.html", {"form": form})
