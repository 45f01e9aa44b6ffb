//! The store's contract, checked on both backends: every test body runs once on a fresh SQLite
//! file and once on a fresh PostgreSQL database (`TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`). PostgreSQL being unreachable fails the
//! PostgreSQL variants; they are never skipped.

// Test helpers outside #[test] functions are still test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The test modules live in store/, next to this file.
#[macro_use]
#[path = "store/harness.rs"]
mod harness;

#[path = "store/deletion.rs"]
mod deletion;
#[path = "store/entries.rs"]
mod entries;
#[path = "store/idempotency.rs"]
mod idempotency;
#[path = "store/listing.rs"]
mod listing;
#[path = "store/statements.rs"]
mod statements;
#[path = "store/tenancy.rs"]
mod tenancy;
#[path = "store/transactions.rs"]
mod transactions;
#[path = "store/weeks.rs"]
mod weeks;
