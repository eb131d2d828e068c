"""Datapool's admin site: for plan owners (their own household) and superusers."""

from django import forms
from django.contrib import admin
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import Member
from accounts.selectors import owner_household
from usage.selectors import snapshot


class OwnerAuthenticationForm(AuthenticationForm):
    """The admin's sign-in: plan owners are not staff, so Django's own admin form (which
    only lets staff in) would turn every owner away."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_owner": _(
            "Please enter the username and password of a plan owner. Note that both "
            "fields may be case-sensitive."
        ),
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        owns = Member.objects.filter(user=user, role=Member.Role.OWNER, active=True).exists()
        if not (user.is_superuser or owns):
            raise forms.ValidationError(self.error_messages["not_owner"], code="not_owner")


class DatapoolAdminSite(admin.AdminSite):
    site_header = _("Datapool — plan owner")
    site_title = _("Datapool admin")
    index_title = _("Your household")
    index_template = "admin/datapool_index.html"
    login_form = OwnerAuthenticationForm

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
