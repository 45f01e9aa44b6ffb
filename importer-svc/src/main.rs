//! `importer-svc`: imports contractors' timesheet entries into the Timesheets API. See
//! `importer-svc --help`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use importer_svc::cli::Cli;
use importer_svc::command::{execute, Outcome};
use importer_svc::config::Config;
use importer_svc::sync::api_destination::ApiDestination;
use importer_svc::sync::destination::Destination;
use timesheet_client::ApiClient;

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
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("importer-svc: invalid configuration: {err}");
            return exit_code(Outcome::Usage);
        }
    };
    let telemetry = match importer_svc::telemetry::init(&config, cli.log_format) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("importer-svc: telemetry: {err}");
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
        Outcome::Usage => 64,
    })
}

/// The API side of a live run: the shared typed client, configured from `[api]` and `[auth]`.
fn build_destination(config: &Config) -> anyhow::Result<Arc<dyn Destination>> {
    let (api, auth) = (&config.api, &config.auth);
    let base_url = api.base_url.clone().context("api.base_url: is required")?;
    let token_url = auth
        .token_url
        .clone()
        .context("auth.token_url: is required")?;
    let client_id = auth
        .client_id
        .clone()
        .context("auth.client_id: is required")?;
    let mut client_auth = timesheet_client::AuthConfig::new(token_url, client_id);
    client_auth.method = Some(auth.method());
    client_auth.client_secret = auth.client_secret.clone();
    client_auth.private_key_file = auth.private_key_file.clone();
    client_auth.kid = auth.kid.clone();
    client_auth.audience = auth.audience.clone();
    client_auth.resource = auth.resource.clone();
    client_auth.scope = auth.scope.clone();
    client_auth.token_cache_file = auth.token_cache_file.clone();
    let mut client_config = timesheet_client::Config::new(base_url, client_auth);
    client_config.ca_cert = api.ca_cert.clone();
    client_config.timeout = api.timeout;
    client_config.retry = api.retry.clone();
    let client = ApiClient::new(&client_config).context("building the API client")?;
    Ok(Arc::new(ApiDestination::new(client)))
}
