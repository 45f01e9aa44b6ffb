//! `gateway`: the public edge of the Timesheets API.
//!
//! - `gateway [run] --config <file>`: validate the configuration, prime the signing keys, and
//!   serve (TLS proxy on `[server] listen`, admin on `[admin] listen`) until SIGTERM (graceful)
//!   or SIGINT (fast). SIGHUP reloads tenants and routes.
//! - `gateway check-config [--config <file> | <file>]`: validate and exit 0, or 64 (EX_USAGE)
//!   with one line per bad key.
//! - `--log-format json|pretty|auto` (any command) overrides `[log] format`.
//! - `gateway dev-cert --out <dir> --hosts a,b`: a local CA and a server certificate for them.
//!
//! Bad configuration exits 64 before any port is bound.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use gateway::app::{build_server_with, StartError};
use gateway::config::Config;
use pingora::server::RunArgs;
use service_config::cli::{refuse, report_check, CheckConfigArgs, LogArgs};
use service_config::EXIT_CONFIG;

/// jemalloc instead of glibc's malloc, for Rust and (unprefixed symbols) C code alike. A proxied
/// request allocates and frees many small blocks across threads, and glibc's malloc pays for
/// that in fastbin consolidation and arena locks: bench/gateway measured less CPU per request
/// with jemalloc, and less memory per idle TLS connection than with mimalloc, which saved as
/// much CPU (figures in docs/benchmarks.md). Freed pages go back to the system within a second
/// (`dirty_decay_ms`, set where jemalloc is built: .cargo/config.toml), so a burst of
/// connections does not stay in the RSS; `MALLOC_CONF` overrides it at run time.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// How refusals at start name the program.
const PROGRAM: &str = "gateway";

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
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve (the default).
    Run,
    /// Validate a configuration file and exit: 0 when usable, 64 with one line per bad key.
    CheckConfig(CheckConfigArgs),
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
        Command::Run => run(&cli.config, &cli.log),
        Command::CheckConfig(args) => {
            let file = args.file.as_deref().unwrap_or(&cli.config);
            report_check(Some(file), Config::load(file).map(|c| c.summary()))
        }
        Command::DevCert { out, hosts } => match dev_cert(&out, &hosts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("gateway: {err:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn run(config_path: &Path, log: &LogArgs) -> ExitCode {
    let config = match Config::load(config_path) {
        Ok(config) => config,
        Err(err) => return refuse(PROGRAM, &err),
    };
    // Held until the server has stopped: dropping it exports the spans of the last requests.
    let telemetry =
        match gateway::telemetry::init(&log.apply(config.log.clone()), &config.telemetry) {
            Ok(guard) => guard,
            Err(err) => {
                eprintln!("{PROGRAM}: telemetry: {err}");
                return ExitCode::from(EXIT_CONFIG);
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
        Err(StartError::Config(err)) => refuse(PROGRAM, &err),
        Err(err) => {
            tracing::error!(error = %err, "gateway cannot start");
            eprintln!("{PROGRAM}: {err}");
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

fn dev_cert(out: &Path, hosts: &[String]) -> anyhow::Result<()> {
    gateway::devcert::write_dev_certs(out, hosts)
        .with_context(|| format!("writing development certificates to {}", out.display()))?;
    println!("{}: ca.crt, server.crt, server.key", out.display());
    Ok(())
}
