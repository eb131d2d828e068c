"""The owner's plans, saved through the services."""

from django.contrib import admin
from django.utils import timezone

from accounts.admin import ScopedAdmin
from accounts.selectors import owner_household
from core.admin import human
from plans import services
from plans.admin.plan_form import ORDER_FIELDS, PlanForm
from plans.models import Plan
from plans.roaming import eu_minimum_roaming_bytes
from plans.rules import order_as_list


@admin.register(Plan)
class PlanAdmin(ScopedAdmin):
    form = PlanForm
    owner_can_add = owner_can_change = True
    # On the form too: the EU minimum for the price saved (tick the box to use it).
    readonly_fields = ["eu_minimum"]
    fieldsets = [
        (None, {"fields": ["household", "name", "monthly_price"]}),
        ("Data each period", {"fields": ["monthly_allowance_bytes", "when_pool_is_empty"]}),
        (
            "Rollover",
            {
                "fields": [
                    "rollover",
                    "rollover_months",
                    "rollover_cap_bytes",
                    "rollover_bank_cap_bytes",
                    "rollover_on_plan_change",
                ]
            },
        ),
        (
            "Which data is used first",
            {
                "fields": ["consumption_order", ORDER_FIELDS],
                "description": (
                    "Pick one of the usual orders, or “In the order set below” and put each "
                    "of the four kinds in one place."
                ),
            },
        ),
        (
            "Roaming",
            {
                "fields": [
                    "roaming_mode",
                    "roaming_allowance_bytes",
                    "use_eu_minimum",
                    "roaming_fair_use_bytes",
                    "use_eu_minimum_fair_use",
                    "eu_minimum",
                ]
            },
        ),
    ]
    list_display = [
        "name",
        "household",
        "allowance",
        "roaming",
        "rollover",
        "order",
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

    @admin.display(description="Which data is used first", ordering="consumption_order")
    def order(self, plan):
        return " → ".join(order_as_list(plan.consumption_order))

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
