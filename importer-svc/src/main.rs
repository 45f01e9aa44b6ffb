//! `importer-svc`: imports contractors' timesheet entries into the Timesheets API. See
//! `importer-svc --help`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use importer_svc::cli::{Cli, Command};
use importer_svc::command::{execute, Outcome};
use importer_svc::config::Config;
use importer_svc::sync::api_destination::ApiDestination;
use importer_svc::sync::destination::Destination;
use service_config::cli::{refuse, report_check};
use service_config::EXIT_CONFIG;

const PROGRAM: &str = "importer-svc";

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version are not errors; anything else is a usage error (64, not clap's 2,
        // which means "rows rejected" here).
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return exit_code(Outcome::Success);
        }
        Err(err) => {
            let _ = err.print();
            return exit_code(Outcome::Usage);
        }
    };
    if let Command::CheckConfig(args) = &cli.command {
        let file = args.file(cli.config.as_deref());
        return report_check(file, Config::load(file).map(|c| c.summary()));
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => return refuse(PROGRAM, &err),
    };
    let log = cli.log.apply(config.log.clone());
    let telemetry = match importer_svc::telemetry::init(&log, &config.telemetry) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("{PROGRAM}: telemetry: {err}");
            return exit_code(Outcome::Usage);
        }
    };
    let outcome = execute(cli.command, &config, build_destination).await;
    // Before the process exits, whatever the outcome: a one-shot run ends quickly, and its
    // spans and last log lines are still queued.
    drop(telemetry);
    exit_code(outcome)
}

/// The one place outcomes become exit codes: 0 all good, 2 some rows rejected, 1 failed,
/// 64 (EX_USAGE) bad configuration or command line.
fn exit_code(outcome: Outcome) -> ExitCode {
    ExitCode::from(match outcome {
        Outcome::Success => 0,
        Outcome::Failed => 1,
        Outcome::Rejected => 2,
        Outcome::Usage => EXIT_CONFIG,
    })
}

/// The API side of a live run: the shared typed client, configured from `[api]` and `[auth]`.
fn build_destination(config: &Config) -> anyhow::Result<Arc<dyn Destination>> {
    let auth = config.auth.as_ref().context("auth: is required")?;
    Ok(Arc::new(ApiDestination::from_config(&config.api, auth)?))
}
