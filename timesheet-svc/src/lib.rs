//! timesheet-svc: the internal Timesheets API.
//!
//! What it is: an axum service that verifies the gateway's identity assertion on every request,
//! applies the timesheet rules (through `timesheet-domain`) and stores entries through
//! `timesheet-store` on SQLite or PostgreSQL.
//!
//! What it is not: a public edge. It does not validate OAuth tokens, terminate TLS or rate-limit;
//! the gateway does, and this service trusts nothing that does not carry the gateway's signature.

pub mod assertion;
pub mod config;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod ledger;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
