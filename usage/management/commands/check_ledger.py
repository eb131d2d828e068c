from django.core.management.base import BaseCommand, CommandError

from usage.ledger import find_violations


class Command(BaseCommand):
    help = "Verify every accounting invariant (SPEC R6); exit 1 listing each violation."

    def handle(self, *args, **options):
        violations = find_violations()
        for violation in violations:
            self.stderr.write(str(violation))
        if violations:
            raise CommandError(f"{len(violations)} violation(s) found.", returncode=1)
        if options["verbosity"] > 0:
            self.stdout.write(self.style.SUCCESS("Ledger clean: every invariant holds."))
