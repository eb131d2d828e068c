from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from accounts.models import Household
from usage.demo import PEOPLE, SLUG, build_demo, remove_demo


class Command(BaseCommand):
    help = "Create a demo household with a few months of usage and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any household exists."
        )
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo household first, then rebuild it."
        )
        parser.add_argument("--force", action="store_true", help="Run even when DEBUG is off.")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError("demo is for development: DEBUG is off (use --force to run anyway).")
        if options["if_empty"] and Household.objects.exists():
            self.stdout.write("Households exist already; no demo data added.")
            self._print_logins()
            return
        if options["reset"] and remove_demo():
            self.stdout.write("Demo household deleted.")
        if Household.objects.filter(slug=SLUG).exists():
            raise CommandError(f"household: a household with slug {SLUG!r} exists already")
        # The demo's months of alerts are shown on the dashboard, not emailed.
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            household, logins = build_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo household {household.name!r} created."))
        self._print_logins(logins)

    def _print_logins(self, logins=None):
        if not Household.objects.filter(slug=SLUG).exists():
            return
        logins = logins or [(u, f"demo-{u}") for u, *_ in PEOPLE]
        self.stdout.write("Open http://127.0.0.1:8000/ and sign in as:")
        for username, password in logins:
            self.stdout.write(f"  {username} / {password}")
