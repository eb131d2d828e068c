"""Plans, the terms in force per period, buckets, the ledger and period closes."""

from plans.models.buckets import Bucket, Zone
from plans.models.ledger import LedgerEntry, PeriodClose
from plans.models.terms import (
    CONSUMPTION_ORDERS,
    ConsumptionOrder,
    Plan,
    PlanFields,
    RoamingMode,
    RolloverOnPlanChange,
    Terms,
    WhenPoolIsEmpty,
)

__all__ = [
    "CONSUMPTION_ORDERS",
    "Bucket",
    "ConsumptionOrder",
    "LedgerEntry",
    "PeriodClose",
    "Plan",
    "PlanFields",
    "RoamingMode",
    "RolloverOnPlanChange",
    "Terms",
    "WhenPoolIsEmpty",
    "Zone",
]
