from django.contrib.admin.apps import AdminConfig


class DatapoolAdminConfig(AdminConfig):
    """The admin, with Datapool's own site (owners and superusers only)."""

    default_site = "config.admin.DatapoolAdminSite"
