//! `devstack up`: the whole system on this machine, on embedded defaults (what `make up` runs).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use devstack::{bin_dir_of_current_exe, Database, ImporterMode, Stack, StackSpec};

/// Runs dev-idp, timesheet-svc (SQLite), the TLS gateway and the importer daemon on 127.0.0.1,
/// from the workspace's debug binaries. With --otlp-endpoint they export traces there. State lives in --dir and is reused on the next start:
/// data, certificates, keys and client credentials. Ctrl-C stops everything.
#[derive(Debug, Parser)]
#[command(name = "devstack", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the stack and keep it running until Ctrl-C or SIGTERM.
    Up {
        /// Directory for configuration, keys, certificates, data and logs.
        #[arg(long, default_value = ".devstack")]
        dir: PathBuf,
        /// Store timesheets in PostgreSQL instead of SQLite (the database must exist).
        #[arg(long, env = "DEVSTACK_DATABASE_URL")]
        database_url: Option<String>,
        /// When the importer syncs the sample data (cron with seconds).
        #[arg(long, default_value = "*/30 * * * * *")]
        importer_schedule: String,
        /// Log format of every component (their logs are in <dir>/logs/).
        #[arg(long, default_value = "pretty")]
        log_format: String,
        /// The directory the importer reads (default: the repository's sample data).
        #[arg(long)]
        inbox: Option<PathBuf>,
        /// Do not start the importer daemon (benchmarks run the importer themselves).
        #[arg(long)]
        no_importer: bool,
        /// Export every service's spans over OTLP/HTTP to this collector base URL
        /// (http://127.0.0.1:4318: Jaeger, Tempo, an OpenTelemetry Collector). Off by default.
        #[arg(long, env = "DEVSTACK_OTLP_ENDPOINT", value_name = "URL")]
        otlp_endpoint: Option<String>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let Command::Up {
        dir,
        database_url,
        importer_schedule,
        log_format,
        inbox,
        no_importer,
        otlp_endpoint,
    } = Cli::parse().command;
    let Some(bin_dir) = bin_dir_of_current_exe() else {
        eprintln!("devstack: cannot tell where the workspace's binaries are");
        return ExitCode::FAILURE;
    };
    let mut spec = StackSpec::new(dir, ".", bin_dir);
    spec.database = database_url.map_or(Database::Sqlite, Database::Postgres);
    spec.importer = if no_importer {
        ImporterMode::Off
    } else {
        ImporterMode::Daemon {
            schedule: importer_schedule,
        }
    };
    if let Some(inbox) = inbox {
        spec.importer_inbox = inbox;
    }
    spec.log_format = log_format;
    spec.otlp_endpoint = otlp_endpoint.filter(|e| !e.trim().is_empty());
    let stack = match Stack::start(spec).await {
        Ok(stack) => stack,
        Err(err) => {
            eprintln!("devstack: {err}");
            return ExitCode::FAILURE;
        }
    };
    print_welcome(&stack);
    wait_for_stop_signal().await;
    eprintln!("\ndevstack: stopping");
    for (name, status) in stack.stop().await {
        eprintln!("devstack: {} stopped ({status})", name.as_str());
    }
    ExitCode::SUCCESS
}

fn print_welcome(stack: &Stack) {
    let env = &stack.env;
    let get = |key: &str| env.get(key).unwrap_or_default().to_owned();
    let dir = stack.spec.dir.display();
    println!(
        r#"
The stack is up. Everything listens on 127.0.0.1; logs are in {dir}/logs/.

  gateway (TLS)   {gateway}
  dev-idp         {issuer}
  metrics         {metrics}
  settings        {dir}/stack.env   (set -a; . {dir}/stack.env; set +a)

The importer syncs {inbox} on its schedule. List the imported entries with a reader token:

curl -s --cacert {ca} -H "Authorization: Bearer $(curl -s {token_url} -d grant_type=client_credentials -d client_id={id} -d client_secret={secret} --data-urlencode audience={audience} | jq -r .access_token)" "{gateway}/v1/timesheets/entries?limit=5" | jq .

Ctrl-C stops everything."#,
        gateway = get("GATEWAY_URL"),
        issuer = get("ISSUER"),
        metrics = get("GATEWAY_METRICS_URL"),
        inbox = stack.spec.importer_inbox.display(),
        ca = get("CA_CERT"),
        token_url = get("TOKEN_URL"),
        id = get("READER_CLIENT_ID"),
        secret = get("READER_CLIENT_SECRET"),
        audience = get("AUDIENCE"),
    );
}

async fn wait_for_stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}
