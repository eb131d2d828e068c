"""Buckets: the audit, and the owner's grant and expiry extension."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from accounts.models import Household
from accounts.selectors import owner_household
from core.admin import human
from plans import services
from plans.admin.audit import ReadOnlyAdmin
from plans.admin.forms import GRANT_FIELDS, ExtendForm, GrantForm, naive, show_refusal
from plans.models import Bucket


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
                    rolls_over=data["rolls_over"],
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
