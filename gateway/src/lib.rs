//! `gateway`: the public edge of the Timesheets API, a Pingora reverse proxy.
//!
//! What it holds: the validated configuration ([`config`]), tenant resolution ([`tenant`]),
//! access-token authentication with a moka-cached JWKS and a verified-token cache ([`auth`]),
//! route authorization ([`policy`]), the identity assertions forwarded ([`assertion_cache`]), rate limits ([`ratelimit`]), the one builder of the
//! gateway's own error responses ([`respond`]), and the Pingora pieces: the `ProxyHttp`
//! implementation ([`proxy`], with per-request state in [`ctx`]), admission decisions
//! ([`admission`]), header rewriting ([`forward`]), TLS with SNI ([`tls`]), the admin listener
//! ([`admin`]), metrics ([`metrics`]), background services ([`background`]), the reloadable
//! runtime ([`state`]), start-up ([`app`]) and logs and traces ([`telemetry`]).
//!
//! Every decision is a plain type or function tested without a server, so each proxy hook stays
//! a few lines.

#![forbid(unsafe_code)]

pub mod access_log;
pub mod admin;
pub mod admission;
pub mod app;
pub mod assertion_cache;
pub mod auth;
pub mod background;
pub mod config;
pub mod ctx;
pub mod devcert;
pub mod forward;
pub mod keepalive;
pub mod metrics;
pub mod policy;
pub mod proxy;
pub mod ratelimit;
pub mod respond;
pub mod state;
pub mod telemetry;
pub mod tenant;
pub mod tls;
pub mod trust;
pub mod workers;

#[cfg(test)]
#[path = "testkit.rs"]
mod testkit;
