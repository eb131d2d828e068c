"""The plans rules of the SPEC, each a pure function of plain values for one household.

No Django, no database, no clock: the services load what a rule needs, call it and
write what it returns, and a plan simulator or a replay can call the same rules.
Terms are anything with the plan's term fields (a ``Terms`` row or a plain object);
buckets are anything with ``pk``, ``kind``, ``expires_at`` and ``valid_from``.
"""

from plans.rules.buckets import (  # noqa: F401
    ADDON,
    ALLOWANCE,
    BONUS,
    DOMESTIC,
    KIND_ORDER,
    KINDS,
    ROAMING,
    ROLLOVER,
    BucketSpec,
    opening_buckets,
    pack_bucket,
    rolls_over_problem,
)
from plans.rules.close import (  # noqa: F401
    COMPARED_TERMS,
    Banked,
    CloseOutcome,
    Expiry,
    Leftover,
    close_period,
    close_unused,
    forfeit_expiries,
    forfeits,
    plan_changed,
    roll_outs,
    rollover_amount,
    rollover_bucket,
    smaller_allowance,
    what_expires,
)
from plans.rules.order import (  # noqa: F401
    draw_order,
    kind_order,
    order_as_list,
    order_problem,
    roams_from_domestic,
    stored_order,
)
from plans.rules.refusals import (  # noqa: F401
    before_start_problem,
    closed_period_problem,
    date_range_problem,
    expiry_problem,
    fair_use_problem,
)
