# Yeyak developer entry points. `make` (or `make help`) lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo

.PHONY: help run run-check web test test-browser test-deploy test-rules test-chart-run sync-kustomize image build lint lint-protos bootstrap bench bench-admission bench-identity bench-eligibility bench-booking bench-search bench-tokens bench-proofs clean-run

help: ## List the targets
	@echo "Yeyak make targets:"
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

run: ## Start infra, build, run all services + mocks, run the demo, wait for Ctrl-C
	scripts/run.sh

run-check: ## Like run, but stop everything right after the demo (non-interactive)
	scripts/run.sh --no-wait

bootstrap: ## Ensure PostgreSQL, Redis, RabbitMQ are running and buf is installed
	scripts/bootstrap.sh

web: bootstrap ## Build the citizen page into web/dist (npm ci into web/node_modules, buf generate, tsc, esbuild)
	scripts/web.sh

build: ## cargo build the whole workspace (dev profile)
	$(CARGO) build --workspace

lint-protos: ## buf lint proto/
	scripts/lint-protos.sh

lint: lint-protos ## buf lint, service layout, rustfmt check, clippy with warnings as errors
	scripts/check-layout.sh
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The browser test mostly waits on its processes, as the chart run does:
# the two run side by side after the main suite, which skips it.
BROWSER_TEST := a_person_books_from_the_page_waits_fairly_and_every_step_is_accessible_and_light

test: bootstrap web lint test-deploy ## bootstrap, the page, every lint, the offline deployment checks, the whole test suite, then the chart-driven run beside the page in Chromium
	env -u RUST_TEST_THREADS $(CARGO) test --workspace --all-targets -- --skip $(BROWSER_TEST)
	$(MAKE) --no-print-directory -j2 --output-sync=target test-chart-run test-browser CHART_RUN_BUILD="$(CARGO) build --workspace --all-targets"

test-browser: ## The citizen page in headless Chromium against the whole stack, the edge and the static server (tests/tests/browser.rs)
	scripts/test-browser.sh

test-deploy: ## Helm chart, kustomize overlays, NetworkPolicies, Dockerfile, alert rules (promtool), dashboards: rendered and validated offline
	PYTHONDONTWRITEBYTECODE=1 .tools/venv/bin/python -m pytest tests/deploy -q

# The one rules file (shipped by the chart) and its unit tests, with Debian's
# promtool (scripts/bootstrap.sh installs it); docs/operations.md. test-deploy
# (so `make test`) runs the same two commands in tests/deploy/test_observability.py,
# beside the checks of the dashboards; this target runs them alone.
RULES_FILE := helm/yeyak/files/rules/yeyak.rules.yml
RULE_TESTS := $(wildcard observability/rules/tests/*.test.yml)

test-rules: ## promtool check rules + promtool test rules: every alert fires and stays quiet on synthetic series
	promtool check rules $(RULES_FILE)
	promtool test rules $(RULE_TESTS)

# `make test` has compiled every binary already (`--all-targets`) but cargo test leaves them in
# target/debug/deps: `cargo build --all-targets` only copies them out (same features), whereas
# `--bins` alone would rebuild 55 crates, whose features differ without the dev-dependencies.
CHART_RUN_BUILD ?= $(CARGO) build --bins -p admission -p identity -p eligibility -p inventory -p reservation -p notification \
	-p mock-registry -p mock-idp -p mock-sms -p edge -p yeyak-dev -p yeyak-ctl

test-chart-run: ## proto/ loaded by a Python client (real error details); the Helm chart's Deployments as local processes, book through them, scale identity, stop a replica; a browser's calls through the edge
	$(CHART_RUN_BUILD)
	PYTHONDONTWRITEBYTECODE=1 .tools/venv/bin/python -m pytest tests/proto -q -p no:cacheprovider
	PYTHONDONTWRITEBYTECODE=1 .tools/venv/bin/python -m pytest tests/chart_run -q -p no:cacheprovider

IMAGE_REGISTRY ?= ghcr.io/yeyak
IMAGE_TAG ?= $(shell awk -F'"' '/^version = /{print $$2; exit}' Cargo.toml)
# The static server's image bakes in the built page (web/dist): it joins the
# list once the page is built, so `make image` works without the page's toolchain.
IMAGES := admission identity eligibility inventory reservation notification mock-registry mock-idp mock-sms edge \
	$(if $(wildcard web/dist/index.html),static)

image: ## Build every container image (needs a Docker engine): IMAGE_REGISTRY=... IMAGE_TAG=...
	@$(if $(filter static,$(IMAGES)),,echo "web/dist/index.html is missing: no yeyak-static image (build the page first)";)
	@for t in $(IMAGES); do \
		echo "docker build --target $$t -t $(IMAGE_REGISTRY)/yeyak-$$t:$(IMAGE_TAG) ."; \
		docker build --target $$t --build-arg VERSION=$(IMAGE_TAG) --build-arg REVISION=$$(git rev-parse --short HEAD) \
			-t $(IMAGE_REGISTRY)/yeyak-$$t:$(IMAGE_TAG) . || exit 1; \
	done

sync-kustomize: ## Regenerate the kustomize layers in k8s/ from helm/yeyak (after a chart or values change)
	PYTHONDONTWRITEBYTECODE=1 .tools/venv/bin/python scripts/deploy/sync-kustomize.py

bench: bench-admission bench-identity bench-eligibility bench-booking bench-search bench-tokens bench-proofs ## Every benchmark (release builds; see docs/benchmarks.md)

bench-admission: ## Waiting-room surge: 1,000,000 joins and polls beside a no-op RPC floor
	$(CARGO) run --release -p yeyak-e2e --bin bench_admission

bench-identity: ## Identity verifications/s beside direct provider calls; one provider failing 50%
	$(CARGO) run --release -p yeyak-e2e --bin bench_identity

bench-eligibility: ## CheckEligibility/s on a 1M registry beside a PK lookup; time to load 20M people
	YEYAK_LOG=warn $(CARGO) run --release -p yeyak-e2e --bin bench_eligibility

bench-booking: ## Bookings/s end to end beside pgbench tpcb-like, then oversell/double-booking checks
	YEYAK_LOG=warn $(CARGO) run --release -p yeyak-e2e --bin bench_booking

bench-tokens: ## The pass check with 5% forged passes beside a clean run; one signature alone and batched
	$(CARGO) run --release -p yeyak-platform --example bench_tokens -- --passes 40000 --rounds 5

bench-proofs: ## Protected calls/s with device-bound passes (a proof per call) beside unbound passes
	$(CARGO) run --release -p yeyak-platform --example bench_proofs

bench-search: ## Inventory reads on the full catalogue beside a primary-key SELECT (seeds yeyak_bench_inventory once)
	YEYAK_LOG=warn $(CARGO) run --release -p yeyak-e2e --bin bench_search

clean-run: ## Remove .run/ (logs, pids, dev keys) and the dev databases of `make run`
	rm -rf .run
	for db in yeyak_admission yeyak_inventory yeyak_reservation yeyak_notification yeyak_registry; do \
		psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $$db WITH (FORCE)"; \
	done
