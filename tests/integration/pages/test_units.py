"""``{{ value|bytes }}``: human units, decimal by default, in the reader's language."""

import pytest
from django.utils import translation

from core.templatetags.units import human_bytes
from tests.integration.pages.helpers import Page

NBSP = "\xa0"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.00 kB"),
        (1_500_000, "1.50 MB"),
        (1_999_000_000, "2.00 GB"),  # rounded, not truncated to 1.99
        (1_000_000_000, "1.00 GB"),
        (13_500_000_000, "13.5 GB"),
        (123_456_789_012, "123 GB"),
        (10**13, "10.0 TB"),
        (-2_000_000_000, "−2.00 GB"),
    ],
)
def test_decimal_units_by_default(value, shown):
    assert human_bytes(value) == shown.replace(" ", NBSP)


def test_none_is_unlimited():
    assert human_bytes(None) == "unlimited"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1000, "1000 B"),
        (1024, "1.00 KiB"),
        (1536 * 1024**2, "1.50 GiB"),
        (10**9, "954 MiB"),  # 953.67 MiB, rounded
        (13_500_000_000, "12.6 GiB"),  # 12.57 GiB
    ],
)
def test_binary_units_with_the_setting(settings, value, shown):
    settings.DATAPOOL_BINARY_UNITS = True

    assert human_bytes(value) == shown.replace(" ", NBSP)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(13_500_000_000, "13,5 Go"), (1_500_000, "1,50 Mo"), (512, "512 o")],
)
def test_french_decimal_comma_and_units(value, shown):
    with translation.override("fr"):
        assert human_bytes(value) == shown.replace(" ", NBSP)


@pytest.mark.django_db
def test_pages_use_the_setting_and_the_readers_language(client, family, settings):
    client.force_login(family.member.user)

    english = Page(client.get("/").content)
    french = Page(client.get("/", headers={"accept-language": "fr"}).content)
    settings.DATAPOOL_BINARY_UNITS = True
    binary = Page(client.get("/").content)

    assert english.text("member-used-marie") == f"2.00{NBSP}GB"
    assert french.text("member-used-marie") == f"2,00{NBSP}Go"
    assert binary.text("member-used-marie") == f"1.86{NBSP}GiB"
    # The machine-readable figure is the same integer in every case.
    assert {p.bytes("member-used-marie") for p in (english, french, binary)} == {2 * 10**9}
