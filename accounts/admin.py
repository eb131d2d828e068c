from django.contrib import admin

from accounts.models import Household, Member


class MemberInline(admin.TabularInline):
    model = Member
    extra = 0
    fields = ["user", "display_name", "role", "monthly_cap_bytes", "cap_action", "active"]
    raw_id_fields = ["user"]


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "cycle_day", "start_period", "opened_through"]
    search_fields = ["name", "slug"]
    inlines = [MemberInline]


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["user", "household", "role", "monthly_cap_bytes", "cap_action", "active"]
    list_filter = ["household", "role", "active"]
