"""The read-only audit of terms, the ledger and closes: nothing that moves bytes is edited."""

from django.contrib import admin

from accounts.admin import ScopedAdmin
from core.admin import human
from plans.models import LedgerEntry, PeriodClose, Terms


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
