"""Datapool benchmark: the month-end rollover and the usage import at scale.

    .venv/bin/python bench/benchmark.py                      # SQLite (a fresh temporary file)
    .venv/bin/python bench/benchmark.py --database-url postgres://postgres@127.0.0.1:5432/test

It builds N households (3 members each, a 20 GB plan with rollover capped at 10 GB and
a roaming allowance), writes a carrier CSV with a month of their usage, then measures,
each in a fresh process: importing that CSV (``import_usage``) and closing the month for
every household (``rollover``). Each figure is printed with its target beside it.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {
    "rollover_per_s": 2000,
    "import_rows_per_s": 10000,
    "import_peak_mb": 300,
    "dashboard_ms": 50,
}


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def bench_month(now: datetime):
    """The newest month whose grace has passed by a margin, and the month after it."""
    from core.periods import Calendar

    month = Calendar("Europe/Paris").period_of(now - timedelta(days=3)).previous()
    return month


# --- phases, each run in a child process ----------------------------------------------------


def phase_setup(households: str, rows: str, csv_path: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from accounts.models import Household, Member
    from plans.models import Plan, Terms

    households, rows = int(households), int(rows)
    call_command("migrate", verbosity=0)
    now = datetime.now(UTC)
    month = bench_month(now)
    unusable = make_password(None)
    user_model = get_user_model()
    GB = 10**9
    homes = Household.objects.bulk_create(
        Household(slug=f"bench-{i}", name=f"Bench {i}", start_period=month.key)
        for i in range(households)
    )
    users = user_model.objects.bulk_create(
        user_model(username=f"b{i}-{n}", password=unusable)
        for i in range(households)
        for n in range(3)
    )
    Member.objects.bulk_create(
        Member(
            user=user,
            household=homes[index // 3],
            role="owner" if index % 3 == 0 else "member",
            monthly_cap_bytes=8 * GB if index % 3 == 2 else None,
            cap_action="block" if index % 3 == 2 else "notify",
        )
        for index, user in enumerate(users)
    )
    terms = {
        "monthly_allowance_bytes": 20 * GB,
        "roaming_allowance_bytes": 2 * GB,
        "rollover": True,
        "rollover_months": 2,
        "rollover_cap_bytes": 10 * GB,
        "consumption_order": "rollover_first",
    }
    plans = Plan.objects.bulk_create(Plan(household=h, name="Bench 20 GB", **terms) for h in homes)
    Terms.objects.bulk_create(
        Terms(household=h, plan=p, period=month.key, **terms)
        for h, p in zip(homes, plans, strict=True)
    )
    start = datetime(month.year, month.month, 1, 12, tzinfo=UTC)
    rng = random.Random(20261125)
    with open(csv_path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["ref", "household", "username", "started_at", "bytes", "zone"])
        for n in range(rows):
            i = n % households
            at = start + timedelta(minutes=rng.randrange(0, 27 * 24 * 60))
            zone = "roaming" if rng.random() < 0.05 else "domestic"
            writer.writerow(
                [
                    f"r{n}",
                    f"bench-{i}",
                    f"b{i}-{rng.randrange(3)}",
                    at.isoformat(),
                    rng.randrange(1, 2 * GB),
                    zone,
                ]
            )
    return {"month": month.key}


def phase_import(csv_path: str) -> dict:
    from django.db import connection

    from core.db import collector_paused
    from usage.services import import_usage, read_rows

    baseline = peak_rss_mb()
    counter = QueryCounter()
    started = time.perf_counter()
    with (
        connection.execute_wrapper(counter),
        open(csv_path, encoding="utf-8-sig", newline="") as stream,
        collector_paused(),  # as the import_usage command does
    ):
        report = import_usage(read_rows(stream))
    seconds = time.perf_counter() - started
    return {
        "rows": report.imported,
        "seconds": seconds,
        "queries": counter.count,
        "peak_mb": peak_rss_mb(),
        "baseline_mb": baseline,
    }


def phase_rollover() -> dict:
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Household
    from plans.models import PeriodClose

    households = Household.objects.count()
    baseline = peak_rss_mb()
    counter = QueryCounter()
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        call_command("rollover", verbosity=0)
    seconds = time.perf_counter() - started
    return {
        "households": households,
        "closed": PeriodClose.objects.count(),
        "seconds": seconds,
        "queries": counter.count,
        "peak_mb": peak_rss_mb(),
        "baseline_mb": baseline,
    }


def phase_check() -> dict:
    from usage.ledger import find_violations

    started = time.perf_counter()
    violations = find_violations()
    return {"violations": len(violations), "seconds": time.perf_counter() - started}


def phase_dashboard() -> dict:
    """Server time of the dashboard for a household of 20 members with a month of usage
    (the median of 50 requests through Django's test client, in this process)."""
    import statistics

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from accounts.services import create_household, create_member
    from plans.services import create_plan, set_plan
    from usage.services import Row, import_usage

    now = datetime.now(UTC)
    month = bench_month(now).next()  # the current period: the one the dashboard shows
    household = create_household(slug="dash", name="Dashboard", start_period=month.key)
    set_plan(household, create_plan(household, name="100 GB", monthly_allowance_bytes=10**11))
    members = [
        create_member(household, username=f"dash-{n}", role="owner" if n == 0 else "member")
        for n in range(20)
    ]
    start = household.calendar.start(month)
    hours = max(1, int((now - start).total_seconds() // 3600) - 1)
    rows = [
        Row(
            n + 2,
            "dash",
            m.username,
            (start + timedelta(hours=(n * 7) % hours)).isoformat(),
            str(30_000_000 + n),
            "domestic",
            f"d{n}",
        )
        for n, m in enumerate(members * 30)
    ]
    import_usage(rows)
    if connection.vendor == "postgresql":
        # What autovacuum does within a minute of a bulk load (the import and rollover
        # before this phase): the planner sees the tables as they now are.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    user = get_user_model().objects.get(username="dash-0")
    client = Client()
    client.force_login(user)
    storage = {"staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    timings, queries = [], QueryCounter()
    with override_settings(STORAGES={**settings_storages(), **storage}):
        client.get("/", secure=True)  # the first view may open the period
        for _ in range(50):
            started = time.perf_counter()
            response = client.get("/", secure=True)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        with connection.execute_wrapper(queries):
            client.get("/", secure=True)
    return {"median_ms": statistics.median(timings), "queries": queries.count, "members": 20}


def settings_storages() -> dict:
    from django.conf import settings

    return dict(settings.STORAGES)


PHASES = {
    "setup": phase_setup,
    "import": phase_import,
    "rollover": phase_rollover,
    "check": phase_check,
    "dashboard": phase_dashboard,
}


# --- the parent: a fresh database, each phase in its own process -----------------------------


def run_phase(env: dict, name: str, *args) -> dict:
    result = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, __file__, "--phase", name, *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"phase {name} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def fresh_database(url: str | None, workdir: str) -> str:
    if url is None:
        return f"sqlite:///{workdir}/bench.sqlite3"
    import psycopg

    base, _, _ = url.rpartition("/")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS datapool_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE datapool_bench")
    return f"{base}/datapool_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    options, rest = parser.parse_known_args()
    if options.phase:
        django_setup()
        print(json.dumps(PHASES[options.phase](*rest)))
        return

    with tempfile.TemporaryDirectory() as workdir:
        url = fresh_database(options.database_url, workdir)
        env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false", "ALLOWED_HOSTS": "testserver"}
        env.setdefault("SECRET_KEY", "benchmark-only-key-not-a-secret")
        engine = "PostgreSQL" if url.startswith("postgres") else "SQLite"
        print(
            f"Datapool benchmark on {engine}: {options.households} households, {options.rows} rows"
        )
        csv_path = f"{workdir}/usage.csv"
        setup = run_phase(env, "setup", options.households, options.rows, csv_path)
        print(f"  built {options.households} households and a CSV of {setup['month']} usage")

        imported = run_phase(env, "import", csv_path)
        rate = imported["rows"] / imported["seconds"]
        print(
            f"  import_usage: {imported['rows']} rows in {imported['seconds']:.1f} s = "
            f"{rate:,.0f} rows/s (target >= {TARGETS['import_rows_per_s']:,}); "
            f"{imported['queries']} queries; peak RSS {imported['peak_mb']:.0f} MB "
            f"(target < {TARGETS['import_peak_mb']} MB; {imported['baseline_mb']:.0f} MB before)"
        )

        rolled = run_phase(env, "rollover")
        rate = rolled["households"] / rolled["seconds"]
        print(
            f"  rollover: {rolled['closed']} periods of {rolled['households']} households in "
            f"{rolled['seconds']:.1f} s = {rate:,.0f} households/s "
            f"(target >= {TARGETS['rollover_per_s']:,}); {rolled['queries']} queries = "
            f"{rolled['queries'] / rolled['households']:.3f} per household; "
            f"peak RSS {rolled['peak_mb']:.0f} MB ({rolled['baseline_mb']:.0f} MB before)"
        )
        check = run_phase(env, "check")
        print(f"  check_ledger: {check['violations']} violations ({check['seconds']:.1f} s)")
        dash = run_phase(env, "dashboard")
        print(
            f"  dashboard: {dash['median_ms']:.1f} ms server time (median of 50) with "
            f"{dash['members']} members and a month of usage "
            f"(target < {TARGETS['dashboard_ms']} ms); {dash['queries']} queries"
        )


if __name__ == "__main__":
    main()
