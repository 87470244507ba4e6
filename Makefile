# Yeyak developer entry points. `make` (or `make help`) lists the targets.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo

.PHONY: help run run-check test build lint lint-protos bootstrap bench bench-admission bench-identity bench-eligibility bench-booking bench-search clean-run

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

build: ## cargo build the whole workspace (dev profile)
	$(CARGO) build --workspace

lint-protos: ## buf lint proto/
	scripts/lint-protos.sh

lint: lint-protos ## buf lint + cargo clippy with warnings as errors
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: bootstrap lint-protos ## bootstrap, buf lint, rustfmt check, cargo test
	@if $(CARGO) fmt --version >/dev/null 2>&1; then \
		echo "cargo fmt --all -- --check"; \
		$(CARGO) fmt --all -- --check; \
	else \
		echo "rustfmt not installed; skipping format check"; \
	fi
	env -u RUST_TEST_THREADS $(CARGO) test --workspace --all-targets

bench: bench-admission bench-identity bench-eligibility bench-booking bench-search ## Every benchmark (release builds; see docs/benchmarks.md)

bench-admission: ## Waiting-room surge: 1,000,000 joins and polls beside a no-op RPC floor
	$(CARGO) run --release -p yeyak-e2e --bin bench_admission

bench-identity: ## Identity verifications/s beside direct provider calls; one provider failing 50%
	$(CARGO) run --release -p yeyak-e2e --bin bench_identity

bench-eligibility: ## CheckEligibility/s on a 1M registry beside a PK lookup; time to load 20M people
	YEYAK_LOG=warn $(CARGO) run --release -p yeyak-e2e --bin bench_eligibility

bench-booking: ## Bookings/s end to end beside pgbench tpcb-like, then oversell/double-booking checks
	YEYAK_LOG=warn $(CARGO) run --release -p yeyak-e2e --bin bench_booking

bench-search: ## Inventory reads on the full catalogue beside a primary-key SELECT (seeds yeyak_bench_inventory once)
	YEYAK_LOG=warn $(CARGO) run --release -p yeyak-e2e --bin bench_search

clean-run: ## Remove .run/ (logs, pids, dev keys)
	rm -rf .run
