"""Datapool's admin site: for plan owners (their own household) and superusers."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.selectors import owner_household
from usage.selectors import snapshot


class DatapoolAdminSite(admin.AdminSite):
    site_header = _("Datapool — plan owner")
    site_title = _("Datapool admin")
    index_title = _("Your household")
    index_template = "admin/datapool_index.html"

    def has_permission(self, request):
        """Only active plan owners and superusers reach the admin."""
        user = request.user
        if not user.is_active:
            return False
        return user.is_superuser or owner_household(request) is not None

    def index(self, request, extra_context=None):
        """The index shows the owner's pool at a glance above the models."""
        household = owner_household(request)
        extra = {"pool": snapshot(household) if household else None, **(extra_context or {})}
        return super().index(request, extra)
