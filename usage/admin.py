from django.contrib import admin

from plans.admin import ReadOnlyAdmin
from usage.models import UsageRecord


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = ["ref", "household", "member", "started_at", "zone", "bytes", "overage_bytes"]
    list_filter = ["household", "zone", "period"]
    search_fields = ["ref"]
