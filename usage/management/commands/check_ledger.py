from django.core.management.base import CommandError

from accounts.commands import HouseholdCommand
from usage.ledger import find_violations


class Command(HouseholdCommand):
    help = "Verify every accounting invariant (SPEC R6); exit 1 listing each violation."

    household_option = True

    def handle(self, *args, **options):
        violations = find_violations(self.household(options))
        for violation in violations:
            self.stderr.write(str(violation))
        if violations:
            raise CommandError(f"{len(violations)} violation(s) found.", returncode=1)
        if options["verbosity"] > 0:
            self.stdout.write(self.style.SUCCESS("Ledger clean: every invariant holds."))
