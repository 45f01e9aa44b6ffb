//! dev-idp: an Auth0-compatible OAuth 2.0 issuer **for development and tests only**.
//!
//! What it is: a stand-in for an Auth0 tenant where Auth0 cannot be reached (the local stack
//! started by `make up`, and test suites). It implements the parts of Auth0 our code depends on,
//! the way Auth0 documents them, so the gateway and the importer use the same configuration
//! against a real tenant with only URLs and credentials changed:
//!
//! - `POST /oauth/token`: the client credentials grant, form-urlencoded or JSON, with client
//!   authentication by `client_secret_post`, `client_secret_basic` or `private_key_jwt`, client
//!   grants per API (audience), Auth0's error bodies and statuses, and RS256 access tokens with
//!   Auth0's claims (`sub` = `<client_id>@clients`, `gty`, `azp`, `scope`, `org_id`,
//!   `permissions`).
//! - `GET /.well-known/jwks.json` and `GET /.well-known/openid-configuration`.
//! - Signing keys persisted in a directory and rotated on command in Auth0's two steps
//!   (`POST /admin/keys/rotate`, then `POST /admin/keys/retire`).
//! - For tests: user tokens on request, token counters, and a fault switch (`/admin/*`).
//!
//! What it is not: an identity provider. There are no users, no logins, no authorization code
//! flow, no refresh tokens; secrets sit in a configuration file and anyone with the admin token
//! can mint any token. Never expose it beyond a development machine or a test network.
//!
//! Try it:
//!
//! ```text
//! cargo run -p dev-idp -- --config dev-idp/config/dev-idp.example.toml --log-format pretty
//! curl -s http://127.0.0.1:8090/oauth/token -d grant_type=client_credentials \
//!   -d client_id=dev-importer -d client_secret=dev-importer-secret-not-secret \
//!   -d audience=https://api.exampleco.com/timesheets
//! ```
//!
//! In tests, start it in-process on port 0:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = dev_idp::Config::from_toml(r#"
//!     listen = "127.0.0.1:0"
//!     keys_dir = "/tmp/some-test-dir/keys"
//! "#)?;
//! let app = dev_idp::Application::build(config).await?;
//! let issuer = app.issuer().to_owned(); // http://127.0.0.1:<port>/
//! tokio::spawn(app.run_until_stopped(std::future::pending()));
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod admin_client;
pub mod assertion;
pub mod client_auth;
pub mod config;
pub mod error;
pub mod fault;
pub mod keys;
pub mod params;
pub mod routes;
pub mod secret;
pub mod startup;
pub mod state;
pub mod stats;
pub mod telemetry;
pub mod tenant;
pub mod token;

pub use admin_client::AdminClient;
pub use config::Config;
pub use fault::{FaultMode, FaultsRequest, FaultsResponse};
pub use routes::admin::{KeysResponse, UserTokenRequest};
pub use startup::{Application, StartError};
pub use stats::StatsResponse;
pub use token::{AccessClaims, TokenResponse};
