# LCA — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
PO := lca/translations/th/LC_MESSAGES/messages.po
MO := $(PO:.po=.mo)
DEV_ENV := LCA_ENV=development

.PHONY: run test test-sqlite test-postgresql security-check lint fmt lock translations i18n-update screenshots clean help bench bench-load bench-certificates bench-import

help:
	@echo "make run      serve LCA with demo data on http://127.0.0.1:$(PORT)"
	@echo "make test     the whole suite, on SQLite and on a throwaway PostgreSQL"
	@echo "make lint     ruff and bandit checks;  make fmt  ruff formatting"
	@echo "make lock     re-resolve requirements.lock from pyproject.toml"
	@echo "make i18n-update  extract messages and merge them into the Thai catalogue"
	@echo "make screenshots  the browser journeys, keeping their screenshots in docs/screenshots"
	@echo "make bench    load test (locust) at 1,000 and 10,000 learners on SQLite and PostgreSQL,"
	@echo "              and the certificate batch; BENCH_LEARNERS=\"1000 10000 100000\" for more"
	@echo "make bench-load / bench-certificates / bench-import  one benchmark (bench/results/*.json)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	touch $@

$(MO): $(PO) $(VENV)/.installed
	$(BIN)/pybabel -q compile -d lca/translations --statistics

translations: $(MO)

run: $(VENV)/.installed $(MO)
	$(DEV_ENV) $(FLASK) db upgrade
	$(DEV_ENV) $(FLASK) lca seed
	$(DEV_ENV) $(FLASK) lca demo
	$(DEV_ENV) $(FLASK) lca keys generate
	@echo "LCA is at http://127.0.0.1:$(PORT) — sign in as admin@example.org / demo-pass-2569"
	$(DEV_ENV) $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: security-check test-sqlite test-postgresql

test-sqlite: $(VENV)/.installed $(MO)
	$(BIN)/pytest --backend sqlite $(PYTEST_ARGS)

test-postgresql: $(VENV)/.installed $(MO)
	$(BIN)/pytest --backend postgresql $(PYTEST_ARGS)

lint: $(VENV)/.installed security-check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# bandit over the application (what is deployed); each exception is marked and explained
# where it is (docs/security.md lists them)
security-check: $(VENV)/.installed
	$(BIN)/bandit -q -c pyproject.toml -r lca wsgi.py

fmt: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lock: $(VENV)/.installed
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
		--index-url https://pypi.org/simple --quiet -o requirements.lock

i18n-update: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -o lca/translations/messages.pot \
		--sort-output --no-location --project LCA --copyright-holder LCA .
	$(BIN)/pybabel -q update -i lca/translations/messages.pot -d lca/translations \
		--width 100 --no-fuzzy-matching --ignore-obsolete
	rm lca/translations/messages.pot

# The journeys that take the README's screenshots, writing them into docs/screenshots.
screenshots: $(VENV)/.installed $(MO)
	LCA_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/e2e \
		-k "learner_logs_answers or instructor_takes or public"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

BENCH_LEARNERS ?= 1000 10000
BENCH_BACKENDS ?= sqlite postgresql

bench: bench-load bench-certificates

bench-load: $(VENV)/.installed $(MO)
	$(BIN)/python bench/load.py --backend $(BENCH_BACKENDS) --learners $(BENCH_LEARNERS) $(BENCH_ARGS)

bench-certificates: $(VENV)/.installed
	$(BIN)/python bench/certificate_batch.py --learners $(or $(LEARNERS),200)

bench-import: $(VENV)/.installed
	$(BIN)/python bench/learner_import.py --rows $(or $(ROWS),5000)
