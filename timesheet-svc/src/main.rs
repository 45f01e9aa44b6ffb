//! The timesheet-svc binary: configuration, telemetry, then serve until SIGTERM or Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use timesheet_svc::config::Config;
use timesheet_svc::startup::{shutdown_signal, Application};
use timesheet_svc::telemetry;

/// The internal Timesheets API. It sits behind the gateway and accepts only requests that carry
/// the gateway's signed identity assertion.
///
/// Configuration comes from an optional TOML file (--config or TIMESHEET_CONFIG), then from
/// environment variables TIMESHEET__<SECTION>__<KEY> (for example
/// TIMESHEET__ASSERTION__PUBLIC_KEY_FILES=/etc/timesheets/gateway.pub.pem), then DATABASE_URL,
/// which picks the store: sqlite://path?mode=rwc (embedded, one node) or postgres://… .
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, env = "TIMESHEET_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply database migrations and exit (for a Kubernetes Job before a rollout).
    Migrate,
    /// Print the effective configuration (secrets redacted) and exit.
    CheckConfig,
}

/// EX_USAGE from sysexits.h: the configuration is wrong, nothing was started.
const EXIT_CONFIG: u8 = 64;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("timesheet-svc: invalid configuration: {err:#}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // Held to the end of `main`: dropping it exports the spans of the last requests, after
    // the server has drained on SIGTERM.
    let _telemetry = match telemetry::init(&config.telemetry()) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("timesheet-svc: invalid telemetry configuration: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => timesheet_svc::startup::migrate(&config).await,
        Command::CheckConfig => {
            println!("{config:#?}");
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "timesheet-svc stopped");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = Application::build(config).await?;
    tracing::info!(addr = %app.local_addr(), "timesheet-svc listening");
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("timesheet-svc stopped gracefully");
    Ok(())
}
