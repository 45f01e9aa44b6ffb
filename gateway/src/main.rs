//! `gateway`: the public edge of the Timesheets API.
//!
//! - `gateway [run] --config <file>`: validate the configuration, prime the signing keys, and
//!   serve (TLS proxy on `[server] listen`, admin on `[admin] listen`) until SIGTERM (graceful)
//!   or SIGINT (fast). SIGHUP reloads tenants and routes.
//! - `gateway check-config [--config <file> | <file>]`: validate and exit 0, or 64 (EX_USAGE)
//!   with one line per bad key.
//! - `gateway dev-cert --out <dir> --hosts a,b`: a local CA and a server certificate for them.
//!
//! Bad configuration exits 64 before any port is bound.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use gateway::app::{build_server_with, StartError};
use gateway::config::{ConfigError, GatewayConfig};
use pingora::server::RunArgs;

/// jemalloc instead of glibc's malloc, for Rust and (unprefixed symbols) C code alike. A proxied
/// request allocates and frees many small blocks across threads, and glibc's malloc pays for
/// that in fastbin consolidation and arena locks: bench/gateway measured less CPU per request
/// with jemalloc, and less memory per idle TLS connection than with mimalloc, which saved as
/// much CPU (figures in docs/benchmarks.md). Freed pages go back to the system within a second
/// (`dirty_decay_ms`, set where jemalloc is built: .cargo/config.toml), so a burst of
/// connections does not stay in the RSS; `MALLOC_CONF` overrides it at run time.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// EX_USAGE: the configuration is unusable.
const EX_USAGE: u8 = 64;

/// Public Pingora TLS edge of the ExampleCo Timesheets API.
///
/// Terminates TLS, resolves the tenant, validates Auth0 JWT access tokens and their scopes,
/// applies rate limits, strips client-sent identity headers, and forwards each accepted request
/// to timesheet-svc with a signed identity assertion that the service verifies.
#[derive(Debug, Parser)]
#[command(name = "gateway", version)]
struct Cli {
    /// Configuration file (TOML, plus GATEWAY__* environment overrides).
    #[arg(
        long,
        global = true,
        env = "GATEWAY_CONFIG",
        default_value = "gateway/config/gateway.example.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve (the default).
    Run,
    /// Validate a configuration file and exit: 0 when usable, 64 with one line per bad key.
    CheckConfig {
        /// Path of the file (instead of --config).
        file: Option<PathBuf>,
    },
    /// Write a development CA (ca.crt) and server certificate (server.crt, server.key).
    DevCert {
        #[arg(long)]
        out: PathBuf,
        /// Hostnames for the server certificate (localhost and 127.0.0.1 are always added).
        #[arg(long, value_delimiter = ',')]
        hosts: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(&cli.config),
        Command::CheckConfig { file } => check_config(file.as_deref().unwrap_or(&cli.config)),
        Command::DevCert { out, hosts } => match dev_cert(&out, &hosts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("gateway: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run(config_path: &Path) -> ExitCode {
    let config = match GatewayConfig::load(config_path) {
        Ok(config) => config,
        Err(err) => return usage_error(config_path, err),
    };
    // Held until the server has stopped: dropping it exports the spans of the last requests.
    let telemetry = match gateway::telemetry::init(&config) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("gateway: telemetry: {err}");
            return ExitCode::from(EX_USAGE);
        }
    };
    match build_server_with(config, config_path) {
        Ok(server) => {
            // `run` returns after a graceful (SIGTERM) or fast (SIGINT) shutdown, where
            // `run_forever` would exit the process before the last spans leave.
            server.run(RunArgs::default());
            tracing::info!("gateway stopped");
            drop(telemetry);
            ExitCode::SUCCESS
        }
        Err(StartError::Config(err)) => usage_error(config_path, err),
        Err(err) => {
            tracing::error!(error = %err, "gateway cannot start");
            eprintln!("gateway: {err}");
            ExitCode::from(EX_USAGE)
        }
    }
}

fn check_config(file: &Path) -> ExitCode {
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
        Err(err) => usage_error(file, err),
    }
}

fn usage_error(file: &Path, err: ConfigError) -> ExitCode {
    match err {
        ConfigError::Invalid(issues) => {
            for issue in issues {
                eprintln!("{}: {issue}", file.display());
            }
        }
        other => eprintln!("gateway: {other}"),
    }
    ExitCode::from(EX_USAGE)
}

fn dev_cert(out: &Path, hosts: &[String]) -> anyhow::Result<()> {
    gateway::devcert::write_dev_certs(out, hosts)
        .with_context(|| format!("writing development certificates to {}", out.display()))?;
    println!("{}: ca.crt, server.crt, server.key", out.display());
    Ok(())
}
