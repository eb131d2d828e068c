"""CSRF with HTMX: the token travels in ``hx-headers`` on ``<body>``."""

import json
import re

import pytest
from django.test import Client

from tests.integration.pages.helpers import htmx
from usage.models import UsageRecord

pytestmark = pytest.mark.django_db

DATA = {"amount": "1", "unit": "GB", "zone": "domestic", "at": ""}


@pytest.fixture
def strict(family) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(family.member.user)
    return client


def body_token(client: Client, url: str = "/") -> str:
    """The token htmx sends: the ``X-CSRFToken`` of ``hx-headers`` on ``<body>``."""
    page = client.get(url).content.decode()
    [headers] = re.findall(r"<body hx-headers='([^']*)'", page)
    return json.loads(headers)["X-CSRFToken"]


@pytest.mark.parametrize("url", ["/", "/usage/", "/history/", "/accounts/login/"])
def test_body_carries_the_token_in_hx_headers(strict, url):
    assert len(body_token(strict, url)) == 64


def test_htmx_post_without_the_token_is_forbidden(strict, family):
    strict.get("/")  # the CSRF cookie is set, but htmx would not send the header
    count = UsageRecord.objects.count()

    response = htmx(strict, "post", "/usage/record/", data=DATA)

    assert response.status_code == 403
    assert UsageRecord.objects.count() == count


def test_htmx_post_with_the_body_token_succeeds(strict, family):
    token = body_token(strict)
    count = UsageRecord.objects.count()

    response = strict.post(
        "/usage/record/", data=DATA, headers={"HX-Request": "true", "X-CSRFToken": token}
    )

    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"usage-recorded": {}}
    assert UsageRecord.objects.count() == count + 1


def test_plain_form_post_with_the_form_token_succeeds(strict, family):
    page = strict.get("/").content.decode()
    token = re.search(
        r'<form method="post" action="/usage/record/".*?name="csrfmiddlewaretoken" value="([^"]+)"',
        page,
        re.S,
    ).group(1)

    response = strict.post("/usage/record/", data={**DATA, "csrfmiddlewaretoken": token})

    assert response.status_code == 302


def test_invite_without_the_token_is_forbidden(strict, family):
    strict.get("/")
    strict.force_login(family.owner.user)

    assert htmx(strict, "post", f"/members/{family.member.pk}/invite/").status_code == 403


def test_logout_without_the_token_is_forbidden(strict):
    strict.get("/")

    assert strict.post("/accounts/logout/").status_code == 403
    assert strict.get("/").status_code == 200
