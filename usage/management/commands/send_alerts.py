from django.core.management.base import BaseCommand

from usage.alerts import check_all, send_pending


class Command(BaseCommand):
    help = (
        "The daily alerts run: rolled-over data expiring soon, closes not yet announced, "
        "and a new try for every alert email that failed. Run it right after rollover."
    )

    def handle(self, *args, **options):
        fired = check_all()
        sent, failed = send_pending()
        if options["verbosity"] > 0:
            self.stdout.write(f"{fired} alert(s) fired; {sent} email(s) sent, {failed} failed.")
