import sys

from django.core.management.base import CommandError

from accounts.commands import HouseholdCommand
from accounts.models import Household
from core.db import collector_paused
from core.periods import Period
from core.units import format_bytes
from plans.services import close_periods

PROGRESS_FROM = 300  # households: below this a run is quick enough to need no bar


def amount(value: int) -> str:
    return f"{format_bytes(value)} ({value} bytes)"


class ProgressBar:
    """A one-line bar on the terminal's standard error, redrawn in place."""

    def __init__(self, total: int, stream) -> None:
        self.total, self.done, self.stream = total, 0, stream

    def __call__(self, count: int) -> None:
        self.done += count
        filled = 40 * self.done // max(self.total, 1)
        self.stream.write(f"\r[{'#' * filled}{'.' * (40 - filled)}] {self.done}/{self.total}")
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


class Command(HouseholdCommand):
    help = (
        "Close every period whose grace has passed (the month-end rollover), catching up "
        "on missed runs, and open every household's current period. Run it daily from cron; "
        "it is idempotent and safe on several hosts at once."
    )

    household_option = True

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--through", metavar="YYYY-MM", help="Close no period after this one.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Show what would be rolled and expired."
        )

    def handle(self, *args, through=None, dry_run=False, **options):
        verbosity = options["verbosity"]
        household = self.household(options)
        report = close_periods(
            through=self.period(through),
            household=household,
            dry_run=dry_run,
            progress=self.progress(household, verbosity),
            each_batch=collector_paused,  # memory stays flat over many households
        )
        if verbosity > 0:
            self.show_closes(report)
        for result in report.failures:
            self.stderr.write(f"{result.household.slug}: failed, nothing closed: {result.error}")
        if verbosity > 0:
            self.show_summary(report)
        if report.failures:
            raise CommandError(
                f"{len(report.failures)} household(s) failed to close.", returncode=1
            )

    def period(self, through: str | None) -> Period | None:
        try:
            return Period.parse(through) if through else None
        except ValueError as error:
            raise CommandError(f"--through: {error}") from None

    def progress(self, household, verbosity: int) -> ProgressBar | None:
        total = 1 if household else Household.objects.count()
        if verbosity > 0 and total > PROGRESS_FROM and sys.stderr.isatty():
            return ProgressBar(total, sys.stderr)
        return None

    def show_closes(self, report) -> None:
        would = "would close" if report.dry_run else "closed"
        for result in report.closed:
            periods = "; ".join(
                f"{c.period} rolled {amount(c.rolled_bytes)}, expired {amount(c.expired_bytes)}"
                for c in result.closes
            )
            self.stdout.write(f"{result.household.slug}: {would} {periods}")

    def show_summary(self, report) -> None:
        prefix = "Dry run, nothing written: " if report.dry_run else ""
        if not report.closed and not report.failures:
            self.stdout.write(
                f"{prefix}Nothing to close: every ended period is closed or in its grace."
            )
            return
        would = "would close" if report.dry_run else "closed"
        periods = sum(len(r.closes) for r in report.closed)
        rolled, expired = amount(report.rolled_bytes), amount(report.expired_bytes)
        self.stdout.write(
            f"{prefix}{len(report.closed)} household(s) {would} ({periods} period(s)), "
            f"rolled {rolled}, expired {expired}, {len(report.failures)} failed."
        )
