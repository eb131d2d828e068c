"""Who may see the family's pages."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.selectors import member_for


def member_required(view: Callable) -> Callable:
    """Signed in and in a household; ``request.member`` is that membership."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        member = member_for(request.user)
        if member is None or not member.active:
            raise PermissionDenied("This account is not an active member of a household.")
        request.member = member
        # Times on the household's pages read in the household's own time zone.
        with timezone.override(member.household.calendar.zone):
            return view(request, *args, **kwargs)

    return wrapper
