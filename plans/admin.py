"""The owner's plans and the read-only audit of buckets, the ledger and closes."""

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from accounts.admin import ScopedAdmin
from accounts.selectors import owner_household
from core.admin import ByteAmountField, human
from core.errors import Refused
from plans import services
from plans.models import Bucket, LedgerEntry, PeriodClose, Plan, Terms, Zone
from plans.roaming import eu_minimum_roaming_bytes


class PlanForm(forms.ModelForm):
    monthly_allowance_bytes = ByteAmountField(
        label="Monthly allowance",
        required=False,
        help_text="Domestic data each period, e.g. 100GB. Leave empty for unlimited data.",
    )
    roaming_allowance_bytes = ByteAmountField(
        label="Roaming allowance",
        required=False,
        help_text="Roaming data each period, e.g. 10GB (0 or empty for none).",
    )
    rollover_cap_bytes = ByteAmountField(
        label="Rollover cap",
        required=False,
        help_text="At most this much rolls over each period. Empty: no cap.",
    )
    use_eu_minimum = forms.BooleanField(
        required=False,
        label="Set the roaming allowance to the EU minimum",
        help_text=(
            "EU fair-use rule: a plan with open data must include at least "
            "2 × its monthly price excluding VAT ÷ the regulated wholesale cap per GB "
            "of roaming data in the EU (2025: €1.30, 2026: €1.10, 2027 onwards: €1.00)."
        ),
    )

    class Meta:
        model = Plan
        fields = [
            "household",
            "name",
            "monthly_price",
            "monthly_allowance_bytes",
            "roaming_allowance_bytes",
            "use_eu_minimum",
            "rollover",
            "rollover_months",
            "rollover_cap_bytes",
            "consumption_order",
        ]
        help_texts = {
            "rollover_months": (
                "How many periods rolled-over data stays usable: 1 means only during "
                "the next period; 2 means the next two."
            ),
            "consumption_order": (
                "Which data is used first. Rolled-over data first: Chinese carriers, "
                "BASE, Vodafone UK, O2. Rolled-over data last (after the allowance, "
                "bonuses and add-ons): AT&T, T-Mobile, Telstra."
            ),
        }

    def clean(self):
        data = super().clean()
        if data.get("roaming_allowance_bytes") is None:
            data["roaming_allowance_bytes"] = 0
        if data.get("use_eu_minimum"):
            price = data.get("monthly_price")
            if price is None:
                self.add_error("monthly_price", "Needed to work out the EU minimum.")
            else:
                try:
                    data["roaming_allowance_bytes"] = eu_minimum_roaming_bytes(
                        price, timezone.now().year
                    )
                except ValueError as error:  # a negative price: a form error, not a 500
                    self.add_error("monthly_price", str(error))
        return data


@admin.register(Plan)
class PlanAdmin(ScopedAdmin):
    form = PlanForm
    owner_can_add = owner_can_change = True
    # On the form too: the EU minimum for the price saved (tick the box to use it).
    readonly_fields = ["eu_minimum"]
    list_display = [
        "name",
        "household",
        "allowance",
        "roaming",
        "rollover",
        "consumption_order",
        "eu_minimum",
    ]
    list_filter = [("household", admin.RelatedOnlyFieldListFilter), "rollover", "consumption_order"]
    search_fields = ["name"]

    @admin.display(description="Monthly allowance")
    def allowance(self, plan):
        return human(plan.monthly_allowance_bytes)

    @admin.display(description="Roaming")
    def roaming(self, plan):
        return human(plan.roaming_allowance_bytes)

    @admin.display(description="EU minimum roaming this year")
    def eu_minimum(self, plan):
        if plan.monthly_price is None:
            return "—"
        return human(eu_minimum_roaming_bytes(plan.monthly_price, timezone.now().year))

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        household = owner_household(request)
        if household is not None:
            initial.setdefault("household", household.pk)
        return initial

    def save_model(self, request, obj, form, change):
        """Through the services: editing a plan in use applies from the next period."""
        data = form.cleaned_data
        values = {name: data[name] for name in (*Plan.TERM_FIELDS, "name", "monthly_price")}
        if change:
            services.update_plan(Plan.objects.get(pk=obj.pk), **values)
        else:
            obj.pk = services.create_plan(data["household"], **values).pk


class ReadOnlyAdmin(ScopedAdmin):
    """The audit: nothing that moves bytes is edited or deleted in the admin."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(Terms)
class TermsAdmin(ReadOnlyAdmin):
    list_display = [
        "household",
        "period",
        "plan",
        "allowance",
        "rollover",
        "rollover_months",
        "consumption_order",
    ]
    list_filter = [("household", admin.RelatedOnlyFieldListFilter)]

    @admin.display(description="Monthly allowance")
    def allowance(self, terms):
        return human(terms.monthly_allowance_bytes)


class GrantForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("addon", "Add-on (purchased pack)"), ("bonus", "Bonus (promotion)")]
    )
    zone = forms.ChoiceField(choices=Zone.choices)
    amount = ByteAmountField(label="Amount", allow_empty=False, help_text="e.g. 5GB or 500MB")
    at = forms.DateTimeField(
        label="Valid from",
        required=False,
        help_text="Empty: now. In the household's time zone.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    expires_at = forms.DateTimeField(
        label="Expires at",
        required=False,
        help_text="Empty: the end of the period it starts in.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    note = forms.CharField(max_length=200, required=False)


class ExtendForm(forms.Form):
    expires_at = forms.DateTimeField(
        label="New expiry",
        help_text="In the household's time zone; later than the current expiry.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    note = forms.CharField(max_length=120, required=False, label="Why (e.g. the promotion)")


def show_refusal(form: forms.Form, error: ValidationError, fields: dict[str, str]) -> None:
    """Put a service's refusal beside the form field it names (``fields`` maps the
    service's argument to the form's field); otherwise above the form, naming it."""
    field = fields.get(getattr(error, "field", None))
    if field is not None:
        form.add_error(field, error.messages[0])
    else:
        form.add_error(None, str(error) if isinstance(error, Refused) else error.messages[0])


GRANT_FIELDS = {
    "kind": "kind",
    "zone": "zone",
    "bytes": "amount",
    "at": "at",
    "expires_at": "expires_at",
    "note": "note",
}


def naive(value: datetime | None) -> datetime | None:
    """A form's time as typed: read later in the household's zone, not the server's."""
    return None if value is None else timezone.make_naive(value).replace(tzinfo=None)


@admin.register(Bucket)
class BucketAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "household",
        "kind",
        "zone",
        "granted",
        "left",
        "valid_from",
        "expires_at",
    ]
    list_filter = [("household", admin.RelatedOnlyFieldListFilter), "kind", "zone", "period"]
    search_fields = ["note", "period"]
    date_hierarchy = "valid_from"
    actions = ["extend_expiry"]

    @admin.display(description="Granted")
    def granted(self, bucket):
        return human(bucket.granted_bytes)

    @admin.display(description="Left")
    def left(self, bucket):
        return human(bucket.left_bytes)

    def get_urls(self):
        return [
            path("grant/", self.admin_site.admin_view(self.grant_view), name="plans_bucket_grant"),
            *super().get_urls(),
        ]

    def grant_view(self, request):
        """Grant an add-on or a bonus through ``plans.services.grant``."""
        household = owner_household(request)
        if household is None and request.user.is_superuser:
            from accounts.models import Household

            household = Household.objects.filter(pk=request.GET.get("household")).first()
        if household is None:
            self.message_user(request, "Open the grant form from a household.", messages.ERROR)
            return redirect("admin:index")
        form = GrantForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                bucket = services.grant(
                    household,
                    kind=data["kind"],
                    zone=data["zone"],
                    bytes=data["amount"],
                    at=naive(data["at"]),
                    expires_at=naive(data["expires_at"]),
                    note=data["note"],
                )
            except ValidationError as error:
                show_refusal(form, error, GRANT_FIELDS)
            else:
                self.message_user(request, f"Granted {human(bucket.granted_bytes)} ({bucket}).")
                return redirect(reverse("admin:plans_bucket_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Grant an add-on or a bonus to {household}",
            "form": form,
            "household": household,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/plans/grant_form.html", context)

    @admin.action(description="Extend the expiry of the selected rollover bucket (a promotion)")
    def extend_expiry(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one rollover bucket.", messages.WARNING)
            return None
        bucket = queryset.get()
        form = ExtendForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                services.extend_expiry(
                    bucket,
                    expires_at=naive(form.cleaned_data["expires_at"]),
                    note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                show_refusal(form, error, {"expires_at": "expires_at", "note": "note"})
            else:
                self.message_user(request, f"{bucket}: expiry extended.")
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": f"Extend the expiry of {bucket}",
            "form": form,
            "bucket": bucket,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/plans/extend_form.html", context)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "household", "kind", "bucket", "amount", "at", "usage_record_id", "note"]
    list_filter = [
        ("household", admin.RelatedOnlyFieldListFilter),
        "kind",
        "bucket__zone",
        "bucket__kind",
    ]
    search_fields = ["note", "=usage_record_id"]
    date_hierarchy = "at"

    @admin.display(description="Bytes")
    def amount(self, entry):
        return human(entry.bytes) if entry.bytes is not None or entry.kind == "grant" else "—"


@admin.register(PeriodClose)
class PeriodCloseAdmin(ReadOnlyAdmin):
    list_display = ["household", "period", "unused", "rolled", "expired", "closed_at"]
    list_filter = [("household", admin.RelatedOnlyFieldListFilter), "period"]
    date_hierarchy = "closed_at"

    @admin.display(description="Unused allowance")
    def unused(self, close):
        return human(close.unused_bytes)

    @admin.display(description="Rolled over")
    def rolled(self, close):
        return human(close.rolled_bytes)

    @admin.display(description="Expired")
    def expired(self, close):
        return human(close.expired_bytes)
