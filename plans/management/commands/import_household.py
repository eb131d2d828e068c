from django.core.management.base import CommandError

from core.commands import DatapoolCommand
from plans.services import HouseholdFileRefused, import_household, read_household_file


class Command(DatapoolCommand):
    help = (
        "Create or update a household, its plan and its members from a JSON file "
        "(SPEC §3 household file). Idempotent; any problem and nothing changes."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("file", help="The household file (JSON), or - for standard input.")

    def handle(self, *args, file, **options):
        with self.open_text(file, stdin=options.get("stdin")) as stream:
            text = stream.read()
        try:
            report = import_household(read_household_file(text))
        except HouseholdFileRefused as refused:
            problems = "\n".join(refused.problems)
            raise CommandError(f"{problems}\nNothing changed ({file}).", returncode=1) from None
        if options["verbosity"] == 0:
            return
        for line in report.lines():
            self.stdout.write(line)
        if report.changed:
            self.stdout.write(self.style.SUCCESS(report.summary()))
        else:
            self.stdout.write(
                f"{report.slug}: nothing to change, the household is as the file says."
            )
