# Datapool: `make run` serves the app with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEV := DEBUG=true

CHROMIUM := /usr/bin/chromium

.PHONY: run test bench format clean

$(INSTALLED): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Datapool needs Python 3.11 or newer (PYTHON=$(PYTHON))."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet -r requirements.txt
	touch $(INSTALLED)

# The browser tests drive Debian's Chromium (never a downloaded browser).
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	else \
		echo "The browser tests need Chromium at $(CHROMIUM): sudo apt-get install chromium chromium-driver"; \
		exit 1; \
	fi

run: $(INSTALLED)
	$(DEV) $(BIN)/python manage.py migrate --no-input
	$(DEV) $(BIN)/python manage.py demo --if-empty
	$(DEV) $(BIN)/python manage.py runserver 127.0.0.1:8000

test: $(INSTALLED) $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=config.test_settings
	$(BIN)/pytest -n 2

bench: $(INSTALLED)
	$(BIN)/python bench/benchmark.py
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		$(BIN)/python bench/benchmark.py --database-url postgres://postgres@127.0.0.1:5432/test; \
	else echo "No PostgreSQL on 127.0.0.1:5432: benchmark ran on SQLite only."; fi

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .hypothesis

# PNGs of the family pages for the docs: the demo household in a throw-away database.
.PHONY: screenshots
screenshots: $(INSTALLED) $(CHROMIUM)
	$(BIN)/python tools/screenshots.py
