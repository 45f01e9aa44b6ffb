//! dev-idp's integration tests: one binary, an issuer per test started in-process on port 0
//! with its own temporary key directory, driven over real HTTP with reqwest.

// Tests and their harness may panic on what they do not expect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod admin;
mod binary;
mod claims;
mod client_auth;
mod discovery;
mod errors;
mod rotation;
