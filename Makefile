# Herd: build, test and run targets. `make run` starts the site, `make test` runs every test.
#
# Postgres and Redis are real services: deploy/local/ensure-services.sh uses the ones that answer
# and starts private ones (Postgres :5490, Redis :6390) when none does.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Shared by every checkout on the machine: a cold build takes minutes, a warm one seconds.
CARGO_TARGET_DIR ?= $(HOME)/.cache/herd-target
export CARGO_TARGET_DIR

LOCAL_DIR := target-local
TEST_ENV := $(LOCAL_DIR)/services-test.env

# Prints a progress line for a step that may take a while.
step = @printf '\n==> %s\n' $(1)

.PHONY: help ci run test services lint fmt-check doc bench

help:
	@echo "make run        build, migrate, seed and start 2 workers on 127.0.0.1:8000/8001 (WORKERS=N)"
	@echo "make test       start Postgres/Redis if needed, then every test (nextest + doctests)"
	@echo "make lint       clippy on every target, warnings are errors"
	@echo "make fmt-check  rustfmt check"
	@echo "make doc        rustdoc, warnings are errors"
	@echo "make bench      Herd (uncached, L1, L2) against hand-written baselines with wrk; results in $(LOCAL_DIR)/bench/"
	@echo "make ci         fmt-check, lint, doc, test (what .ci/run calls)"

ci: fmt-check lint doc test

run:
	@scripts/run.sh

services:
	$(call step,"ensuring Postgres and Redis for the tests")
	@deploy/local/ensure-services.sh test --env-file $(TEST_ENV)

test: services
	$(call step,"cargo nextest run --workspace (builds the test binaries first: minutes when cold)")
	@set -a; . ./$(TEST_ENV); set +a; cargo nextest run --workspace --locked
	$(call step,"cargo test --doc --workspace")
	@set -a; . ./$(TEST_ENV); set +a; cargo test --doc --workspace --locked

lint:
	$(call step,"cargo clippy --workspace --all-targets (minutes when cold)")
	cargo clippy --workspace --all-targets --locked -- -D warnings

fmt-check:
	$(call step,"cargo fmt --all --check")
	cargo fmt --all --check

doc:
	$(call step,"cargo doc --workspace --no-deps")
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

bench:
	@scripts/bench.sh
