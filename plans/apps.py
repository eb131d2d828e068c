from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"
    verbose_name = "Plans, buckets and period closes"

    def ready(self) -> None:
        from plans import checks  # noqa: F401 - registers the system checks
