import json

from accounts.commands import HouseholdCommand
from core.units import format_bytes
from usage.selectors import pool_status


def terms_line(terms: dict) -> str:
    """SPEC R12: the carrier terms in one line."""
    roaming = terms["roaming_mode"]
    if roaming == "from_domestic":
        roaming += f" (fair use {format_bytes(terms['roaming_fair_use_bytes'])})"
    bank = terms["rollover_bank_cap_bytes"]
    return (
        f"Terms: order {', '.join(terms['consumption_order'])}; roaming {roaming}; "
        f"bank cap {'none' if bank is None else format_bytes(bank)}; "
        f"on plan change {terms['rollover_on_plan_change']}; "
        f"when empty {terms['when_pool_is_empty']}"
    )


class Command(HouseholdCommand):
    help = "The household pool for the current period, as text or as JSON (closes nothing)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--json", action="store_true", help="Print the SPEC's JSON shape.")

    def handle(self, *args, **options):
        status = pool_status(self.household(options))
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2))
            return
        write = self.stdout.write
        remaining = status["remaining_bytes"]
        write(f"{status['household']} — period {status['period']}")
        write(f"  Domestic left: {format_bytes(remaining['domestic'])}")
        write(f"  Roaming left:  {format_bytes(remaining['roaming'])}")
        write(f"  Rolled over:   {format_bytes(status['rollover_remaining_bytes'])}")
        if terms := status["terms"]:
            write("  " + terms_line(terms))
        write("  Buckets:")
        for b in status["buckets"]:
            write(
                f"    {b['kind']:<9} {b['zone']:<8} {format_bytes(b['remaining_bytes']):>10} left "
                f"of {format_bytes(b['granted_bytes'])}, until {b['expires_at']}"
            )
        write("  Members:")
        for m in status["members"]:
            cap = (
                ""
                if m["cap_bytes"] is None
                else f" (cap {format_bytes(m['cap_bytes'])}, {m['cap_action']})"
            )
            overage = f", overage {format_bytes(m['overage_bytes'])}" if m["overage_bytes"] else ""
            write(f"    {m['username']:<16} used {format_bytes(m['used_bytes'])}{overage}{cap}")
        for p in status["awaiting_close"]:
            write(
                f"  {p['period']} awaits its close (after {p['closes_after']}): used "
                f"{format_bytes(p['used_bytes'])}, {format_bytes(p['pending_rollover_bytes'])} "
                "to roll over"
            )
        if status["history"]:
            write("  History:")
        for p in status["history"]:
            write(
                f"    {p['period']}: used {format_bytes(p['used_bytes'])}, rolled "
                f"{format_bytes(p['rolled_bytes'])}, expired {format_bytes(p['expired_bytes'])}, "
                f"overage {format_bytes(p['overage_bytes'])}"
            )
