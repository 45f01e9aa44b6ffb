//! `timesheet-client`: the typed client every ExampleCo application (the importer now, mobile
//! and web back ends later) uses to call the Timesheets API through the gateway.
//!
//! What it holds: settings an application embeds in its own configuration ([`config`]), OAuth 2.0
//! client-credentials tokens with caching, single flight and an optional cache file ([`token`]),
//! the retry policy ([`retry`]), the [`ApiClient`] with one method per endpoint ([`client`]),
//! and its errors ([`error`]). Every request is an `http.request` client span carrying the W3C
//! `traceparent` when the application traces (see `trace.rs`). Wire types are `timesheet_domain::api`'s.
//!
//! What it is not: a general HTTP or OAuth library. It speaks only the client-credentials grant
//! and only this API, and it validates nothing the domain types do not.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use timesheet_client::{ApiClient, AuthConfig, Config};
//! use timesheet_domain::api::UploadBatch;
//!
//! let mut auth = AuthConfig::new("http://127.0.0.1:8090/oauth/token".parse()?, "importer");
//! auth.client_secret = Some("from-a-secret-store".into());
//! auth.audience = Some("https://api.exampleco.com/timesheets".into());
//! let mut config = Config::new("https://127.0.0.1:8443".parse()?, auth);
//! config.ca_cert = Some(".devstack/tls/ca.pem".into());
//! let client = ApiClient::new(&config)?;
//! let batch = UploadBatch { source: "contractor-tracker".parse()?, entries: Vec::new() };
//! let answer = client.upload(&batch).await?;
//! println!("{} created, {} rejected", answer.created, answer.rejected);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

pub mod client;
pub mod config;
mod dispatch;
pub mod error;
mod header;
mod query;
pub mod retry;
pub mod token;
mod trace;

pub use client::{ApiClient, ClientStats, Deleted};
pub use config::{AuthConfig, AuthMethod, Config, ConfigError, RetryConfig};
pub use error::ClientError;
pub use header::{ETag, IdempotencyKey};
pub use query::ListQuery;
pub use retry::RetryPolicy;
pub use token::{AccessToken, TokenError, TokenManager, TokenStats};

/// The `User-Agent` of every request: `timesheet-client/<version>`.
pub const USER_AGENT: &str = concat!("timesheet-client/", env!("CARGO_PKG_VERSION"));
