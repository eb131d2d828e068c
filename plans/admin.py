from django.contrib import admin

from plans.models import Bucket, LedgerEntry, PeriodClose, Plan, Terms


class ReadOnlyAdmin(admin.ModelAdmin):
    """Movements of bytes are never edited by hand: corrections are new entries."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "household", "monthly_allowance_bytes", "rollover", "consumption_order"]
    list_filter = ["household"]


@admin.register(Terms)
class TermsAdmin(ReadOnlyAdmin):
    list_display = ["household", "period", "plan", "monthly_allowance_bytes", "rollover"]
    list_filter = ["household"]


@admin.register(Bucket)
class BucketAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "household",
        "granted_bytes",
        "left_bytes",
        "valid_from",
        "expires_at",
    ]
    list_filter = ["household", "kind", "zone"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "household", "kind", "bucket", "bytes", "at"]
    list_filter = ["household", "kind"]


@admin.register(PeriodClose)
class PeriodCloseAdmin(ReadOnlyAdmin):
    list_display = [
        "household",
        "period",
        "unused_bytes",
        "rolled_bytes",
        "expired_bytes",
        "closed_at",
    ]
    list_filter = ["household"]
