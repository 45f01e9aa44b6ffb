//! The Pingora gateway end to end: the built binary on free ports, real TLS (a client that
//! trusts only the generated CA), live JWKS servers and an upstream that verifies the identity
//! assertion and echoes what it received; and `check-config`, which runs the same binary.
//!
//! Run: `cargo test -p gateway --test proxy`

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod utils;

#[path = "proxy/acceptance.rs"]
mod acceptance;
#[path = "proxy/check_config.rs"]
mod check_config;
#[path = "proxy/lifecycle.rs"]
mod lifecycle;
#[path = "proxy/requests.rs"]
mod requests;
#[path = "proxy/trace.rs"]
mod trace;
