from datetime import datetime

from django.core.management.base import CommandError

from accounts.commands import HouseholdCommand
from core.units import format_bytes, parse_bytes
from plans.models import Bucket, Zone
from plans.services import grant


def parse_time(option: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option}: must be an ISO 8601 date and time ({text})") from None


class Command(HouseholdCommand):
    help = "Grant an add-on pack or a bonus to a household (SPEC R2)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--kind", required=True, choices=[Bucket.Kind.ADDON.value, Bucket.Kind.BONUS.value]
        )
        parser.add_argument("--zone", required=True, choices=list(Zone.values))
        parser.add_argument(
            "--bytes", required=True, dest="amount", help="Bytes, or with a unit: 500MB, 5GB."
        )
        parser.add_argument(
            "--at", help="Valid from (ISO 8601; without an offset: the household's time zone)."
        )
        parser.add_argument(
            "--expires-at", help="Expiry (ISO 8601); default: the end of the period of --at."
        )
        parser.add_argument("--note", default="")
        parser.add_argument(
            "--rolls-over",
            action="store_true",
            help="A domestic pack that rolls over with the monthly data (SPEC R11).",
        )

    def handle(self, *args, kind, zone, amount, at, expires_at, note, rolls_over, **options):
        household = self.household(options)
        bucket = grant(
            household,
            kind=kind,
            zone=zone,
            bytes=parse_bytes("--bytes", amount),
            at=parse_time("--at", at),
            expires_at=parse_time("--expires-at", expires_at),
            note=note,
            rolls_over=rolls_over,
        )
        zone_info = household.calendar.zone
        self.stdout.write(
            f"Granted {bucket.get_kind_display().lower()} bucket #{bucket.pk} to {household.slug}: "
            f"{format_bytes(bucket.granted_bytes)} ({bucket.granted_bytes} bytes) {bucket.zone}, "
            f"valid from {bucket.valid_from.astimezone(zone_info).isoformat()} "
            f"until {bucket.expires_at.astimezone(zone_info).isoformat()}."
        )
