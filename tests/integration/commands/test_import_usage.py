"""``import_usage`` (SPEC §3, R3.5, R5): the carrier's CSV export, all or nothing."""

from __future__ import annotations

import gc
import io
import sys
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from accounts.models import Member
from plans.models import PeriodClose
from plans.services import close_periods
from tests.factories import (
    GB,
    MB,
    HouseholdFactory,
    MemberFactory,
    UserFactory,
    household_with_plan,
)
from tests.integration.commands.helpers import refused, run, snapshot
from usage.models import UsageRecord
from usage.services import ImportRefused, Row, derive_ref, import_usage, imports

pytestmark = pytest.mark.django_db

HEADER = "household,username,started_at,bytes,zone,ref"
# The clock fixture says 2026-03-05T12:00Z; January and February are past their grace.
NOW = datetime(2026, 3, 5, 12, tzinfo=UTC)


def member(household, username: str, **fields) -> Member:
    return MemberFactory(household=household, user=UserFactory(username=username), **fields)


@pytest.fixture
def dupont(clock):
    """dupont: 10 GB a month, marie, paul and old (no longer active); martin: zoe."""
    household = household_with_plan(slug="dupont", monthly_allowance_bytes=10 * GB)
    member(household, "marie", role="owner")
    member(household, "paul")
    member(household, "old", active=False)
    martin = household_with_plan(slug="martin", monthly_allowance_bytes=10 * GB)
    member(martin, "zoe")
    return household


def csv_file(tmp_path, *lines: str, header: str = HEADER, encoding="utf-8", name="usage.csv"):
    path = tmp_path / name
    path.write_bytes(("\n".join([header, *lines]) + "\n").encode(encoding))
    return str(path)


def records() -> list[tuple]:
    return list(
        UsageRecord.objects.order_by("started_at", "pk").values_list(
            "household__slug",
            "member__user__username",
            "ref",
            "bytes",
            "covered_bytes",
            "overage_bytes",
        )
    )


def test_columns_in_any_order_with_a_byte_order_mark(dupont, tmp_path):
    path = csv_file(
        tmp_path,
        "r1,domestic,1000000000,2026-03-02T10:00:00+01:00,marie,dupont",
        "r2,roaming,2000000000,2026-03-03T10:00:00+01:00,paul,dupont",
        # 5 minutes ahead of the clock: still accepted (R5 refuses more than 5).
        "r3,domestic,500000000,2026-03-05T12:05:00Z,zoe,martin",
        header="ref,zone,bytes,started_at,username,household",
        encoding="utf-8-sig",
    )

    out, err = run("import_usage", path)

    # dupont has no roaming allowance: paul's 2 GB abroad are overage.
    assert out.splitlines() == [
        "Imported 3 record(s); skipped 0 already recorded.",
        "  dupont: 3.00 GB (3000000000 bytes), overage 2.00 GB (2000000000 bytes)",
        "  martin: 500 MB (500000000 bytes), overage 0 B (0 bytes)",
    ]
    assert err == ""
    assert records() == [
        ("dupont", "marie", "r1", GB, GB, 0),
        ("dupont", "paul", "r2", 2 * GB, 0, 2 * GB),
        ("martin", "zoe", "r3", 500 * MB, 500 * MB, 0),
    ]
    assert UsageRecord.objects.get(ref="r1").started_at == datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_replaying_a_file_with_derived_refs_skips_every_row(dupont, tmp_path):
    path = csv_file(
        tmp_path,
        "dupont,marie,2026-02-10T10:00:00+01:00,1000000000,domestic,",
        "dupont,paul,2026-02-11T10:00:00+01:00,2000000000,domestic,",
    )
    out, _ = run("import_usage", path)
    assert out.splitlines()[0] == "Imported 2 record(s); skipped 0 already recorded."
    # An empty ref is derived from the row's content (SPEC §3).
    marie_ref = derive_ref(
        username="marie",
        started_at=datetime(2026, 2, 10, 9, tzinfo=UTC),
        bytes=GB,
        zone="domestic",
    )
    assert UsageRecord.objects.get(member__user__username="marie").ref == marie_ref
    run("rollover")  # February closes: a replay is still a no-op, not a refusal (R5)
    assert PeriodClose.objects.filter(household=dupont, period="2026-02").exists()
    before = snapshot()

    out, err = run("import_usage", path)

    assert out == "Imported 0 record(s); skipped 2 already recorded.\n"
    assert err == ""
    assert snapshot() == before


def test_a_ref_repeated_in_the_file_with_the_same_content_is_counted_once(dupont, tmp_path):
    # The same instant written with another offset is the same content (SPEC §1).
    path = csv_file(
        tmp_path,
        "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,r1",
        "dupont,marie,2026-03-02T09:00:00+00:00,1000,domestic,r1",
    )

    out, _ = run("import_usage", path)

    assert out.splitlines()[0] == "Imported 1 record(s); skipped 1 already recorded."
    assert UsageRecord.objects.count() == 1


def test_standard_input(dupont, monkeypatch):
    data = f"\ufeff{HEADER}\ndupont,marie,2026-03-02T10:00:00+01:00,1000000000,domestic,s1\n"
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(data.encode())))

    out, _ = run("import_usage", "-")

    assert out.splitlines()[0] == "Imported 1 record(s); skipped 0 already recorded."
    assert records() == [("dupont", "marie", "s1", GB, GB, 0)]


def test_verbosity_0_prints_nothing(dupont, tmp_path):
    path = csv_file(tmp_path, "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,r1")

    assert run("import_usage", path, verbosity=0) == ("", "")
    assert UsageRecord.objects.count() == 1


def test_dry_run_writes_nothing_and_reports_the_real_figures(dupont, tmp_path):
    path = csv_file(
        tmp_path,
        "dupont,marie,2026-03-02T10:00:00+01:00,6000000000,domestic,r1",
        "dupont,paul,2026-03-03T10:00:00+01:00,6000000000,domestic,r2",
    )
    before = snapshot()

    dry, _ = run("import_usage", path, "--dry-run")

    assert snapshot() == before
    # 12 GB against 10 GB: 2 GB overage.
    assert dry.splitlines() == [
        "Dry run, nothing written: would import 2 record(s); skipped 0 already recorded.",
        "  dupont: 12.0 GB (12000000000 bytes), overage 2.00 GB (2000000000 bytes)",
    ]
    real, _ = run("import_usage", path)
    assert real == dry.replace("Dry run, nothing written: would import", "Imported")


def test_rows_are_allocated_in_time_order_whatever_the_file_order(dupont, tmp_path):
    # 10 GB pool; the file lists 6 GB at 10:00 before 6 GB at 09:00. The 09:00 row is
    # allocated first and fully covered; the 10:00 one gets the 4 GB left, 2 GB overage.
    path = csv_file(
        tmp_path,
        "dupont,marie,2026-03-02T10:00:00+01:00,6000000000,domestic,late",
        "dupont,paul,2026-03-02T09:00:00+01:00,6000000000,domestic,early",
    )

    run("import_usage", path)

    assert records() == [
        ("dupont", "paul", "early", 6 * GB, 6 * GB, 0),
        ("dupont", "marie", "late", 6 * GB, 4 * GB, 2 * GB),
    ]


@pytest.mark.parametrize("order", [("a", "b"), ("b", "a")])
def test_rows_at_the_same_instant_keep_the_file_order(dupont, tmp_path, order):
    # Two 6 GB rows at the same instant: the first one in the file is fully covered.
    who = {"a": "marie", "b": "paul"}
    path = csv_file(
        tmp_path,
        *(
            f"dupont,{who[ref]},2026-03-02T09:00:00+01:00,6000000000,domestic,{ref}"
            for ref in order
        ),
    )

    run("import_usage", path)

    first, second = order
    covered = dict(UsageRecord.objects.values_list("ref", "covered_bytes"))
    assert covered == {first: 6 * GB, second: 4 * GB}


def test_every_bad_row_is_listed_and_nothing_is_imported(dupont, tmp_path):
    path = csv_file(
        tmp_path,
        "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,good-1",
        "nosuch,marie,2026-03-02T10:00:00+01:00,1000,domestic,r3",
        "dupont,zoe,2026-03-02T10:00:00+01:00,1000,domestic,r4",
        "dupont,old,2026-03-02T10:00:00+01:00,1000,domestic,r5",
        "dupont,marie,2026-03-05T12:05:01+00:00,1000,domestic,r6",
        "dupont,marie,2025-12-31T23:30:00+01:00,1000,domestic,r7",
        "dupont,marie,2026-03-02T10:00:00+01:00,1.5GB,domestic,r8",
        "dupont,marie,2026-03-02T10:00:00+01:00,0,domestic,r9",
        "dupont,marie,2026-03-02T10:00:00+01:00,10000000000001,domestic,r10",
        "dupont,marie,2026-03-02T10:00:00+01:00,1000,space,r11",
        "dupont,marie,yesterday,1000,domestic,r12",
        "dupont,marie,2026-03-02T10:00:00,1000,domestic,r13",
        "dupont,marie,2026-03-02T11:00:00+01:00,1000,domestic,good-14",
        "nosuch,marie,2026-03-02T10:00:00+01:00,-5,domestic,r15",
    )

    error, out, err = refused("import_usage", path)

    assert error.returncode == 1
    assert str(error) == f"Nothing imported: 13 problem(s) in {path}."
    assert out == ""
    assert err.splitlines() == [
        "line 3: household: no such household (nosuch)",
        "line 4: username: is not a member of household dupont (zoe)",
        "line 5: member: is not active (old)",
        "line 6: started_at: is more than 5 minutes in the future (2026-03-05T12:05:01+00:00)",
        "line 7: started_at: is before the household's start period 2026-01 "
        "(2025-12-31T23:30:00+01:00)",
        "line 8: bytes: must be plain digits (1.5GB)",
        "line 9: bytes: must be from 1 to 10^13 bytes (0)",
        "line 10: bytes: must be from 1 to 10^13 bytes (10000000000001)",
        "line 11: zone: must be one of domestic, roaming (space)",
        "line 12: started_at: must be an ISO 8601 date and time (yesterday)",
        "line 13: started_at: must include a UTC offset (2026-03-02T10:00:00)",
        "line 15: household: no such household (nosuch)",
        "line 15: bytes: must be plain digits (-5)",
    ]


def test_a_row_in_a_closed_period_is_refused(dupont, tmp_path):
    close_periods(now=NOW)  # January and February
    path = csv_file(tmp_path, "dupont,marie,2026-02-20T10:00:00+01:00,1000,domestic,late")

    error, _, err = refused("import_usage", path)

    assert err == (
        "line 2: started_at: falls in period 2026-02, which is closed (2026-02-20T10:00:00+01:00)\n"
    )
    assert str(error) == f"Nothing imported: 1 problem(s) in {path}."


def test_a_known_ref_with_other_content_is_refused(dupont, tmp_path):
    run(
        "import_usage",
        csv_file(tmp_path, "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,r1"),
    )
    path = csv_file(
        tmp_path,
        "dupont,marie,2026-03-02T10:00:00+01:00,2000,domestic,r1",
        "dupont,paul,2026-03-02T10:00:00+01:00,1000,domestic,r2",
        "dupont,paul,2026-03-02T10:00:00+01:00,1001,domestic,r2",
        name="second.csv",
    )

    _, _, err = refused("import_usage", path)

    assert err.splitlines() == [
        "line 2: ref: was already recorded with different content (r1)",
        "line 4: ref: is used on line 3 with different content (r2)",
    ]


def test_a_household_without_a_plan_is_refused(dupont, tmp_path):
    member(HouseholdFactory(slug="bare"), "solo")
    path = csv_file(tmp_path, "bare,solo,2026-03-02T10:00:00+01:00,1000,domestic,r1")

    _, _, err = refused("import_usage", path)

    assert err == "line 2: household: has no plan yet (bare)\n"


@pytest.mark.parametrize(
    ("header", "lines", "problems"),
    [
        (
            HEADER,
            [
                "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,r1",
                "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic",
                "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,r3,extra",
            ],
            [
                "line 3: row: has 5 fields, the header has 6 "
                "(dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic)",
                "line 4: row: has 7 fields, the header has 6 "
                "(dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,r3,extr)",
            ],
        ),
        (
            "household,username,started_at,bytes,ref",
            ["dupont,marie,2026-03-02T10:00:00+01:00,1000,r1"],
            ["line 1: header: column missing (zone)"],
        ),
        (
            HEADER + ",note",
            ["dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,r1,hello"],
            ["line 1: header: unknown column (note)"],
        ),
        (
            HEADER + ",bytes",
            ["dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,r1,1000"],
            ["line 1: header: column repeated (bytes)"],
        ),
        (
            # No header at all: the first row is read as one, every name is unknown.
            "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,r1",
            [],
            [
                "line 1: header: unknown column (dupont)",
                "line 1: header: unknown column (marie)",
                "line 1: header: unknown column (2026-03-02T10:00:00+01:00)",
                "line 1: header: unknown column (1000)",
                "line 1: header: unknown column (domestic)",
                "line 1: header: unknown column (r1)",
                "line 1: header: column missing (household)",
                "line 1: header: column missing (username)",
                "line 1: header: column missing (started_at)",
                "line 1: header: column missing (bytes)",
                "line 1: header: column missing (zone)",
                "line 1: header: column missing (ref)",
            ],
        ),
    ],
)
def test_a_malformed_csv_is_refused_line_by_line(dupont, tmp_path, header, lines, problems):
    path = csv_file(tmp_path, *lines, header=header)

    error, _, err = refused("import_usage", path)

    assert err.splitlines() == problems
    assert str(error) == f"Nothing imported: {len(problems)} problem(s) in {path}."


def test_an_empty_file_is_refused(dupont, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")

    _, _, err = refused("import_usage", str(path))

    assert err == "line 1: header: is missing (empty file)\n"


def test_a_file_that_is_not_utf8_is_refused(dupont, tmp_path):
    path = csv_file(
        tmp_path, "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,café", encoding="latin-1"
    )

    error, _, _ = refused("import_usage", path)

    assert str(error) == f"file: is not UTF-8 text ({path}: invalid continuation byte)"


def test_a_missing_file_or_a_directory_is_refused(dupont, tmp_path):
    error, _, _ = refused("import_usage", str(tmp_path / "nope.csv"))
    assert str(error) == f"file: no such file ({tmp_path / 'nope.csv'})"

    error, _, _ = refused("import_usage", str(tmp_path))
    assert str(error) == f"file: is a directory ({tmp_path})"


def test_a_bad_option_is_refused(dupont, tmp_path):
    path = csv_file(tmp_path, "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,r1")

    error, _, _ = refused("import_usage", path, "--bogus")

    assert str(error) == "Error: unrecognized arguments: --bogus"


def test_a_time_outside_the_calendar_is_refused_line_by_line(dupont, tmp_path):
    # 0001-01-01T00:00:00Z is what many exporters write for "no date" (.NET's
    # DateTime.MinValue): a refused row, not an OverflowError.
    path = csv_file(
        tmp_path,
        "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,good",
        "dupont,marie,0001-01-01T00:00:00Z,1000,domestic,r1",
    )

    _, _, err = refused("import_usage", path)

    assert err.startswith("line 3: started_at: ")
    assert len(err.splitlines()) == 1


def test_a_nul_character_is_refused_on_every_database(dupont, tmp_path):
    # SQLite stores a NUL, PostgreSQL text cannot ("DataError"): refuse it up front.
    path = csv_file(tmp_path, "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,r\x001")

    _, _, err = refused("import_usage", path)

    assert err.startswith("line 2: ")
    assert len(err.splitlines()) == 1


def test_a_member_deactivated_while_the_file_is_read_is_refused(dupont):
    def rows():
        yield Row(2, "dupont", "paul", "2026-03-02T10:00:00+01:00", "1000", "domestic", "p1")
        yield Row(3, "dupont", "marie", "2026-03-02T11:00:00+01:00", "1000", "domestic", "m1")
        # The last row is read: the owner turns paul off before the import locks.
        Member.objects.filter(user__username="paul").update(active=False)

    with pytest.raises(ImportRefused) as refusal:
        import_usage(rows(), now=NOW)

    assert refusal.value.problems == ["line 2: member: is not active (paul)"]
    assert UsageRecord.objects.count() == 0


def test_bytes_of_any_length_are_read_without_a_traceback(dupont, tmp_path):
    path = csv_file(
        tmp_path,
        "dupont,marie,2026-03-02T10:00:00+01:00,0000000000000000001000,domestic,padded",
        f"dupont,marie,2026-03-02T10:00:00+01:00,{'9' * 5000},domestic,huge",
    )

    error, _, err = refused("import_usage", path)

    assert err == f"line 3: bytes: must be from 1 to 10^13 bytes ({'9' * 40})\n"
    assert str(error) == f"Nothing imported: 1 problem(s) in {path}."


def test_a_zero_padded_byte_count_is_its_number(dupont, tmp_path):
    path = csv_file(tmp_path, "dupont,marie,2026-03-02T10:00:00+01:00,0001000,domestic,padded")

    run("import_usage", path)

    assert [r[3] for r in records()] == [1000]


def test_the_same_ref_in_two_households_is_two_records(dupont, tmp_path):
    path = csv_file(
        tmp_path,
        "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,shared",
        "martin,zoe,2026-03-02T10:00:00+01:00,2000,domestic,shared",
    )
    run("import_usage", path)

    out, _ = run("import_usage", path)  # a replay: both are known, in their own household

    assert [(r[0], r[2], r[3]) for r in records()] == [
        ("dupont", "shared", 1000),
        ("martin", "shared", 2000),
    ]
    assert "0 record(s); skipped 2 already recorded." in out


def test_an_import_pauses_the_collector_only_while_it_runs(dupont, tmp_path, monkeypatch):
    seen = []
    real_parse = imports._parse
    monkeypatch.setattr(imports, "_parse", lambda *a: seen.append(gc.isenabled()) or real_parse(*a))
    good = csv_file(tmp_path, "dupont,marie,2026-03-02T10:00:00+01:00,1000,domestic,g1")
    bad = csv_file(tmp_path, "dupont,marie,2026-03-02T10:00:00+01:00,0,domestic,b1", name="bad.csv")

    run("import_usage", good)
    refused("import_usage", bad)

    assert seen == [False, False]
    assert gc.isenabled()


def test_the_import_service_leaves_the_collector_alone(dupont, monkeypatch):
    """Only the command pauses it: the service may also run inside a web request."""
    seen = []
    real_parse = imports._parse
    monkeypatch.setattr(imports, "_parse", lambda *a: seen.append(gc.isenabled()) or real_parse(*a))
    good = Row(2, "dupont", "marie", "2026-03-02T10:00:00+01:00", "1000", "domestic", "g1")

    import_usage([good], now=NOW)

    assert seen == [True]
