import sys

from django.core.management.base import BaseCommand, CommandError

from usage.services import HouseholdFileRefused, import_household, read_household_file


class Command(BaseCommand):
    help = (
        "Create or update a household, its plan and its members from a JSON file "
        "(SPEC §3 household file). Idempotent; any problem and nothing changes."
    )
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("file", help="The household file (JSON), or - for standard input.")

    def handle(self, *args, file, **options):
        text = self._read(file, options.get("stdin") or sys.stdin)
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

    def _read(self, file: str, stdin) -> str:
        try:
            if file == "-":
                return stdin.read()
            with open(file, encoding="utf-8-sig") as stream:
                return stream.read()
        except FileNotFoundError:
            raise CommandError(f"file: no such file ({file})", returncode=1) from None
        except IsADirectoryError:
            raise CommandError(f"file: is a directory ({file})", returncode=1) from None
        except PermissionError:
            raise CommandError(f"file: cannot be read ({file})", returncode=1) from None
        except UnicodeDecodeError as error:
            raise CommandError(
                f"file: is not UTF-8 text ({file}: {error.reason})", returncode=1
            ) from None
