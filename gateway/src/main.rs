//! `gateway`: the public edge of the Timesheets API (placeholder).
//!
//! This binary will be a Pingora reverse proxy that terminates TLS, resolves the tenant,
//! validates Auth0 access tokens (JWTs) and their route scopes, applies rate limits, strips any
//! identity header a client sends, and forwards each accepted request to `timesheet-svc` with a
//! gateway-signed identity assertion (see the `identity-assertion` crate).
//!
//! It is not implemented yet: running it prints a message to stderr and exits with code 2.

use std::process::ExitCode;

use clap::Parser;

/// Exit code used while the binary is a placeholder.
const NOT_IMPLEMENTED: u8 = 2;

/// Public Pingora TLS edge of the ExampleCo Timesheets API (not implemented yet).
///
/// The gateway will terminate TLS, resolve the tenant, validate Auth0 JWT access tokens and
/// their scopes, apply rate limits, strip client-sent identity headers, and forward each
/// accepted request to timesheet-svc with a signed identity assertion that the service
/// verifies.
///
/// For now it only explains itself: running it without --help exits with code 2.
#[derive(Debug, Parser)]
#[command(name = "gateway", version)]
struct Cli {}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    eprintln!(
        "gateway: not implemented yet. This will be the public Pingora TLS edge that validates \
         Auth0 JWTs and forwards a signed identity assertion to timesheet-svc. \
         See `gateway --help`."
    );
    ExitCode::from(NOT_IMPLEMENTED)
}
