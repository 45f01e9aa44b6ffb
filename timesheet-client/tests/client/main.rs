//! One test binary (z2p style); each module is one capability. Every test runs against real
//! loopback HTTP: wiremock stands in for the identity provider (Auth0's documented request and
//! response format) and for the gateway, and `tls` runs a real TLS server.
//!
//! Run: `cargo test -p timesheet-client --test client`

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod endpoints;
mod faults;
mod support;
mod tls;
mod token_auth;
mod token_cache;
mod trace_context;
