"""The family's pages: dashboard, manual usage entry, history, my usage, alert
preferences and notices, and the owner's invitations. One function view per URL; the
views call selectors and services only."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from accounts.models import Member
from accounts.selectors import household_member
from accounts.services import send_invitation
from core.errors import Refused
from usage import alerts
from usage.selectors import (
    bank,
    closed_periods,
    coming_forfeit,
    fair_use,
    forecast,
    household_uncovered,
    member_uncovered,
    my_usage,
    period_uncovered,
    snapshot,
    uncovered_parts,
)
from usage.services import record_usage
from web.charts import history_chart
from web.decorators import member_required
from web.forms import PreferencesForm, RecordUsageForm
from web.http import MemberRequest, render_page

# The event the live region listens for ("usage-recorded from:body").
RECORDED = "usage-recorded"


def dashboard_context(request: MemberRequest, form: RecordUsageForm | None = None) -> dict:
    """The dashboard's figures: the pool, the member's own bar first, the forecast."""
    snap = snapshot(request.member.household)
    own = [m for m in snap.members if m.member.pk == request.member.pk]
    others = [m for m in snap.members if m.member.pk != request.member.pk]
    scale = max(
        [m.used_bytes for m in snap.members] + [m.cap_bytes or 0 for m in snap.members] + [1]
    )
    when_empty = snap.terms.when_pool_is_empty if snap.terms else None
    return {
        "snap": snap,
        "member_rows": [
            {
                "figures": m,
                "width": round(100 * m.used_bytes / scale, 1),
                "mine": m in own,
                "uncovered": member_uncovered(m, when_empty),
            }
            for m in own + others
        ],
        "uncovered": household_uncovered(snap),
        "bank": bank(snap),
        "forfeit": coming_forfeit(snap),
        "fair_use": fair_use(snap),
        "cap_scale": scale,
        "forecast": forecast(snap),
        "pending": snap.awaiting[-1] if snap.awaiting else None,
        "form": form or RecordUsageForm(),
        "is_owner": request.member.is_owner,
        "notices": alerts.notices(request.member),
    }


@require_GET
@vary_on_headers("HX-Request")
@member_required
def dashboard(request: MemberRequest) -> HttpResponse:
    """The household pool for the current period. HTMX asks only for the live region."""
    return render_page(request, "dashboard", dashboard_context(request), region="live")


def _recorded(request: MemberRequest, form: RecordUsageForm) -> bool:
    """Record the form's usage; a refusal becomes an error on the form."""
    if not form.is_valid():
        return False
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
    return form.is_valid()


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@member_required
def record(request: MemberRequest) -> HttpResponse:
    """Manual usage entry: the form region for HTMX, a redirect without JavaScript."""
    if request.method == "GET":
        return redirect("usage:dashboard")
    form = RecordUsageForm(request.POST)
    if _recorded(request, form):
        note = _("Recorded. The pool is up to date.")
        if not request.htmx:
            messages.success(request, note)
            return redirect("usage:dashboard")
        context = {"form": RecordUsageForm(), "note": note}
        response = render_page(request, "dashboard", context, region="record-form")
        return trigger_client_event(response, RECORDED)
    if request.htmx:
        return render_page(request, "dashboard", {"form": form}, region="record-form")
    return render_page(request, "dashboard", dashboard_context(request, form), status=422)


@require_GET
@vary_on_headers("HX-Request")
@member_required
def history(request: MemberRequest) -> HttpResponse:
    """The last 12 closed periods as a chart and as a table. The page has no region:
    an HTMX request gets the whole page too."""
    periods = closed_periods(request.member.household)
    chart = history_chart(list(reversed(periods)))
    rows = [{"figures": p, "uncovered": period_uncovered(p)} for p in periods]
    return render_page(request, "history", {"periods": periods, "rows": rows, "chart": chart})


@require_GET
@vary_on_headers("HX-Request")
@member_required
def my_usage_page(request: MemberRequest) -> HttpResponse:
    """The signed-in member's records this period, newest first; HTMX loads more."""
    usage = my_usage(request.member, page=request.GET.get("page"))
    rows = [
        {
            "record": r,
            "uncovered": uncovered_parts(
                overage=r.overage_bytes,
                capped=r.capped_bytes,
                beyond_fair_use=r.beyond_fair_use_bytes,
                when_pool_is_empty=usage.when_pool_is_empty,
                member_name=request.member.name,
            ),
        }
        for r in usage.page
    ]
    context = {"page": usage.page, "rows": rows, "period": usage.period, "zone": usage.zone}
    return render_page(request, "my_usage", context, region="record-rows")


@require_POST
@member_required
def dismiss_notice(request: MemberRequest, pk: int) -> HttpResponse:
    """Hide one alert notice; HTMX removes it in place, without JavaScript it redirects."""
    if not alerts.dismiss(request.member, pk):
        raise Http404
    if request.htmx:
        return HttpResponse("")
    return redirect("usage:dashboard")


@require_http_methods(["GET", "POST"])
@member_required
def preferences(request: MemberRequest) -> HttpResponse:
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
    return render_page(request, "preferences", {"form": form})


@require_POST
@member_required
def invite(request: MemberRequest, pk: int) -> HttpResponse:
    """Send a member without a password the link to choose one (owner only)."""
    member = household_member(request.member.household, pk)
    if member is None:
        raise Http404
    if request.member.role != Member.Role.OWNER:
        raise PermissionDenied(_("Only the plan owner can invite members."))
    try:
        send_invitation(member, base_url=request.build_absolute_uri("/").rstrip("/"))
        note = _("Invitation sent to %(email)s.") % {"email": member.user.email}
    except Refused as refused:
        note = str(refused.messages[0])
    if request.htmx:
        return HttpResponse(note)
    messages.info(request, note)
    return redirect("usage:dashboard")
