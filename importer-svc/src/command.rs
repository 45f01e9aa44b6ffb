//! Carrying out a parsed command line: the importer's edge, where errors become messages and
//! an [`Outcome`] (which `main` turns into the exit code).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;

use crate::cli::Command;
use crate::config::Config;
use crate::daemon::{parse_schedule, run_daemon};
use crate::metrics::Metrics;
use crate::report::RunOutcome;
use crate::run::{run_once, Deps, Mode};
use crate::shutdown::on_termination;
use crate::source::files::FilesSource;
use crate::source::harvest::HarvestSource;
use crate::source::Source;
use crate::source::SourceKind;
use crate::state::StateStore;
use crate::status::StatusView;
use crate::sync::destination::Destination;
use crate::sync::SyncError;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything done.
    Success,
    /// The run completed, but rows were rejected.
    Rejected,
    /// The run failed, another run holds the lock, or a dependency is down.
    Failed,
    /// The configuration or the command line is wrong; nothing was done.
    Usage,
}

/// Builds the API side of a live run from the configuration.
pub type DestinationFactory = fn(&Config) -> anyhow::Result<Arc<dyn Destination>>;

/// Runs `command`. Messages go to the log (stderr); `--json` output to stdout.
pub async fn execute(
    command: Command,
    config: &Config,
    build_destination: DestinationFactory,
) -> Outcome {
    match command {
        Command::Run { dry_run, json } => run(config, dry_run, json, build_destination).await,
        Command::Daemon {
            schedule,
            metrics_listen,
        } => {
            let schedule = match parse_schedule(&schedule) {
                Ok(schedule) => schedule,
                Err(err) => return usage(&err),
            };
            if let Err(err) = config.check_run().and_then(|()| config.check_api()) {
                return usage(&err);
            }
            let deps = match live_deps(config, build_destination).await {
                Ok(deps) => deps,
                Err(err) => return failed(&err),
            };
            let listener = match tokio::net::TcpListener::bind(metrics_listen).await {
                Ok(listener) => listener,
                Err(err) => return failed(&anyhow::anyhow!("binding {metrics_listen}: {err}")),
            };
            let metrics = match Metrics::new() {
                Ok(metrics) => Arc::new(metrics),
                Err(err) => return failed(&anyhow::anyhow!("creating metrics: {err}")),
            };
            tracing::info!(addr = %metrics_listen, "serving /metrics and /healthz");
            let deps = Deps {
                metrics: Some(metrics.clone()),
                progress: false,
                ..deps
            };
            let state = Arc::clone(&deps.state);
            let outcome = match run_daemon(deps, schedule, listener, metrics).await {
                Ok(()) => Outcome::Success,
                Err(err) => failed(&err.into()),
            };
            // Before the telemetry guard drops in main: see StateStore::close.
            state.close().await;
            outcome
        }
        Command::Status { json, limit } => match status(config, json, limit).await {
            Ok(()) => Outcome::Success,
            Err(err) => failed(&err),
        },
        // Answered by `main` before the configuration is loaded and logging set up.
        Command::CheckConfig(_) => Outcome::Usage,
    }
}

async fn run(
    config: &Config,
    dry_run: bool,
    json: bool,
    build_destination: DestinationFactory,
) -> Outcome {
    let checked = config
        .check_run()
        .and_then(|()| if dry_run { Ok(()) } else { config.check_api() });
    if let Err(err) = checked {
        return usage(&err);
    }
    let deps = if dry_run {
        open_state(config)
            .await
            .and_then(|state| Ok((state, build_source(config)?)))
            .map(|(state, source)| deps(config, state, source, Mode::DryRun))
    } else {
        live_deps(config, build_destination).await
    };
    let deps = match deps {
        Ok(deps) => deps,
        Err(err) => return failed(&err),
    };
    let result = run_once(&deps).await;
    // Before the telemetry guard drops in main: see StateStore::close.
    deps.state.close().await;
    if json {
        let value = match &result {
            Ok(report) => report.to_json(),
            Err(err) => serde_json::json!({"outcome": "failed", "error": err.to_string()}),
        };
        println!("{value}");
    }
    run_outcome(&result)
}

/// The outcome of one run.
pub fn run_outcome(result: &Result<crate::report::RunReport, SyncError>) -> Outcome {
    match result {
        Ok(report) if report.outcome == RunOutcome::Partial => Outcome::Rejected,
        Ok(_) => Outcome::Success,
        Err(err) => {
            if err.is_locked() {
                // The run itself logged nothing: say why it did nothing.
                tracing::error!(error = %err, "run refused");
            }
            Outcome::Failed
        }
    }
}

async fn live_deps(config: &Config, build_destination: DestinationFactory) -> anyhow::Result<Deps> {
    let state = open_state(config).await?;
    let source = build_source(config)?;
    let destination = build_destination(config).context("building the API client")?;
    Ok(deps(config, state, source, Mode::Live(destination)))
}

fn deps(config: &Config, state: Arc<dyn StateStore>, source: Arc<dyn Source>, mode: Mode) -> Deps {
    Deps {
        source,
        state,
        mode,
        settings: config.run_settings(),
        stop: on_termination(),
        metrics: None,
        progress: std::io::stderr().is_terminal(),
    }
}

async fn open_state(config: &Config) -> anyhow::Result<Arc<dyn StateStore>> {
    crate::state::open(config.state.url.expose_secret())
        .await
        .context("opening the state (state.url)")
}

async fn status(config: &Config, json: bool, limit: u32) -> anyhow::Result<()> {
    let state = open_state(config).await?;
    let view = StatusView::load(state.as_ref(), limit).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print!("{}", view.render_table());
    }
    Ok(())
}

/// The configured source.
pub fn build_source(config: &Config) -> anyhow::Result<Arc<dyn Source>> {
    let name = config.source.source_name();
    match config.source.kind {
        SourceKind::Files => {
            let dir = config
                .source
                .files
                .dir
                .clone()
                .context("source.files.dir is required")?;
            Ok(Arc::new(FilesSource::new(dir, name)))
        }
        SourceKind::Harvest => {
            let harvest = config
                .source
                .harvest
                .clone()
                .context("source.harvest is required")?;
            let http = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .timeout(HARVEST_TIMEOUT)
                .build()
                .context("building the HTTP client for Harvest")?;
            Ok(Arc::new(HarvestSource::new(harvest, name, http)))
        }
    }
}

/// Per request to Harvest; a page of 2,000 entries comes back well within it.
const HARVEST_TIMEOUT: Duration = Duration::from_secs(60);

fn usage(err: &dyn std::fmt::Display) -> Outcome {
    tracing::error!(error = %err, "invalid configuration or usage");
    Outcome::Usage
}

fn failed(err: &anyhow::Error) -> Outcome {
    tracing::error!(error = format!("{err:#}"), "importer-svc failed");
    Outcome::Failed
}
