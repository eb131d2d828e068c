"""Period arithmetic (SPEC §1 "Period"): pure functions, no database."""

import itertools
import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import periods as periods_module
from core.periods import Calendar, Period, period_range

US = timedelta(microseconds=1)
PARIS = "Europe/Paris"
NEW_YORK = "America/New_York"
SHANGHAI = "Asia/Shanghai"
HAVANA = "America/Havana"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def p(key: str) -> Period:
    return Period.parse(key)


# --- Period -------------------------------------------------------------------------


def test_parse_and_key_round_trip():
    assert Period.parse("2026-03") == Period(2026, 3)
    assert Period(2026, 3).key == "2026-03"
    assert Period(987, 5).key == "0987-05"
    assert Period.parse("0987-05") == Period(987, 5)
    assert str(Period(2026, 12)) == "2026-12"


@pytest.mark.parametrize(
    "key",
    [
        "2026-13",
        "2026-00",
        "2026-1",
        "",
        "abcd-ef",
        "0000-01",
        "9999-01",
        "26-03",
        "2026-003",
        "2026/03",
        " 2026-03",
        "2026-03 ",
        "2026-03\n",
        "２０２６-０３",  # fullwidth digits
        None,
    ],
)
def test_parse_refuses_a_bad_key_and_names_it(key):
    with pytest.raises(ValueError, match=re.escape(repr(key))):
        Period.parse(key)


@pytest.mark.parametrize(("year", "month"), [(2026, 0), (2026, 13), (0, 1), (9999, 1)])
def test_period_refuses_an_impossible_month(year, month):
    with pytest.raises(ValueError, match=f"{year:04d}-{month:02d}"):
        Period(year, month)


def test_next_and_previous_cross_the_year():
    assert p("2026-03").next() == p("2026-04")
    assert p("2026-12").next() == p("2027-01")
    assert p("2026-03").previous() == p("2026-02")
    assert p("2026-01").previous() == p("2025-12")


def test_shift_by_months():
    assert p("2026-03").shift(0) == p("2026-03")
    assert p("2026-03").shift(9) == p("2026-12")
    assert p("2026-03").shift(10) == p("2027-01")
    assert p("2026-03").shift(-3) == p("2025-12")
    assert p("2026-03").shift(-13) == p("2025-02")
    assert p("2026-03").shift(24) == p("2028-03")
    assert p("2026-03").index - p("2025-11").index == 4


def test_shift_past_the_last_period_raises():
    with pytest.raises(ValueError, match="9999-01"):
        p("9998-12").next()


def test_ordering():
    assert p("2025-12") < p("2026-01") < p("2026-02")
    assert p("2026-01") <= p("2026-01")
    assert p("2026-02") > p("2026-01")
    assert p("2026-02") >= p("2026-02")
    assert not p("2026-02") < p("2026-02")
    assert p("2027-01") > p("2026-12")
    assert sorted([p("2026-01"), p("2025-12"), p("2026-11"), p("2025-02")]) == [
        p("2025-02"),
        p("2025-12"),
        p("2026-01"),
        p("2026-11"),
    ]
    assert max(p("2026-03"), p("2026-10"), p("2025-12")) == p("2026-10")
    assert {p("2026-03"), Period(2026, 3)} == {Period(2026, 3)}


def test_ordering_against_a_string_is_a_type_error():
    assert p("2026-03") != "2026-03"
    with pytest.raises(TypeError):
        assert p("2026-03") < "2026-04"


def test_period_range():
    assert [x.key for x in period_range(p("2025-11"), p("2026-02"))] == [
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    ]
    assert period_range(p("2026-03"), p("2026-03")) == [p("2026-03")]
    assert period_range(p("2026-03"), p("2026-02")) == []


# --- Calendar: start and end ---------------------------------------------------------


@pytest.mark.parametrize("day", [0, 29, -1, 31, 1.5, "1", True])
def test_calendar_refuses_a_cycle_day_outside_1_to_28(day):
    with pytest.raises(ValueError, match=re.escape(f"({day!r})")):
        Calendar(PARIS, day)


def test_calendar_defaults_to_cycle_day_1():
    assert Calendar(PARIS) == Calendar(PARIS, 1)


@pytest.mark.parametrize(
    ("zone", "day", "key", "start", "end"),
    [
        # Paris: CET +01:00, CEST +02:00 from 2026-03-29 to 2026-10-25.
        (PARIS, 1, "2026-03", utc(2026, 2, 28, 23), utc(2026, 3, 31, 22)),
        (PARIS, 1, "2026-10", utc(2026, 9, 30, 22), utc(2026, 10, 31, 23)),
        (PARIS, 1, "2026-12", utc(2026, 11, 30, 23), utc(2026, 12, 31, 23)),
        (PARIS, 28, "2026-02", utc(2026, 2, 27, 23), utc(2026, 3, 27, 23)),
        (PARIS, 28, "2026-03", utc(2026, 3, 27, 23), utc(2026, 4, 27, 22)),
        (PARIS, 28, "2026-09", utc(2026, 9, 27, 22), utc(2026, 10, 27, 23)),
        # New York: EST -05:00, EDT -04:00 from 2026-03-08 to 2026-11-01.
        (NEW_YORK, 1, "2026-03", utc(2026, 3, 1, 5), utc(2026, 4, 1, 4)),
        (NEW_YORK, 1, "2026-11", utc(2026, 11, 1, 4), utc(2026, 12, 1, 5)),
        (NEW_YORK, 28, "2026-02", utc(2026, 2, 28, 5), utc(2026, 3, 28, 4)),
        (NEW_YORK, 28, "2026-10", utc(2026, 10, 28, 4), utc(2026, 11, 28, 5)),
        # Shanghai: +08:00 all year.
        (SHANGHAI, 1, "2026-01", utc(2025, 12, 31, 16), utc(2026, 1, 31, 16)),
        (SHANGHAI, 1, "2026-03", utc(2026, 2, 28, 16), utc(2026, 3, 31, 16)),
        (SHANGHAI, 28, "2026-02", utc(2026, 2, 27, 16), utc(2026, 3, 27, 16)),
        (SHANGHAI, 28, "2026-12", utc(2026, 12, 27, 16), utc(2027, 1, 27, 16)),
    ],
)
def test_start_and_end(zone, day, key, start, end):
    calendar = Calendar(zone, day)
    assert calendar.start(p(key)) == start
    assert calendar.end(p(key)) == end
    assert calendar.start(p(key)).tzinfo is UTC
    assert calendar.end(p(key)).tzinfo is UTC


def test_period_lengths_follow_dst():
    paris = Calendar(PARIS, 1)
    # March 2026 in Paris loses an hour, October gains one.
    assert paris.end(p("2026-03")) - paris.start(p("2026-03")) == timedelta(days=31, hours=-1)
    assert paris.end(p("2026-10")) - paris.start(p("2026-10")) == timedelta(days=31, hours=1)
    shanghai = Calendar(SHANGHAI, 28)
    assert shanghai.end(p("2026-02")) - shanghai.start(p("2026-02")) == timedelta(days=28)


# --- Calendar: period_of -------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "instant", "key"),
    [
        # Paris, cycle day 1: 2026-03 is [2026-02-28T23:00Z, 2026-03-31T22:00Z).
        (PARIS, 1, utc(2026, 2, 28, 22, 59, 59, 999999), "2026-02"),
        (PARIS, 1, utc(2026, 2, 28, 23), "2026-03"),
        (PARIS, 1, utc(2026, 3, 31, 21, 59, 59, 999999), "2026-03"),
        (PARIS, 1, utc(2026, 3, 31, 22), "2026-04"),
        # Paris DST weekends: 02:00+01 -> 03:00+02 on 03-29, 03:00+02 -> 02:00+01 on 10-25.
        (PARIS, 1, utc(2026, 3, 29, 0, 59, 59, 999999), "2026-03"),
        (PARIS, 1, utc(2026, 3, 29, 1), "2026-03"),
        (PARIS, 1, utc(2026, 10, 25, 0, 30), "2026-10"),
        (PARIS, 1, utc(2026, 10, 25, 1, 30), "2026-10"),
        (PARIS, 1, utc(2026, 10, 31, 22, 59, 59, 999999), "2026-10"),
        (PARIS, 1, utc(2026, 10, 31, 23), "2026-11"),
        # Paris, cycle day 28: 2026-02 is [2026-02-27T23:00Z, 2026-03-27T23:00Z).
        (PARIS, 28, utc(2026, 2, 27, 22, 59, 59, 999999), "2026-01"),
        (PARIS, 28, utc(2026, 2, 27, 23), "2026-02"),
        (PARIS, 28, utc(2026, 3, 1), "2026-02"),
        (PARIS, 28, utc(2026, 3, 27, 22, 59, 59, 999999), "2026-02"),
        (PARIS, 28, utc(2026, 3, 27, 23), "2026-03"),
        (PARIS, 28, utc(2026, 3, 29, 1), "2026-03"),
        (PARIS, 28, utc(2026, 10, 25, 1, 30), "2026-09"),
        (PARIS, 28, utc(2026, 10, 27, 22, 59, 59, 999999), "2026-09"),
        (PARIS, 28, utc(2026, 10, 27, 23), "2026-10"),
        # New York, cycle day 1: spring forward 2026-03-08 07:00Z, fall back 11-01 06:00Z.
        (NEW_YORK, 1, utc(2026, 3, 1, 4, 59, 59, 999999), "2026-02"),
        (NEW_YORK, 1, utc(2026, 3, 1, 5), "2026-03"),
        (NEW_YORK, 1, utc(2026, 3, 8, 6, 59, 59, 999999), "2026-03"),
        (NEW_YORK, 1, utc(2026, 3, 8, 7), "2026-03"),
        (NEW_YORK, 1, utc(2026, 3, 31, 23), "2026-03"),
        (NEW_YORK, 1, utc(2026, 4, 1, 3, 59, 59, 999999), "2026-03"),
        (NEW_YORK, 1, utc(2026, 4, 1, 4), "2026-04"),
        (NEW_YORK, 1, utc(2026, 11, 1, 3, 59, 59, 999999), "2026-10"),
        (NEW_YORK, 1, utc(2026, 11, 1, 4), "2026-11"),
        (NEW_YORK, 1, utc(2026, 11, 1, 5, 30), "2026-11"),
        (NEW_YORK, 1, utc(2026, 11, 1, 6, 30), "2026-11"),
        # New York, cycle day 28.
        (NEW_YORK, 28, utc(2026, 3, 8, 7), "2026-02"),
        (NEW_YORK, 28, utc(2026, 3, 28, 3, 59, 59, 999999), "2026-02"),
        (NEW_YORK, 28, utc(2026, 3, 28, 4), "2026-03"),
        (NEW_YORK, 28, utc(2026, 11, 28, 4, 59, 59, 999999), "2026-10"),
        (NEW_YORK, 28, utc(2026, 11, 28, 5), "2026-11"),
        # Shanghai +08:00.
        (SHANGHAI, 1, utc(2026, 2, 28, 15, 59, 59, 999999), "2026-02"),
        (SHANGHAI, 1, utc(2026, 2, 28, 16), "2026-03"),
        (SHANGHAI, 1, utc(2025, 12, 31, 15, 59, 59, 999999), "2025-12"),
        (SHANGHAI, 1, utc(2025, 12, 31, 16), "2026-01"),
        (SHANGHAI, 28, utc(2026, 2, 27, 15, 59, 59, 999999), "2026-01"),
        (SHANGHAI, 28, utc(2026, 2, 27, 16), "2026-02"),
        (SHANGHAI, 28, utc(2026, 3, 27, 16), "2026-03"),
    ],
)
def test_period_of(zone, day, instant, key):
    assert Calendar(zone, day).period_of(instant) == p(key)


@pytest.mark.parametrize(
    ("instant", "key"),
    [
        # All of these are 2026-02-28T23:00Z, the first instant of Paris 2026-03 ...
        (datetime(2026, 3, 1, 0, 0, tzinfo=ZoneInfo(PARIS)), "2026-03"),
        (datetime(2026, 2, 28, 18, 0, tzinfo=timezone(timedelta(hours=-5))), "2026-03"),
        (datetime(2026, 2, 28, 18, 0, tzinfo=ZoneInfo(NEW_YORK)), "2026-03"),
        (datetime(2026, 3, 1, 7, 0, tzinfo=ZoneInfo(SHANGHAI)), "2026-03"),
        (datetime(2026, 3, 1, 4, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))), "2026-03"),
        (datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=13))), "2026-03"),
        (datetime(2026, 2, 28, 12, 0, tzinfo=timezone(timedelta(hours=-11))), "2026-03"),
        # ... and these are 1 µs earlier, the last instant of 2026-02.
        (datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=ZoneInfo(PARIS)), "2026-02"),
        (datetime(2026, 3, 1, 6, 59, 59, 999999, tzinfo=timezone(timedelta(hours=8))), "2026-02"),
        (datetime(2026, 2, 28, 17, 59, 59, 999999, tzinfo=ZoneInfo(NEW_YORK)), "2026-02"),
        # Paris 2026-10-25 02:30 happens twice (00:30Z, then 01:30Z): both in 2026-10.
        (datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=ZoneInfo(PARIS)), "2026-10"),
        (datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo(PARIS)), "2026-10"),
    ],
)
def test_period_of_reads_any_offset_as_an_instant(instant, key):
    assert Calendar(PARIS, 1).period_of(instant) == p(key)


def test_period_of_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match=re.escape("datetime.datetime(2026, 3, 1, 0, 0)")):
        Calendar(PARIS, 1).period_of(datetime(2026, 3, 1))


# --- DST changes at local midnight ---------------------------------------------------
# America/Havana (tzdata): 2020-03-08 00:00-05:00 jumps to 01:00-04:00, so that
# midnight does not exist; 2020-11-01 01:00-04:00 falls back to 00:00-05:00, so that
# midnight happens twice (04:00Z and 05:00Z). SPEC: the boundary is the first instant
# at or after local midnight.


def test_nonexistent_midnight_starts_the_period_at_the_jump():
    calendar = Calendar(HAVANA, 8)
    assert calendar.start(p("2020-03")) == utc(2020, 3, 8, 5)
    assert calendar.end(p("2020-02")) == utc(2020, 3, 8, 5)
    assert calendar.start(p("2020-03")).astimezone(ZoneInfo(HAVANA)).hour == 1
    assert calendar.period_of(utc(2020, 3, 8, 4, 59, 59, 999999)) == p("2020-02")
    assert calendar.period_of(utc(2020, 3, 8, 5)) == p("2020-03")
    # The wall time 00:30 does not exist; zoneinfo reads it at -05:00, i.e. 01:30-04:00.
    assert calendar.period_of(datetime(2020, 3, 8, 0, 30, tzinfo=ZoneInfo(HAVANA))) == p("2020-03")
    # The jump lies inside March: February (cycle day 8) is exactly 29 days and
    # March runs to 2020-04-08 00:00-04:00, 31 days less the lost hour.
    assert calendar.end(p("2020-02")) - calendar.start(p("2020-02")) == timedelta(days=29)
    assert calendar.end(p("2020-03")) == utc(2020, 4, 8, 4)


def test_ambiguous_midnight_starts_the_period_at_its_first_occurrence():
    calendar = Calendar(HAVANA, 1)
    assert calendar.start(p("2020-11")) == utc(2020, 11, 1, 4)
    assert calendar.end(p("2020-10")) == utc(2020, 11, 1, 4)
    assert calendar.period_of(utc(2020, 11, 1, 3, 59, 59, 999999)) == p("2020-10")
    assert calendar.period_of(utc(2020, 11, 1, 4)) == p("2020-11")
    # The second midnight (00:00-05:00) is already well inside November.
    assert calendar.period_of(utc(2020, 11, 1, 5)) == p("2020-11")
    midnight = datetime(2020, 11, 1, tzinfo=ZoneInfo(HAVANA))
    assert calendar.period_of(midnight.replace(fold=1)) == p("2020-11")
    # October 2020 is exactly 31 days (-04:00 at both ends); November is 30 days + 1 h.
    assert calendar.end(p("2020-10")) - calendar.start(p("2020-10")) == timedelta(days=31)
    assert calendar.end(p("2020-11")) - calendar.start(p("2020-11")) == timedelta(days=30, hours=1)


def test_nonexistent_midnight_on_cycle_day_1():
    # Asia/Amman: 2016-04-01 00:00+02:00 jumped to 01:00+03:00.
    calendar = Calendar("Asia/Amman", 1)
    assert calendar.start(p("2016-04")) == utc(2016, 3, 31, 22)
    assert calendar.period_of(utc(2016, 3, 31, 21, 59, 59, 999999)) == p("2016-03")
    assert calendar.period_of(utc(2016, 3, 31, 22)) == p("2016-04")


def test_fall_back_just_before_midnight_keeps_midnight_single():
    # America/Santiago: 2024-04-07 00:00-03:00 fell back to 2024-04-06 23:00-04:00, so
    # 23:xx on the 6th happens twice and midnight of the 7th once, at 04:00Z.
    calendar = Calendar("America/Santiago", 7)
    assert calendar.start(p("2024-04")) == utc(2024, 4, 7, 4)
    assert calendar.period_of(utc(2024, 4, 7, 2, 30)) == p("2024-03")
    assert calendar.period_of(utc(2024, 4, 7, 3, 30)) == p("2024-03")
    assert calendar.period_of(utc(2024, 4, 7, 3, 59, 59, 999999)) == p("2024-03")
    assert calendar.period_of(utc(2024, 4, 7, 4)) == p("2024-04")


MIDNIGHT_DST_ZONES = [
    HAVANA,
    "America/Santiago",
    "Asia/Beirut",
    "Asia/Amman",
    "America/Sao_Paulo",
]


def _midnight_transitions(zone_name: str) -> list[tuple[int, int, int]]:
    """Every (year, month, day ≤ 28) of 2000..2037 whose local midnight is in a gap or fold."""
    zone = ZoneInfo(zone_name)
    days = []
    for year in range(2000, 2038):
        for month in range(1, 13):
            for day in range(1, 29):
                midnight = datetime(year, month, day, tzinfo=zone)
                if midnight.utcoffset() != midnight.replace(fold=1).utcoffset():
                    days.append((year, month, day))
    return days


@pytest.mark.parametrize("zone_name", MIDNIGHT_DST_ZONES)
def test_every_midnight_transition_boundary_is_the_first_instant_at_or_after_midnight(
    zone_name,
):
    zone = ZoneInfo(zone_name)
    days = _midnight_transitions(zone_name)
    assert len(days) >= 15  # the zone really has such transitions in this tzdata
    for year, month, day in days:
        calendar = Calendar(zone_name, day)
        period = Period(year, month)
        start = calendar.start(period)
        wall_midnight = datetime(year, month, day)
        # At start the wall clock shows midnight or later; 1 µs before, it showed earlier.
        assert start.astimezone(zone).replace(tzinfo=None) >= wall_midnight
        assert (start - US).astimezone(zone).replace(tzinfo=None) < wall_midnight
        assert start.astimezone(zone).replace(tzinfo=None) < wall_midnight + timedelta(hours=2)
        assert calendar.period_of(start) == period
        assert calendar.period_of(start - US) == period.previous()


# --- Properties ----------------------------------------------------------------------

PROPERTY_ZONES = [
    "UTC",
    PARIS,
    NEW_YORK,
    SHANGHAI,
    HAVANA,
    "America/Santiago",
    "Asia/Amman",
    "Australia/Lord_Howe",  # 30-minute DST
    "Asia/Kathmandu",  # +05:45
    "Pacific/Chatham",  # +12:45 / +13:45
    "America/St_Johns",  # -03:30 / -02:30
]
MIN_US = int(utc(2000, 1, 1).timestamp()) * 1_000_000
MAX_US = int(utc(2038, 1, 1).timestamp()) * 1_000_000
EPOCH = utc(1970, 1, 1)

calendars = st.builds(Calendar, st.sampled_from(PROPERTY_ZONES), st.integers(1, 28))
instants = st.integers(MIN_US, MAX_US - 1).map(lambda us: EPOCH + timedelta(microseconds=us))
offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
periods = st.builds(Period, st.integers(2000, 2036), st.integers(1, 12))
fast = settings(max_examples=100, deadline=None)


@fast
@given(calendars, instants, offsets)
def test_period_of_contains_the_instant(calendar, instant, offset):
    period = calendar.period_of(instant.astimezone(offset))
    assert period == calendar.period_of(instant)
    assert calendar.start(period) <= instant < calendar.end(period)
    assert calendar.period_of(calendar.start(period)) == period
    assert calendar.period_of(calendar.end(period) - US) == period
    assert calendar.period_of(calendar.end(period)) == period.next()
    assert calendar.end(period) == calendar.start(period.next())


@fast
@given(calendars, periods, st.integers(1, 24))
def test_periods_are_contiguous_and_strictly_increasing(calendar, first, months):
    span = period_range(first, first.shift(months))
    assert len(span) == months + 1
    for earlier, later in itertools.pairwise(span):
        assert earlier < later
        assert calendar.end(earlier) == calendar.start(later)
        assert calendar.start(earlier) < calendar.start(later)
        # A period lasts from 28 to 31 days, give or take a DST hour or two.
        length = calendar.end(earlier) - calendar.start(earlier)
        assert timedelta(days=28, hours=-3) <= length <= timedelta(days=31, hours=3)


@fast
@given(calendars, instants, instants)
def test_period_of_never_goes_back_in_time(calendar, a, b):
    a, b = min(a, b), max(a, b)
    assert calendar.period_of(a) <= calendar.period_of(b)


@settings(max_examples=50, deadline=None)
@given(periods, st.integers(-300, 300), st.integers(-300, 300))
def test_period_keys_and_shifts(period, a, b):
    assert Period.parse(period.key) == period
    assert period.shift(a).shift(b) == period.shift(a + b)
    assert period.shift(a).index - period.index == a
    assert (period.shift(a) < period.shift(b)) == (a < b)
    assert period.shift(a).key < period.shift(b).key or a >= b


@fast
@given(calendars, st.lists(st.tuples(instants, offsets), min_size=1, max_size=30))
def test_period_of_answers_the_same_whatever_it_answered_before(calendar, seen):
    # period_of remembers its last answer per calendar: a run of instants, near or far
    # apart, gets exactly what each instant gets from a calendar that remembers nothing.
    for instant, offset in seen:
        answer = calendar.period_of(instant.astimezone(offset))
        periods_module._last_found.clear()
        assert answer == calendar.period_of(instant)
        assert calendar.start(answer) <= instant < calendar.end(answer)
