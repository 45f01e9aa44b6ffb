//! `gateway`: the public edge of the Timesheets API.
//!
//! The Pingora reverse proxy (TLS termination, tenant resolution, JWT validation, route scopes,
//! rate limits, identity headers stripped, a gateway-signed identity assertion forwarded to
//! `timesheet-svc`) is not wired up yet; its authentication core lives in the library.
//!
//! What works today: `gateway check-config <file>` validates a configuration file (with
//! `GATEWAY__*` overrides) and exits 64 (EX_USAGE) naming every bad key. Running without a
//! subcommand explains itself and exits 2.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gateway::config::GatewayConfig;

/// Exit code used while the proxy is a placeholder.
const NOT_IMPLEMENTED: u8 = 2;
/// EX_USAGE: the configuration is unusable.
const EX_USAGE: u8 = 64;

/// Public Pingora TLS edge of the ExampleCo Timesheets API.
///
/// The gateway will terminate TLS, resolve the tenant, validate Auth0 JWT access tokens and
/// their scopes, apply rate limits, strip client-sent identity headers, and forward each
/// accepted request to timesheet-svc with a signed identity assertion that the service
/// verifies.
#[derive(Debug, Parser)]
#[command(name = "gateway", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a configuration file (TOML, plus GATEWAY__* environment overrides) and exit:
    /// 0 when usable, 64 with one line per bad key otherwise.
    CheckConfig {
        /// Path of the TOML configuration file.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Some(Command::CheckConfig { file }) => check_config(&file),
        None => {
            eprintln!(
                "gateway: the proxy is not implemented yet. `gateway check-config <file>` \
                 validates a configuration. See `gateway --help`."
            );
            ExitCode::from(NOT_IMPLEMENTED)
        }
    }
}

fn check_config(file: &std::path::Path) -> ExitCode {
    match GatewayConfig::load(file) {
        Ok(config) => {
            println!(
                "{}: ok ({} tenants, {} routes)",
                file.display(),
                config.tenants.len(),
                config.routes.len()
            );
            ExitCode::SUCCESS
        }
        Err(gateway::config::ConfigError::Invalid(issues)) => {
            for issue in issues {
                eprintln!("{}: {issue}", file.display());
            }
            ExitCode::from(EX_USAGE)
        }
        Err(err) => {
            eprintln!("gateway: {err}");
            ExitCode::from(EX_USAGE)
        }
    }
}
