//! The timesheet-svc binary: configuration, telemetry, then serve until SIGTERM or Ctrl-C.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use service_config::cli::{refuse, report_check, CheckConfigArgs, LogArgs};
use service_config::{shutdown_signal, EXIT_CONFIG};
use timesheet_svc::config::Config;
use timesheet_svc::startup::Application;
use timesheet_svc::telemetry;

/// The internal Timesheets API. It sits behind the gateway and accepts only requests that carry
/// the gateway's signed identity assertion.
///
/// Configuration comes from an optional TOML file (--config or TIMESHEET_CONFIG; every key is
/// shown in timesheet-svc/config/timesheet-svc.example.toml), then from environment variables
/// TIMESHEET__<SECTION>__<KEY> (for example
/// TIMESHEET__ASSERTION__PUBLIC_KEY_FILES=/etc/timesheets/gateway.pub.pem), then DATABASE_URL,
/// which picks the store: sqlite://path?mode=rwc (embedded, one node) or postgres://… . A bad
/// configuration stops it with exit code 64, naming every bad key.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, env = "TIMESHEET_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply database migrations and exit (for a Kubernetes Job before a rollout).
    Migrate,
    /// Check the configuration (FILE, or --config, with the environment) and exit: 0 when it is
    /// usable, 64 with one line per issue when it is not.
    CheckConfig(CheckConfigArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let migrate_only = match &cli.command {
        Some(Command::CheckConfig(args)) => {
            let file = args.file(cli.config.as_deref());
            return report_check(file, Config::load(file).map(|config| config.summary()));
        }
        Some(Command::Migrate) => true,
        Some(Command::Serve) | None => false,
    };
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => return refuse("timesheet-svc", &err),
    };
    config.log = cli.log.apply(config.log);
    // Held to the end of `main`: dropping it exports the spans of the last requests, after
    // the server has drained on SIGTERM.
    let _telemetry = match telemetry::init(&config.telemetry()) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("timesheet-svc: telemetry: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let result = if migrate_only {
        timesheet_svc::startup::migrate(&config).await
    } else {
        serve(config).await
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
