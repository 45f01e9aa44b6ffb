//! Integration tests of timesheet-svc: one binary, one file per capability (HTTP, and the
//! binary's `check-config`). Every HTTP scenario runs twice, on SQLite and on PostgreSQL
//! (`TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`; the PostgreSQL
//! tests fail when it is down).
// Test code fails by panicking, on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod helpers;

mod batch;
mod check_config;
mod compat;
mod conflicts;
mod entries;
mod etag;
mod health;
mod idempotency;
mod identity;
mod metrics;
mod openapi;
mod outage;
mod pagination;
mod problems;
mod tenancy;
mod trace;
mod weeks;
