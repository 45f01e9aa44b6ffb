//! The engine, state, run lock, daemon and command line, against an in-test source and an
//! in-memory API that behaves like the real one. Each scenario runs twice, on SQLite and on
//! PostgreSQL (`TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`; the
//! PostgreSQL variants fail when it is down).
// Test code fails by panicking, on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "engine/fake_api.rs"]
mod fake_api;
#[path = "engine/fake_source.rs"]
mod fake_source;
#[path = "engine/harness.rs"]
mod harness;

#[path = "engine/cli.rs"]
mod cli;
#[path = "engine/daemon.rs"]
mod daemon;
#[path = "engine/deletion.rs"]
mod deletion;
#[path = "engine/dry_run.rs"]
mod dry_run;
#[path = "engine/failure.rs"]
mod failure;
#[path = "engine/lock.rs"]
mod lock;
#[path = "engine/rejection.rs"]
mod rejection;
#[path = "engine/status.rs"]
mod status;
#[path = "engine/sync.rs"]
mod sync;
#[path = "engine/traces.rs"]
mod traces;
