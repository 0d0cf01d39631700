# LCA — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
FLASK := $(BIN)/flask --app wsgi
PO := lca/translations/th/LC_MESSAGES/messages.po
MO := $(PO:.po=.mo)
# `make run` serves on PORT, and every command it runs (the demo issues certificates) makes its
# links and QR codes with that address, unless LCA_PUBLIC_URL says otherwise.
LCA_PUBLIC_URL ?= http://127.0.0.1:$(PORT)
DEV_ENV := LCA_ENV=development LCA_PUBLIC_URL=$(LCA_PUBLIC_URL)
# the stamp of the Node verifiers' installation (see below)
VERIFIERS := tests/verifier/node_modules/.installed

.PHONY: run test test-sqlite test-postgresql test-cluster security-check audit lint typecheck fmt lock translations i18n-update screenshots clean help bench bench-load bench-floor bench-certificates bench-import bench-mail bench-capacity bench-memory

help:
	@echo "make run      serve LCA with demo data on http://127.0.0.1:$(PORT)"
	@echo "make test     the whole suite, on SQLite and on a throwaway PostgreSQL;"
	@echo "              PYTEST_ARGS='-m \"not fuzz\"' leaves out the hypothesis fuzzing"
	@echo "make test-cluster  two app servers behind nginx, killed and HUPped under load (PostgreSQL)"
	@echo "make lint     ruff, bandit and mypy (make typecheck: mypy alone);  make fmt  ruff formatting"
	@echo "make lock     re-resolve requirements.lock (runtime) and requirements-dev.lock (+ dev)"
	@echo "              from pyproject.toml with pip's configured index, keeping today's pins"
	@echo "pre-commit: $(BIN)/pre-commit install  runs ruff (check, format) before each commit"
	@echo "make i18n-update  extract messages and merge them into the Thai catalogue"
	@echo "make screenshots  the browser journeys, keeping their screenshots in docs/screenshots"
	@echo "make bench    load test (locust) at 1,000 and 10,000 learners on SQLite and PostgreSQL,"
	@echo "              the certificate batch, each key page against its floor, the workers' memory"
	@echo "              and capacity in people; BENCH_LEARNERS=\"1000 10000 100000\" for more"
	@echo "make bench-load / bench-floor / bench-certificates / bench-import / bench-mail / bench-memory /"
	@echo "     bench-capacity  one benchmark (bench/results/*.json); bench-floor: each key page against"
	@echo "              its floor; bench-memory: a gunicorn worker's memory after every page;"
	@echo "              bench-capacity: how many people one server holds (CAPACITY_LEARNERS, CAPACITY_ARGS)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The development lock: the runtime lock (what a deployment installs) plus the dev extra.
$(VENV)/.installed: requirements.lock requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
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
	@echo "Staff's second step: the code of the authenticator-app key LCADEMOSTAFFKEYFORPHAYAO2567CITY (printed above with the code of the moment; README, Demo accounts)"
	@echo "Mail goes to instance/mail/, readable at http://127.0.0.1:$(PORT)/dev/mail"
	@# the worker delivers beside the app into the development mailbox, and stops with it
	@$(DEV_ENV) $(FLASK) lca worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(DEV_ENV) $(FLASK) run --host 127.0.0.1 --port $(PORT)

# The two backends' suites run side by side (one per core), each one's output printed whole
# when it ends; `make test-sqlite` or `make test-postgresql` runs one alone.
test: security-check $(VENV)/.installed $(MO) $(VERIFIERS)
	$(MAKE) --no-print-directory --output-sync=target -j2 test-sqlite test-postgresql

test-sqlite: $(VENV)/.installed $(MO) $(VERIFIERS)
	$(BIN)/pytest --backend sqlite $(PYTEST_ARGS)

test-postgresql: $(VENV)/.installed $(MO) $(VERIFIERS)
	$(BIN)/pytest --backend postgresql $(PYTEST_ARGS)

# Two app servers behind nginx on a throwaway PostgreSQL, Redis and moto's S3 server: kills and
# HUPs under load, every acknowledged write once (tests/cluster; docs/operations.md). Needs
# redis-server and nginx (Debian packages); `make test` does not run it.
test-cluster: $(VENV)/.installed $(MO)
	$(BIN)/pytest --backend postgresql -m cluster tests/cluster $(PYTEST_ARGS)

# The outside verifiers the tests run under Node (tests/verifier: verifier-core and jsonld.js,
# exactly as its package-lock.json pins them), installed again when the lock changes. npm
# uses the registry it is configured with. Without npm the tests that need them are skipped
# (under CI=true they fail).
$(VERIFIERS): tests/verifier/package-lock.json tests/verifier/package.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/verifier --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm is not installed: the outside-verifier tests will be skipped" \
			"(apt-get install nodejs npm)"; \
	fi

lint: $(VENV)/.installed security-check typecheck audit
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy reads what to check and how strictly from [tool.mypy] in pyproject.toml
typecheck: $(VENV)/.installed
	$(BIN)/mypy

# pip-audit over the runtime lock, with the advisories of the registry pip is configured with
# (tools/audit_lock.py says how it reads a registry that serves only the project's JSON)
audit: $(VENV)/.installed
	$(BIN)/python tools/audit_lock.py requirements.lock

# bandit over the application (what is deployed); each exception is marked and explained
# where it is (docs/security.md lists them)
security-check: $(VENV)/.installed
	$(BIN)/bandit -q -c pyproject.toml -r lca wsgi.py

fmt: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# pip-compile resolves through pip, so it uses the index and mirrors pip is configured with
# (pip.conf, PIP_INDEX_URL...) and writes none of them into the locks. The versions already
# pinned are kept unless pyproject.toml no longer allows them (pip-compile --upgrade-package
# NAME moves one on purpose). Both locks are compiled on their own, the dev lock first, the
# runtime lock constrained by it so the two never pin a package differently.
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock: $(VENV)/.installed
	$(PIP_COMPILE) --extra dev -o requirements-dev.lock pyproject.toml
	$(PIP_COMPILE) -c requirements-dev.lock -o requirements.lock pyproject.toml

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
	rm -rf $(VENV) .pytest_cache .ruff_cache tests/verifier/node_modules

BENCH_LEARNERS ?= 1000 10000
BENCH_BACKENDS ?= sqlite postgresql

bench: bench-load bench-floor bench-certificates bench-mail bench-memory bench-capacity

bench-load: $(VENV)/.installed $(MO)
	$(BIN)/python bench/load.py --backend $(BENCH_BACKENDS) --learners $(BENCH_LEARNERS) $(BENCH_ARGS)

# each key page's best time against its floor (/healthz and emitting the page's own HTML),
# on a 2,000-learner lca synth database of each backend
bench-floor: $(VENV)/.installed $(MO)
	for backend in $(BENCH_BACKENDS); do \
		$(BIN)/python bench/page_floor.py --backend $$backend --learners $(or $(FLOOR_LEARNERS),2000) || exit 1; \
	done

# how many people, clicking every 5-15 s, one server holds: steps of people until p95 > 300 ms
bench-capacity: $(VENV)/.installed $(MO)
	for backend in $(BENCH_BACKENDS); do \
		$(BIN)/python bench/capacity.py --backend $$backend --learners $(or $(CAPACITY_LEARNERS),10000) $(CAPACITY_ARGS) || exit 1; \
	done

bench-certificates: $(VENV)/.installed
	$(BIN)/python bench/certificate_batch.py --learners $(or $(LEARNERS),200)

# 5,000 invitations from an import, delivered by one worker and by two to a local SMTP server
bench-mail: $(VENV)/.installed $(MO)
	for backend in $(BENCH_BACKENDS); do \
		$(BIN)/python bench/mail.py --backend $$backend --learners $(or $(MAIL_LEARNERS),5000) || exit 1; \
	done

# Each gunicorn worker's RSS and PSS after every kind of page (4 workers, with and without
# --preload): fails when one is above 100 MB
bench-memory: $(VENV)/.installed $(MO)
	$(BIN)/python bench/worker_memory.py --learners $(or $(MEMORY_LEARNERS),1000)

bench-import: $(VENV)/.installed
	$(BIN)/python bench/learner_import.py --rows $(or $(ROWS),5000)
