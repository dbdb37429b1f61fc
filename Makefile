# National-data lakehouse: `make run` (the pipeline on sample data) and `make test`.
# Everything is installed and started from here: nothing needs to be installed by hand.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT        := $(abspath .)
STATE       := $(ROOT)/.state
VENV        := $(ROOT)/.venv
PY          := $(VENV)/bin/python
AIRFLOW     := $(VENV)/bin/airflow
PYTHON_BASE ?= python3.11
MINIO_VERSION ?= v0.0.0-20260212201848-7aac2a2c5b7c
MINIO_BIN   := $(ROOT)/.tools/bin/minio
JARS_DIR    := $(ROOT)/.cache/jars
WEB_DIR     := $(ROOT)/.cache/web
S3_PORT     ?= 9900
RUN_DATE    ?= 2026-11-26
ROWS        ?= 20000
SEED        ?= 42
TESTS       ?= tests
CHAOS_SCALE ?= full
TEST_WORKERS ?= 2
CHAOS_ARGS  ?=
CLUSTER_ROWS ?= 2000
CLUSTER_SUMMARY ?= $(STATE)/cluster/summary
# Reference data first (every sector conforms to it), then each sector's silver DAG and its gold DAG.
DAGS_IN_ORDER := reference environment_iot environment_gold agriculture agriculture_gold transport transport_gold

# Generated on first use (gitignored). Each recipe gets only the keys it needs, as environment
# variables (never on a command line): nothing by default, even when the caller's shell has them.
-include $(STATE)/secrets.env
PIPELINE_SECRETS := LAKEHOUSE_S3_ACCESS_KEY LAKEHOUSE_S3_SECRET_KEY LAKEHOUSE_PSEUDONYM_KEY LAKEHOUSE_PSEUDONYM_KEYS \
  LAKEHOUSE_PSEUDONYM_KEY_ID LAKEHOUSE_FTP_PASSWORD LAKEHOUSE_MQTT_PASSWORD \
  LAKEHOUSE_MQTT_PUBLISHER_PASSWORD LAKEHOUSE_HTTP_TOKEN
MINISTRY_SECRETS := $(sort $(filter LAKEHOUSE_MINISTRY_%_KEY,$(.VARIABLES)))
ROOT_SECRETS     := MINIO_ROOT_USER MINIO_ROOT_PASSWORD
unexport $(PIPELINE_SECRETS) $(MINISTRY_SECRETS) $(ROOT_SECRETS)
# The pipeline's identity (writer keys, pseudonym key, source logins): DAG runs, the Airflow UI, the
# benchmarks, the source servers and the operator's CLI. Never a ministry's keys or the store's root.
PIPELINE_TARGETS := run airflow bench bench-slice bench-sources bench-channels bench-live bench-query bench-store sources operator \
  stream-start cluster-run cluster-compare cluster-bench cluster-bench-store
# Only the names the secrets file defines: one from before keyrings has LAKEHOUSE_PSEUDONYM_KEY and
# not LAKEHOUSE_PSEUDONYM_KEYS / _KEY_ID, a newer one the reverse (jobs/privacy.py).
$(foreach v,$(PIPELINE_SECRETS),$(if $($(v)),$(eval $(PIPELINE_TARGETS): export $(v) := $$($(v)))))
# Everything only to what starts and provisions the store (its root, the writer and every ministry's
# identity) and to the tests, which provision throw-away ministry identities.
ADMIN_TARGETS := store test chaos cluster-up cluster-drills
$(foreach v,$(PIPELINE_SECRETS) $(MINISTRY_SECRETS) $(ROOT_SECRETS),$(if $($(v)),$(eval $(ADMIN_TARGETS): export $(v) := $$($(v)))))
# A ministry's CLI (`make lakehouse LAKEHOUSE_MINISTRY=mae ARGS='query "…"'`): that ministry's pair only.
MINISTRY_UC := $(if $(LAKEHOUSE_MINISTRY),$(shell printf %s '$(LAKEHOUSE_MINISTRY)' | tr a-z A-Z))
lakehouse: export LAKEHOUSE_MINISTRY_$(MINISTRY_UC)_ACCESS_KEY := $(LAKEHOUSE_MINISTRY_$(MINISTRY_UC)_ACCESS_KEY)
lakehouse: export LAKEHOUSE_MINISTRY_$(MINISTRY_UC)_SECRET_KEY := $(LAKEHOUSE_MINISTRY_$(MINISTRY_UC)_SECRET_KEY)
# The live monitoring page reads as the environment ministry (read-only, its own pair only).
LIVE_PORT ?= 8790
live live-start: export LAKEHOUSE_MINISTRY := mae
live live-start: export LAKEHOUSE_MINISTRY_MAE_ACCESS_KEY := $(LAKEHOUSE_MINISTRY_MAE_ACCESS_KEY)
live live-start: export LAKEHOUSE_MINISTRY_MAE_SECRET_KEY := $(LAKEHOUSE_MINISTRY_MAE_SECRET_KEY)
export LAKEHOUSE_S3_ENDPOINT ?= https://127.0.0.1:$(S3_PORT)
export LAKEHOUSE_S3_PORT := $(S3_PORT)
export LAKEHOUSE_STATE_DIR := $(STATE)
export LAKEHOUSE_JARS_DIR := $(JARS_DIR)
export LAKEHOUSE_TLS_CA ?= $(STATE)/tls/ca.crt
export LAKEHOUSE_SOURCE_ROOT ?= $(STATE)/sources
export AIRFLOW_HOME ?= $(STATE)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(ROOT)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__LAZY_LOAD_PLUGINS := True
export GX_ANALYTICS_ENABLED := False
export PYSPARK_PYTHON := $(PY)

.PHONY: help lakehouse live live-start live-stop stream-start stream-stop operator setup tls venv jars minio web chromium mqtt-install store store-stop sample sources sources-stop airflow-init run airflow test test-unit chaos lint security bench bench-slice bench-sources bench-channels bench-live bench-query bench-store lock clean clean-lake cluster-install cluster-up cluster-run cluster-compare cluster-down cluster-status cluster-drills cluster-bench cluster-bench-store

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "}; /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: venv jars minio web $(STATE)/secrets.env tls ## Install everything once: Python deps, JVM jars, MinIO, Data Docs assets (idempotent, fast when done)

venv: $(VENV)/.installed ## Python virtualenv from requirements.lock
$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON_BASE) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

jars: $(JARS_DIR)/.fetched ## Delta + hadoop-aws jars via Maven into .cache/jars (no download at Spark start)
$(JARS_DIR)/.fetched: infra/spark/pom.xml
	@rm -rf $(JARS_DIR)
	mvn -q -B -f infra/spark/pom.xml dependency:copy-dependencies -DoutputDirectory=$(JARS_DIR) -DincludeScope=runtime
	@touch $@

minio: $(ROOT)/.tools/minio-$(MINIO_VERSION).built ## Build the MinIO server from source (Go module proxy) into .tools/bin
$(ROOT)/.tools/minio-$(MINIO_VERSION).built:
	@mkdir -p $(ROOT)/.tools/bin
	GOBIN=$(ROOT)/.tools/bin GOFLAGS=-buildvcs=false go install github.com/minio/minio@$(MINIO_VERSION)
	@touch $@

web: $(WEB_DIR)/.installed ## Data Docs' CSS/JS (bootstrap, jquery, vega, …) from npm into .cache/web, so the docs work offline
$(WEB_DIR)/.installed: infra/web/package.json infra/web/package-lock.json infra/web/.npmrc
	@rm -rf $(WEB_DIR) && mkdir -p $(WEB_DIR)
	cp infra/web/package.json infra/web/package-lock.json infra/web/.npmrc $(WEB_DIR)/
	cd $(WEB_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

chromium: ## Headless Chromium (Debian package) for the browser tests of the steward report and Data Docs
	@test -x /usr/bin/chromium || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

mqtt-install: ## MQTT broker (Debian's mosquitto) the live sources publish to
	@test -x /usr/sbin/mosquitto || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mosquitto; }

# Checked on every make run (~0.2 s): keys a newer checkout needs (e.g. a new ministry's) are added,
# existing ones kept; make re-reads the file only when it changed.
$(STATE)/secrets.env: FORCE
	@$(PYTHON_BASE) infra/gen_secrets.py $@
FORCE:

tls: venv ## Local CA, the local servers' certificate (store, sources) and the CA's Java truststore into .state/tls (infra/gen_tls.py; idempotent)
	@$(PY) infra/gen_tls.py $(STATE)/tls

# Installers run as sub-makes, not prerequisites: a prerequisite would inherit the store's root keys.
store: ## Start the local S3 store (https://127.0.0.1:$(S3_PORT), local CA), create the bucket and the pipeline's identity
	@$(MAKE) --no-print-directory setup
	infra/store/store.sh start
	$(PY) infra/store/bootstrap.py

store-stop: ## Stop the local S3 store
	infra/store/store.sh stop

sample: venv ## Generate the deterministic sample sources of every sector (ROWS per day, RUN_DATE, SEED) into .state/sources
	infra/sources/sample.sh $(RUN_DATE) $(ROWS) $(SEED)

sources: $(STATE)/secrets.env ## Start the local source servers on 127.0.0.1 (HTTPS API :8780, FTPS :2121, MQTT over TLS :1884 lander / :1885 devices, SMTP :8025 for alert mail)
	@$(MAKE) --no-print-directory venv mqtt-install tls
	infra/sources/sources.sh start

sources-stop: ## Stop the local source servers
	infra/sources/sources.sh stop

airflow-init: venv ## Airflow metadata DB (SQLite in .state) and pools
	@mkdir -p $(AIRFLOW_HOME)
	$(AIRFLOW) db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || { tail -20 $(AIRFLOW_HOME)/db-migrate.log; exit 1; }
	$(AIRFLOW) pools set lakehouse_spark 1 "Spark work: one local session on a laptop; raise on a cluster" > /dev/null
	$(AIRFLOW) pools set lakehouse_quality_writer 1 "Quality tables take one writer at a time (Delta on S3)" > /dev/null

# make run sends alert e-mail to the local SMTP server `make sources` starts (mail in .state/mail/new);
# point LAKEHOUSE_SMTP_HOST/PORT and LAKEHOUSE_ALERT_EMAIL_TO at a real relay instead.
run: export LAKEHOUSE_SMTP_HOST ?= 127.0.0.1
run: export LAKEHOUSE_SMTP_PORT ?= 8025
run: export LAKEHOUSE_ALERT_EMAIL_TO ?= trung-tam-quan-trac@localhost
run: store sample sources airflow-init ## Run every sector's DAGs for RUN_DATE through Airflow, over the real source servers, and print the summary
	@mkdir -p $(STATE)/logs
	infra/sources/sources.sh publish $(RUN_DATE)
	$(PY) -m jobs.cli dags test --date $(RUN_DATE) --log-dir $(STATE)/logs $(DAGS_IN_ORDER)
	$(PY) -m jobs.cli summary --date $(RUN_DATE)
	$(PY) -m jobs.cli report
	@$(MAKE) --no-print-directory live-start
	@$(MAKE) --no-print-directory stream-start STREAM_DAY=$(RUN_DATE)
	@echo "alert e-mail sent to $$LAKEHOUSE_ALERT_EMAIL_TO via $$LAKEHOUSE_SMTP_HOST:$$LAKEHOUSE_SMTP_PORT; the local server keeps it in $(STATE)/mail/new ($$(ls $(STATE)/mail/new 2>/dev/null | wc -l) messages)"

live: ## The live monitoring page on http://127.0.0.1:8790/ (LIVE_PORT) in the foreground (open alerts, stations by province, 24 h VN_AQI)
	@$(MAKE) -s --no-print-directory venv
	$(VENV)/bin/lakehouse live --port $(LIVE_PORT)

live-start: ## The live page in the background (make run starts it; log .state/logs/live.log; make live-stop)
	@$(MAKE) -s --no-print-directory venv
	@mkdir -p $(STATE)/logs
	@if [ -f $(STATE)/live.pid ] && kill -0 "$$(cat $(STATE)/live.pid)" 2>/dev/null; then 	  echo "live monitoring page already up: http://127.0.0.1:$(LIVE_PORT)/"; exit 0; fi; 	nohup $(VENV)/bin/lakehouse live --port $(LIVE_PORT) > $(STATE)/logs/live.log 2>&1 & echo $$! > $(STATE)/live.pid; 	for _ in $$(seq 1 40); do 	  if (exec 3<>/dev/tcp/127.0.0.1/$(LIVE_PORT)) 2>/dev/null; then echo "live monitoring page: http://127.0.0.1:$(LIVE_PORT)/ (refreshes itself; make live-stop stops it)"; exit 0; fi; 	  kill -0 "$$(cat $(STATE)/live.pid)" 2>/dev/null || { echo "the live page did not start:"; tail -5 $(STATE)/logs/live.log; exit 1; }; 	  sleep 0.5; done; echo "the live page did not listen within 20 s; see $(STATE)/logs/live.log"; exit 1

STREAM_DAY ?=
STREAM_PERIOD ?= 5
stream-start: ## The live path in the background: lander (MQTT + FTP → log) and stream (→ live views, alerts, notices); STREAM_DAY=YYYY-MM-DD follows a past day; make stream-stop
	@mkdir -p $(STATE)/logs
	@for step in lander run; do pid=$(STATE)/stream-$$step.pid; \
	  if [ -f $$pid ] && kill -0 "$$(cat $$pid)" 2>/dev/null; then echo "stream $$step already running"; continue; fi; \
	  nohup $(VENV)/bin/lakehouse stream $$step --period $(STREAM_PERIOD) $(if $(STREAM_DAY),--day $(STREAM_DAY)) > $(STATE)/logs/stream-$$step.log 2>&1 & echo $$! > $$pid; \
	  echo "stream $$step started (log $(STATE)/logs/stream-$$step.log)"; done

stream-stop: ## Stop the background lander and stream
	@for step in lander run; do pid=$(STATE)/stream-$$step.pid; \
	  if [ -f $$pid ]; then kill "$$(cat $$pid)" 2>/dev/null || true; rm -f $$pid; echo "stream $$step stopped"; fi; done

live-stop: ## Stop the background live page
	@if [ -f $(STATE)/live.pid ]; then kill "$$(cat $(STATE)/live.pid)" 2>/dev/null || true; rm -f $(STATE)/live.pid; echo "live page stopped"; fi

airflow: store airflow-init ## Start the Airflow web UI (airflow standalone) for engineers
	PATH=$(VENV)/bin:$$PATH $(AIRFLOW) standalone

lakehouse: ## A ministry's CLI with only its own keys: make lakehouse LAKEHOUSE_MINISTRY=mae ARGS='catalog list'
	@test -n "$(LAKEHOUSE_MINISTRY)" || { echo "set LAKEHOUSE_MINISTRY to your ministry's code (e.g. mae); operators use 'make operator ARGS=…'" >&2; exit 2; }
	@$(MAKE) -s --no-print-directory venv
	@LAKEHOUSE_MINISTRY=$(LAKEHOUSE_MINISTRY) $(VENV)/bin/lakehouse $(ARGS)

operator: ## The CLI as the pipeline's identity (summary, report, erase, publish …): make operator ARGS='summary'
	@$(MAKE) -s --no-print-directory venv
	@$(VENV)/bin/lakehouse $(ARGS)

test: ## Import layering contracts, then unit, integration (real store + Spark + Delta), DAG and small chaos tests on TEST_WORKERS (2) workers; starts and stops the store
	@$(MAKE) --no-print-directory setup chromium mqtt-install
	$(VENV)/bin/lint-imports --no-cache
	@$(MAKE) --no-print-directory security
	AIRFLOW_HOME=$(STATE)/airflow-test $(MAKE) --no-print-directory airflow-init
	AIRFLOW_HOME=$(STATE)/airflow-test TEST_WORKERS=$(TEST_WORKERS) infra/with-store.sh infra/run-tests.sh $(TESTS)

chaos: ## Fault and attack scenarios at full size (real store, Spark, Airflow, sources); prints the table (CHAOS_SCALE=small, CHAOS_ARGS="-k name")
	@$(MAKE) --no-print-directory setup chromium mqtt-install
	AIRFLOW_HOME=$(STATE)/airflow-test $(MAKE) --no-print-directory airflow-init
	@rm -f $(ROOT)/test-output/chaos.jsonl
	status=0; LAKEHOUSE_CHAOS_SCALE=$(CHAOS_SCALE) AIRFLOW_HOME=$(STATE)/airflow-test infra/with-store.sh \
	  $(PY) -m pytest tests/chaos $(CHAOS_ARGS) || status=$$?; \
	$(PY) -m tests.chaos.table; exit $$status

test-unit: venv tls ## Only the fast unit tests (no store)
	$(PY) -m pytest tests/unit

lint: venv ## ruff + mypy + import layering contracts (lint-imports) + the security scanners
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy jobs expectations sample_sources dags bench
	$(VENV)/bin/lint-imports --no-cache
	@$(MAKE) --no-print-directory security

security: venv ## Scanners: detect-secrets (audited .secrets.baseline), bandit, pip-audit of requirements.lock
	$(PY) infra/check_secrets.py
	$(VENV)/bin/bandit -q -c pyproject.toml -r jobs expectations sample_sources dags infra
	$(PY) infra/audit_deps.py

# BENCH_SIZES (rows per day of the environment generator), BENCH_REPS; QUICK=1: 1e5 only, once; BENCH_LARGE=1 adds 1e7;
# BENCH_ONLY: some of airflow jobs lean floor.
BENCH_SIZES ?= 100000 1000000
BENCH_REPS  ?= 3
bench: export AIRFLOW_HOME := $(STATE)/airflow-bench
bench: store airflow-init ## Side by side on one seeded input: the pipeline via Airflow, its jobs, a lean polars baseline, the read floor (BENCH_SIZES, BENCH_REPS, BENCH_ONLY, QUICK=1; → .state/bench/side_by_side.*)
	$(PY) -m bench.side_by_side $(if $(QUICK),--quick --reps $${BENCH_REPS_QUICK:-1},--sizes $(BENCH_SIZES) $(if $(BENCH_LARGE),10000000) --reps $(BENCH_REPS)) $(if $(BENCH_ONLY),--only $(BENCH_ONLY))

bench-slice: store airflow-init ## The whole environment slice through the jobs, step by step (ROWS=1000000 by default)
	$(PY) -m tests.bench --rows $${BENCH_ROWS:-1000000}

bench-sources: store airflow-init ## Rows/s per source end to end and the gate's share, from the last `make run` of RUN_DATE (→ .state/bench/)
	$(PY) -m tests.bench_sources --date $(RUN_DATE)

bench-channels: store mqtt-install tls ## Each source channel's own rate (HTTP pages, FTP drop, MQTT drain) at the generators' BENCH_ROWS=1000000 setting (→ .state/bench/channels.json)
	$(PY) -m bench.channels --rows $${BENCH_ROWS:-1000000}

bench-live: store mqtt-install tls ## Live path latency, publish → alert row and → e-mail, p50/p95, replaying a day of the BENCH_ROWS=1000000 setting hour by hour (→ .state/bench/live.json)
	$(PY) -m bench.live --rows $${BENCH_ROWS:-1000000} $(BENCH_LIVE_ARGS)

bench-query: store ## Time typical ministry queries on the lake, DuckDB vs Spark (after `make run`; → .state/bench/query.json)
	$(PY) -m tests.bench_query --reps $${BENCH_REPS:-20}

bench-store: store ## PUT/GET objects/s and MB/s of the local store (4 KB, 1 MB, 8 MB objects; → .state/bench/store.json)
	$(PY) -m bench.store $(BENCH_STORE_ARGS)

# --- The same pipeline on a cluster topology, all on 127.0.0.1 (issue 15; infra/cluster/cluster.env) ---
cluster-install: ## Debian's PostgreSQL (Airflow's metadata) and haproxy (the store's one endpoint) for make cluster-up
	@test -x /usr/sbin/haproxy && ls /usr/lib/postgresql/*/bin/postgres > /dev/null 2>&1 || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql haproxy; }

cluster-up: ## Start the cluster: Spark master + 2 workers + history, MinIO 4 nodes × 2 drives behind haproxy, PostgreSQL, Airflow's 4 processes (LocalExecutor), the source servers
	@$(MAKE) --no-print-directory setup mqtt-install cluster-install
	infra/cluster/cluster.sh up

cluster-run: export CLUSTER_ROWS := $(CLUSTER_ROWS)
cluster-run: ## Run the last CLUSTER_DAYS (3) days through the cluster's scheduler (backfill + schedule, gold by asset events); print the summaries
	infra/cluster/cluster.sh run

cluster-compare: ## The cluster's days again through `make run` on the local stack (a fresh clone's lake), then every count compared
	@mkdir -p $(STATE)/compare
	@for day in $$(infra/cluster/cluster.sh days); do \
	  $(MAKE) --no-print-directory run RUN_DATE=$$day ROWS=$(CLUSTER_ROWS) > $(STATE)/compare/run-$$day.log 2>&1 || { tail -20 $(STATE)/compare/run-$$day.log; exit 1; }; \
	  $(PY) -m jobs.cli summary --date $$day --json > $(STATE)/compare/$$day.json; \
	  echo "local run of $$day done"; done
	@$(MAKE) --no-print-directory stream-stop live-stop > /dev/null
	$(PY) infra/cluster/compare.py $(STATE)/compare $(CLUSTER_SUMMARY)

cluster-drills: ## Failure drills on the running cluster (tests/cluster): a Spark worker killed mid-stage, MinIO nodes stopped mid-write, a task's process and the scheduler killed mid-run
	infra/cluster/cluster.sh exec $(PY) -m pytest tests/cluster -p no:cacheprovider -q -s $(CLUSTER_DRILL_ARGS)

cluster-bench: ## `make bench`'s jobs called directly and the lean baseline, on the cluster (BENCH_SIZES, BENCH_REPS; → .state/cluster/bench/)
	infra/cluster/cluster.sh exec $(PY) -m bench.side_by_side --only $(or $(BENCH_ONLY),jobs lean) --sizes $(BENCH_SIZES) --reps $(BENCH_REPS)

cluster-bench-store: ## The same store benchmark against the cluster's four MinIO nodes behind haproxy (→ .state/cluster/bench/store.json)
	infra/cluster/cluster.sh exec $(PY) -m bench.store $(BENCH_STORE_ARGS)

cluster-status: ## Every cluster process, the store's quorum and Airflow's health
	infra/cluster/cluster.sh status

cluster-down: ## Stop every cluster process (data kept in .state/cluster); fails if a cluster port or process is left
	infra/cluster/cluster.sh down

lock: ## Re-resolve requirements.in into requirements.lock (needs the registries)
	rm -rf $(ROOT)/.cache/lockenv && $(PYTHON_BASE) -m venv $(ROOT)/.cache/lockenv
	$(ROOT)/.cache/lockenv/bin/pip install -q -r requirements.in
	{ head -2 requirements.lock; $(ROOT)/.cache/lockenv/bin/pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean-lake: ## Delete the lake's data, Airflow DB, sample sources and broker queues (keeps tools and secrets)
	-infra/store/store.sh stop
	-infra/sources/sources.sh stop
	rm -rf $(STATE)/minio $(STATE)/airflow $(STATE)/airflow-test $(STATE)/airflow-bench $(STATE)/gx $(STATE)/sources $(STATE)/logs \
	  $(STATE)/mqtt $(STATE)/servers $(STATE)/staging

clean: clean-lake ## Also delete the virtualenv, jars, MinIO build and secrets
	rm -rf $(VENV) $(ROOT)/.cache $(ROOT)/.tools $(STATE)
