"""Plans, the terms in force per period, buckets, the ledger and period closes."""

from plans.models.buckets import Bucket, Zone
from plans.models.ledger import LedgerEntry, PeriodClose
from plans.models.terms import ConsumptionOrder, Plan, PlanFields, Terms

__all__ = [
    "Bucket",
    "ConsumptionOrder",
    "LedgerEntry",
    "PeriodClose",
    "Plan",
    "PlanFields",
    "Terms",
    "Zone",
]
