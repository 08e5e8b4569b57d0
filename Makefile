# Everything runs from a virtualenv in .venv, made on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Written after a successful install: re-running is free until pyproject.toml changes.
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
PYTEST_ARGS ?=

.PHONY: venv browsers redis npm jsdeps test lint demo bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@

# The browser tests drive Debian's chromium; Playwright's own browser download
# is not used.
browsers:
	@if [ -x $(CHROMIUM) ]; then \
		echo "chromium: $(CHROMIUM)"; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
		sudo -n apt-get update && \
		sudo -n env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends chromium; \
	else \
		echo "$(CHROMIUM) is missing and this user cannot install it." >&2; \
		echo "Run as root, or: sudo apt-get install chromium" >&2; \
		exit 1; \
	fi
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) is still missing after the install" >&2; exit 1; }

# The scale-out and fault tests start their own redis-server, nginx and PostgreSQL (Debian's
# packages), as docs/deploy.md's local recipe does; none is used as a system service.
redis:
	@if command -v redis-server >/dev/null 2>&1 && command -v nginx >/dev/null 2>&1 \
			&& ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "redis-server, nginx and postgresql are installed"; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			redis-server nginx postgresql; \
	else \
		echo "missing: apt-get install redis-server nginx postgresql" >&2; \
		exit 1; \
	fi

# Node packages the tests use, each pinned by its package-lock.json: Microsoft's SignalR
# client (the hub's compliance test) and axe-core (the accessibility checks of every page).
JSDIRS := tests/integrations/clarity/simulator/js tests/e2e/js
JSSTAMPS := $(addsuffix /node_modules/.installed,$(JSDIRS))

jsdeps: $(JSSTAMPS)

npm:
	@if ! command -v npm >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y --no-install-recommends nodejs npm; \
		else \
			echo "npm is missing: install Node.js (apt-get install nodejs npm)" >&2; exit 1; \
		fi; \
	fi

%/node_modules/.installed: %/package-lock.json | npm
	npm ci --prefix $* --no-audit --no-fund
	@touch $@

test: venv browsers redis jsdeps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

# The simulator, the bridge and the dashboard in one process; prints the URLs and a login.
demo: venv
	$(BIN)/python manage.py demo

# The fan-out benchmark (docs/benchmarks.md): prints one JSON line; BENCH_ARGS=--quick for a
# smoke run, e.g. `make bench BENCH_ARGS="--clients 1000 --rate 50"`.
BENCH_ARGS ?=
bench: venv
	$(BIN)/python bench/fanout.py $(BENCH_ARGS)

# Refresh the interface catalogues (locale/) from the code and compile them; needs GNU
# gettext. Translate the new entries in each .po, then run it again (docs/translating.md).
messages: venv
	$(BIN)/python manage.py makemessages -l fr -l de --no-location \
		--ignore=.venv --ignore=tests --ignore=bench --ignore='integrations/*'
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis staticfiles test-artifacts \
		build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
