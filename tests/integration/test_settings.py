"""Settings as production and development read them (each in a fresh process)."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def run(code_or_args, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DJANGO_SETTINGS_MODULE",
            "DATABASE_URL",
            "SECRET_KEY",
            "DEBUG",
            "SECURE_SSL_REDIRECT",
        }
    }
    clean.update(env)
    args = ["-c", code_or_args] if isinstance(code_or_args, str) else code_or_args
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


PROD = {
    "SECRET_KEY": "a-long-random-production-key-" + "x7Q" * 20,
    "ALLOWED_HOSTS": "datapool.example.org",
}


def test_atomic_requests_stay_off():
    assert settings.DATABASES["default"]["ATOMIC_REQUESTS"] is False


def test_secret_key_is_required_without_debug():
    result = run(
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()"
    )
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_development_runs_without_secret_key():
    code = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup();"
        "from django.conf import settings; print(settings.DEBUG)"
    )
    result = run(code, DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_sqlite_file_database_uses_wal_immediate_and_a_busy_timeout(tmp_path):
    code = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup();"
        "from django.db import connection; c = connection.cursor();"
        "print(c.execute('PRAGMA journal_mode').fetchone()[0]);"
        "print(c.execute('PRAGMA busy_timeout').fetchone()[0]);"
        "print(connection.transaction_mode)"
    )
    result = run(code, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **PROD)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "20000", "IMMEDIATE"]


def test_check_deploy_is_clean_with_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PROD)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
