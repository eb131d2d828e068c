"""Owner actions on the household's members."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import member_required
from accounts.models import Member
from accounts.services import send_invitation
from core.errors import Refused


@require_POST
@member_required
def invite(request, pk: int):
    """Send a member without a password the link to choose one (owner only)."""
    member = get_object_or_404(Member, pk=pk, household=request.member.household)
    if request.member.role != Member.Role.OWNER:
        raise PermissionDenied(_("Only the plan owner can invite members."))
    try:
        send_invitation(member, base_url=request.build_absolute_uri("/").rstrip("/"))
        note = _("Invitation sent to %(email)s.") % {"email": member.user.email}
    except Refused as refused:
        note = str(refused.messages[0])
    if request.htmx:
        return HttpResponse(note)
    messages.info(request, note)
    return redirect("usage:dashboard")
