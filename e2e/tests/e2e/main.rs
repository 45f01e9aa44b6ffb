//! End-to-end suite: dev-idp, timesheet-svc, the gateway and the importer as real processes,
//! started the way `make up` starts them (through `devstack`), driven from outside over TLS and
//! the command line. Every scenario runs on SQLite and on PostgreSQL.
// Test code fails by panicking, on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod harness;

mod auth;
mod harvest;
mod importer;
mod importer_faults;
mod inbox;
mod prometheus;
mod restart;
mod rotation;
mod stack_env;
mod tenancy;
mod traces;
