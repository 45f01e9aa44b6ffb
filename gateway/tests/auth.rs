//! Integration tests of the gateway's authentication core against live JWKS servers: forged and
//! broken tokens (`tokens`) and the JWKS cache's behaviour when keys rotate, kids are forged and
//! the provider fails (`jwks_cache`).
//!
//! Run: `cargo test -p gateway --test auth`

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod utils;

#[path = "auth/jwks_cache.rs"]
mod jwks_cache;
#[path = "auth/tokens.rs"]
mod tokens;
