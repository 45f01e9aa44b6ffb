//! `importer-svc`: scheduled sync of contractors' timesheet entries (placeholder).
//!
//! This binary will run on a schedule, obtain an access token from the identity provider with
//! the OAuth 2.0 client-credentials grant (machine to machine), read contractors' entries from
//! the external system and upsert them in batches through the gateway
//! (`POST /v1/timesheets/upload`, scope `batch:upload`).
//!
//! It is not implemented yet: running it prints a message to stderr and exits with code 2.

use std::process::ExitCode;

use clap::Parser;

/// Exit code used while the binary is a placeholder.
const NOT_IMPLEMENTED: u8 = 2;

/// Scheduled machine-to-machine sync of contractors' timesheet entries (not implemented yet).
///
/// The importer will obtain a token with the client-credentials grant, read contractors'
/// entries from the external system, and upload them in batches through the gateway
/// (POST /v1/timesheets/upload, scope batch:upload).
///
/// For now it only explains itself: running it without --help exits with code 2.
#[derive(Debug, Parser)]
#[command(name = "importer-svc", version)]
struct Cli {}

fn main() -> ExitCode {
    let _cli = Cli::parse();
    eprintln!(
        "importer-svc: not implemented yet. This will be the scheduled machine-to-machine sync \
         of contractors' entries through the gateway. See `importer-svc --help`."
    );
    ExitCode::from(NOT_IMPLEMENTED)
}
