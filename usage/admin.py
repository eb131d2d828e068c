"""The owner's household page (calendar, plan, members, alert thresholds, period
close) and the usage audit. The household page lives in ``usage`` for its alert
thresholds inline (``AlertSettings`` is a usage model)."""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts import services as account_services
from accounts.admin import MemberInline, ScopedAdmin, save_members
from accounts.models import Household, Member
from core.admin import human
from core.periods import Period
from plans import selectors as plan_selectors
from plans import services as plan_services
from plans.admin import ReadOnlyAdmin
from plans.models import Plan, Terms
from usage.models import Alert, AlertDelivery, AlertSettings, Allocation, UsageRecord


class AlertSettingsInline(admin.StackedInline):
    model = AlertSettings
    extra = 0
    max_num = 1
    can_delete = False
    verbose_name_plural = (
        "Alert thresholds (empty: the defaults, 20 % pool, 80 % cap, 7 and 1 days)"
    )

    def has_add_permission(self, request, obj=None):
        return True

    def has_change_permission(self, request, obj=None):
        return True

    def has_view_permission(self, request, obj=None):
        return True


class HouseholdForm(forms.ModelForm):
    plan = forms.ModelChoiceField(
        queryset=Plan.objects.none(),
        required=False,
        help_text=(
            "A new plan applies from the next period (from the start period while the "
            "household has no activity yet); a period already opened keeps its terms."
        ),
    )

    class Meta:
        model = Household
        fields = ["name", "slug", "time_zone", "cycle_day", "start_period"]
        help_texts = {
            "time_zone": "An IANA name such as Europe/Paris. Fixed once there is usage or a pack.",
            "cycle_day": "The day of the month the carrier's billing period starts (1–28). "
            "Fixed once there is usage or a pack.",
            "start_period": "The first billing month (YYYY-MM) Datapool accounts for.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["plan"].queryset = Plan.objects.filter(household=self.instance)
            latest = plan_selectors.latest_terms(self.instance)
            self.fields["plan"].initial = latest.plan_id if latest else None
        else:
            self.fields.pop("plan")

    def clean(self):
        """A calendar change that the services would refuse shows on the form."""
        data = super().clean()
        if self.instance.pk and self.instance.calendar_fixed:
            for name in ("time_zone", "cycle_day", "start_period"):
                if name in self.changed_data:
                    self.add_error(name, "Cannot change once the household has usage or grants.")
        return data


@admin.register(Household)
class HouseholdAdmin(ScopedAdmin):
    form = HouseholdForm
    household_path = "pk"
    owner_can_change = True
    inlines = [MemberInline, AlertSettingsInline]
    list_display = [
        "name",
        "slug",
        "time_zone",
        "cycle_day",
        "start_period",
        "domestic_left",
        "grant_link",
    ]
    search_fields = ["name", "slug"]
    actions = ["close_ended_periods"]

    def has_add_permission(self, request, *args):
        return request.user.is_superuser  # an owner has one household

    def get_readonly_fields(self, request, obj=None):
        # The slug is set once, when a superuser adds the household: save_model only
        # renames and changes the calendar, so an editable slug would be dropped silently.
        return ["slug"] if obj is not None else []

    def get_fields(self, request, obj=None):
        """A new household has no plan yet: the form drops the field, so must the page."""
        fields = super().get_fields(request, obj)
        return fields if obj is not None else [f for f in fields if f != "plan"]

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:  # the list is about to render: its figures
            households = list(changelist.result_list)
            now = timezone.now()
            _open_current(households, now)
            left = plan_selectors.domestic_left(households, now=now)
            for household in households:
                household.domestic_left_bytes = left[household.pk]
        return response

    @admin.display(description="Domestic data left now")
    def domestic_left(self, household):
        return human(household.domestic_left_bytes)

    @admin.display(description="Packs")
    def grant_link(self, household):
        url = reverse("admin:plans_bucket_grant") + f"?household={household.pk}"
        return format_html('<a href="{}">Grant an add-on or a bonus</a>', url)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            created = account_services.create_household(
                slug=data["slug"],
                name=data["name"],
                start_period=data["start_period"],
                time_zone=data["time_zone"],
                cycle_day=data["cycle_day"],
            )
            obj.pk = created.pk
            return
        household = Household.objects.get(pk=obj.pk)
        account_services.update_household(household, name=data["name"])
        plan_services.change_calendar(
            household,
            time_zone=data["time_zone"],
            cycle_day=data["cycle_day"],
            start_period=data["start_period"],
        )
        plan = data.get("plan")
        latest = plan_selectors.latest_terms(household)
        if plan is not None and (latest is None or latest.plan_id != plan.pk):
            terms = plan_services.set_plan(household, plan)
            self.message_user(request, f"{plan} applies from {terms.period}.")

    def save_formset(self, request, form, formset, change):
        if formset.model is Member:
            save_members(request, Household.objects.get(pk=form.instance.pk), formset)
        else:
            super().save_formset(request, form, formset, change)

    @admin.action(description="Close ended periods now (shows what would roll and expire first)")
    def close_ended_periods(self, request, queryset):
        households = list(queryset)
        if "confirm" in request.POST:
            closed = failed = 0
            for household in households:
                report = plan_services.close_periods(household=household)
                closed += sum(len(r.closes) for r in report.results)
                failed += len(report.failures)
                for failure in report.failures:
                    self.message_user(
                        request, f"{failure.household}: {failure.error}", messages.ERROR
                    )
            self.message_user(request, f"Closed {closed} period(s); {failed} household(s) failed.")
            return None
        previews = [(h, plan_services.close_periods(household=h, dry_run=True)) for h in households]
        context = {
            **self.admin_site.each_context(request),
            "title": "Close ended periods now?",
            "previews": previews,
            "queryset": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/usage/close_confirm.html", context)


def _open_current(households: list[Household], now) -> None:
    """SPEC R1, as a status read does: open the period containing ``now`` of each
    household that has a plan and has not opened it yet."""
    planned = set(
        Terms.objects.filter(household__in=households).values_list("household_id", flat=True)
    )
    for household in households:
        current = household.period_of(now)
        opened = household.opened_through
        if household.pk not in planned or current < household.first_period:
            continue
        if not opened or Period.parse(opened) < current:
            plan_services.ensure_open(household, current)


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under their parent for the audit, never added or changed."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True


class AllocationInline(ReadOnlyInline):
    model = Allocation
    fields = ["bucket", "bytes"]


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = ["ref", "household", "member", "started_at", "zone", "used", "overage"]
    list_filter = [
        ("household", admin.RelatedOnlyFieldListFilter),
        ("member", admin.RelatedOnlyFieldListFilter),
        "period",
        "zone",
    ]
    search_fields = ["=ref", "ref"]
    date_hierarchy = "started_at"
    inlines = [AllocationInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("household", "member__user")

    @admin.display(description="Bytes")
    def used(self, record):
        return human(record.bytes)

    @admin.display(description="Overage")
    def overage(self, record):
        return human(record.overage_bytes) if record.overage_bytes else "—"


class AlertDeliveryInline(ReadOnlyInline):
    model = AlertDelivery
    fields = ["member", "sent_at", "attempts", "last_error", "dismissed_at"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["kind", "household", "subject", "threshold", "period", "created_at"]
    list_filter = [("household", admin.RelatedOnlyFieldListFilter), "kind", "period"]
    date_hierarchy = "created_at"
    inlines = [AlertDeliveryInline]
