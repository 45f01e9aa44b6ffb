# Operational entry points. One cargo target directory: the default `target/`.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export TEST_POSTGRES_URL

# Under CI (CI=true, as set by .ci/run) nextest uses the `ci` profile of .config/nextest.toml.
ifeq ($(CI),true)
NEXTEST_PROFILE := --profile ci
else
NEXTEST_PROFILE :=
endif

banner = @printf '\n==> %s\n' $(1) >&2

.PHONY: deps build up fmt-check lint module-cycles ops-check test bench-ingest bench-gateway bench-import clean-devstack

deps:
	$(call banner,'deps: installing missing build and test dependencies')
	scripts/install-deps.sh

build:
	cargo build --workspace --bins

up: deps
	$(call banner,'up: starting dev-idp + timesheet-svc + gateway + importer (Ctrl-C stops them)')
	scripts/up.sh

fmt-check:
	cargo fmt --all --check

lint:
	cargo clippy --workspace --all-targets -- -D warnings

# No import cycle between the modules of a crate: the checker's own tests, then the check itself.
# How a module counts as depending on another: scripts/check-module-cycles --help.
module-cycles:
	cd scripts && python3 -B -m unittest --quiet test_check_module_cycles
	scripts/check-module-cycles

# Operators' artefacts (deploy/, observability/): promtool rule tests, kustomize + schema
# validation, hadolint, checkov, dashboards against the metric list.
ops-check:
	scripts/check-ops.sh

# SQLite and PostgreSQL tests live in the same test binaries: one nextest run covers both.
# nextest builds only the binaries of packages that have integration tests, but the end-to-end
# suite starts every binary (devstack, identity-assertion, ...). Building all targets in one cargo
# invocation gives the binaries the same feature set as the tests, so nextest then compiles
# nothing again: one build per run.
test: deps
	$(call banner,'test: checking PostgreSQL at TEST_POSTGRES_URL')
	scripts/ensure-postgres.sh
	$(call banner,'test: formatting (cargo fmt --check)')
	@$(MAKE) --no-print-directory fmt-check
	$(call banner,'test: lints (cargo clippy -D warnings)')
	@$(MAKE) --no-print-directory lint
	$(call banner,'test: import cycles inside each crate (scripts/check-module-cycles)')
	@$(MAKE) --no-print-directory module-cycles
	$(call banner,'test: operators artefacts (scripts/check-ops.sh)')
	@$(MAKE) --no-print-directory ops-check
	$(call banner,'test: building every target (the end-to-end suite runs the workspace binaries)')
	cargo build --workspace --all-targets
	$(call banner,'test: test suite on SQLite and PostgreSQL (cargo nextest)')
	cargo nextest run --workspace --no-fail-fast $(NEXTEST_PROFILE)

bench-ingest:
	bench/ingest

bench-gateway:
	bench/gateway

bench-import:
	bench/import

clean-devstack:
	rm -rf .devstack
