"""Running commands the way cron and scripts do, and proving a refusal changed nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table of the project's apps (and the users), field by field."""
    models = [get_user_model()]
    for label in ("accounts", "plans", "usage"):
        models += apps.get_app_config(label).get_models()
    return {model._meta.label: list(model.objects.order_by("pk").values_list()) for model in models}


def run(name: str, *args, **options) -> tuple[str, str]:
    """Run a command that succeeds; its (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def refused(name: str, *args, **options) -> tuple[CommandError, str, str]:
    """Run a command that must refuse: a ``CommandError`` (one message, exit code
    non-zero, no traceback printed) and not a single row changed. Returns the error,
    stdout and stderr."""
    before = snapshot()
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(name, *args, stdout=out, stderr=err, **options)
    assert raised.value.returncode != 0
    assert "Traceback" not in err.getvalue() + out.getvalue()
    assert snapshot() == before
    return raised.value, out.getvalue(), err.getvalue()


def failed(name: str, *args, **options) -> tuple[CommandError, str, str]:
    """Run a command that ends in a ``CommandError`` without it being a refusal (rows
    may have changed: a rollover whose other households closed). Returns the error,
    stdout and stderr."""
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(name, *args, stdout=out, stderr=err, **options)
    return raised.value, out.getvalue(), err.getvalue()
