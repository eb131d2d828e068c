"""The owner's plans and the read-only audit of buckets, the ledger and closes."""

from plans.admin import buckets, plans
from plans.admin.audit import ReadOnlyAdmin

__all__ = ["ReadOnlyAdmin", "buckets", "plans"]
