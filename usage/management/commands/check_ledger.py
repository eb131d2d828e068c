from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import household_by_slug
from usage.ledger import find_violations


class Command(BaseCommand):
    help = "Verify every accounting invariant (SPEC R6); exit 1 listing each violation."

    def add_arguments(self, parser):
        parser.add_argument("--household", metavar="SLUG", help="Check only this household.")

    def handle(self, *args, household=None, **options):
        try:
            household = household_by_slug(household) if household else None
        except ValidationError as error:
            raise CommandError(str(error)) from None
        violations = find_violations(household)
        for violation in violations:
            self.stderr.write(str(violation))
        if violations:
            raise CommandError(f"{len(violations)} violation(s) found.", returncode=1)
        if options["verbosity"] > 0:
            self.stdout.write(self.style.SUCCESS("Ledger clean: every invariant holds."))
