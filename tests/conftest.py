import pytest

from usage.ledger import find_violations


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "ledger_dirty: the test breaks the ledger on purpose; skip the R6 check"
    )


@pytest.fixture(autouse=True)
def _ledger_stays_clean(request):
    """After every test that touched the database, every R6 invariant still holds."""
    yield
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
    } & set(request.fixturenames)
    if uses_db and not request.node.get_closest_marker("ledger_dirty"):
        violations = find_violations()
        assert not violations, "\n".join(map(str, violations))
