from django.core.management.base import CommandError

from core.commands import DatapoolCommand
from core.db import collector_paused
from core.units import format_bytes
from usage.services import ImportRefused, import_usage, read_rows


class Command(DatapoolCommand):
    help = (
        "Import the carrier's usage export (CSV: household,username,started_at,bytes,zone,ref). "
        "All or nothing: any bad row and nothing is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file, or - for standard input.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and allocate, then write nothing."
        )

    def handle(self, *args, file, dry_run=False, **options):
        try:
            # A batch job, never a web request: the collector may pause while it runs.
            with self.open_text(file, newline="") as stream, collector_paused():
                report = import_usage(read_rows(stream), dry_run=dry_run)
        except ImportRefused as refused:
            for problem in refused.problems:
                self.stderr.write(problem)
            raise CommandError(
                f"Nothing imported: {len(refused.problems)} problem(s) in {file}.", returncode=1
            ) from None
        if options["verbosity"] == 0:
            return
        prefix = "Dry run, nothing written: would import" if dry_run else "Imported"
        self.stdout.write(
            f"{prefix} {report.imported} record(s); skipped {report.duplicates} already recorded."
        )
        for slug, used in sorted(report.bytes_by_household.items()):
            overage = report.overage_by_household[slug]
            self.stdout.write(
                f"  {slug}: {format_bytes(used)} ({used} bytes), "
                f"overage {format_bytes(overage)} ({overage} bytes)"
            )
