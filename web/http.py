"""What the pages' views receive and how they answer an HTMX request."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from accounts.models import Member


class HtmxHttpRequest(HttpRequest):
    """A request through django-htmx's middleware (django-htmx's documented typing)."""

    htmx: HtmxDetails


class MemberRequest(HtmxHttpRequest):
    """A request to a ``member_required`` view: ``member`` is the signed-in membership."""

    member: Member


def render_page(
    request: HtmxHttpRequest,
    page: str,
    context: dict,
    *,
    region: str | None = None,
    status: int | None = None,
) -> HttpResponse:
    """``web/<page>.html`` for a full request; only its ``region`` partial for HTMX."""
    template = f"web/{page}.html"
    if region and request.htmx:
        template = f"{template}#{region}"
    return render(request, template, context, status=status)
