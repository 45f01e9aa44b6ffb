//! The local stack: dev-idp, timesheet-svc, the gateway and the importer, started from the
//! workspace's own binaries with generated configuration, keys and certificates.
//!
//! One place for this, used twice: `make up` (the `devstack` binary, on `.devstack/`) and the
//! end-to-end tests (the `e2e` crate, on a temporary directory and free ports). What a newcomer
//! runs is therefore exactly what the tests prove.
//!
//! What it is not: a deployment tool. Everything listens on 127.0.0.1 and secrets are
//! generated for development; `deploy/` holds the production manifests.
#![forbid(unsafe_code)]

mod configs;
mod credentials;
mod error;
mod process;
mod spec;
mod stack;
mod stack_env;

pub use credentials::{ClientCredentials, Credentials};
pub use error::StackError;
pub use process::Component;
pub use spec::{bin_dir_of_current_exe, Database, ImporterMode, Ports, StackSpec};
pub use stack::{ComponentName, Stack};
pub use stack_env::StackEnv;

/// The API identifier (the `audience` of every token), as registered at the identity provider.
pub const AUDIENCE: &str = "https://api.exampleco.com/timesheets";
/// The Auth0 Organization that marks the second tenant's clients.
pub const OTHER_TENANT_ORG: &str = "org_other";
