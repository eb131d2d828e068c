"""The shape the house style asks of product code (STYLE.md "Modules stay small")."""

from __future__ import annotations

from pathlib import Path

import pytest
from radon.complexity import cc_visit

ROOT = Path(__file__).resolve().parents[2]
APPS = ["core", "accounts", "plans", "usage", "web", "config"]
MAX_LINES = 300
MAX_COMPLEXITY = 15  # radon's cyclomatic complexity; 16 and above is refused


def product_modules() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    )


@pytest.mark.parametrize("path", product_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_is_small(path):
    lines = path.read_text().count("\n")
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)}: {lines} lines"


@pytest.mark.parametrize("path", product_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_function_is_too_complex(path):
    complex_ones = [
        f"{block.fullname} ({block.complexity})"
        for block in cc_visit(path.read_text())
        if block.complexity > MAX_COMPLEXITY
    ]
    assert not complex_ones, f"{path.relative_to(ROOT)}: {', '.join(complex_ones)}"


def test_the_shape_checks_see_the_product_code():
    names = {str(p.relative_to(ROOT)) for p in product_modules()}
    assert "core/periods.py" in names
    assert not any("migrations" in name for name in names)
