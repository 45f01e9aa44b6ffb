//! `gateway`: the public edge of the Timesheets API, as a library the Pingora proxy calls into.
//!
//! What it holds: the validated configuration ([`config`]), tenant resolution ([`tenant`]),
//! access-token authentication with a moka-cached JWKS and a verified-token cache ([`auth`]),
//! route authorization ([`policy`]) and the one builder of the gateway's own error responses
//! ([`respond`]). Every piece is a plain type or function, tested without a server, so each proxy
//! hook stays a few lines: resolve the route, `Authenticator::authenticate`, `policy::authorize`,
//! and on refusal hand the error to `respond`.
//!
//! What it does not hold (yet): the Pingora `ProxyHttp` implementation, TLS, listeners, rate
//! limiting, metrics export and the identity assertion (that is the `identity-assertion` crate).

#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
pub mod policy;
pub mod respond;
pub mod tenant;

#[cfg(test)]
#[path = "testkit.rs"]
mod testkit;
