//! The dev-idp binary: serve the issuer, or call a running one's admin endpoints.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use dev_idp::config::ENV_CONFIG;
use dev_idp::{telemetry, AdminClient, Application, Config, StartError};
use secrecy::SecretString;
use service_config::cli::{refuse, report_check, CheckConfigArgs, LogArgs};
use service_telemetry::{Guard, LogConfig};
use url::Url;

/// An Auth0-compatible OAuth 2.0 issuer FOR DEVELOPMENT AND TESTS ONLY.
///
/// It stands in for an Auth0 tenant where Auth0 cannot be reached: POST /oauth/token (client
/// credentials; client_secret_post, client_secret_basic or private_key_jwt), the JWKS and the
/// OpenID configuration under /.well-known/, and /admin/* for key rotation, user tokens, counters
/// and a fault switch. Never run it where real users or data are: its secrets live in a file and
/// its admin token can mint any token.
///
/// Configuration: a TOML file (--config or DEVIDP_CONFIG; see
/// dev-idp/config/dev-idp.example.toml), then DEVIDP__<KEY> environment variables (for example
/// DEVIDP__ADMIN_TOKEN, DEVIDP__LISTEN=127.0.0.1:0, DEVIDP__LOG__FILTER=debug). A configuration
/// error exits with 64 and names every bad key. Once bound, the server prints "listening on
/// http://ADDR" on stdout; logs go to stderr.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, env = ENV_CONFIG, global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    log: LogArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the issuer (the default).
    Serve,
    /// Check the configuration (FILE, else --config, with the environment's overrides) and
    /// exit: 0 with a summary, or 64 with one line per bad key. Public key files are read.
    CheckConfig(CheckConfigArgs),
    /// Ask a running issuer to rotate its signing key: a new key is published next to the old
    /// ones and signs from now on (Auth0's "rotate").
    Rotate(AdminArgs),
    /// Ask a running issuer to unpublish every key but the signing one (Auth0's "revoke"):
    /// tokens signed by retired keys stop verifying.
    Retire(AdminArgs),
}

#[derive(Args)]
struct AdminArgs {
    /// Base URL of the running issuer.
    #[arg(long, default_value = "http://127.0.0.1:8090/")]
    url: Url,
    /// Its admin_token (prefer the environment variable: arguments are visible to `ps`).
    #[arg(long, env = "DEVIDP_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
}

/// How configuration issues are prefixed on stderr.
const PROGRAM: &str = "dev-idp";

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            // A bad configuration is refused before logging starts, so its lines stay plain.
            let config = match Config::load(cli.config.as_deref()) {
                Ok(config) => config,
                Err(err) => return refuse(PROGRAM, &err),
            };
            let Some(_logs) = start_logs(&cli.log, config.log.clone()) else {
                return ExitCode::FAILURE;
            };
            serve(config).await
        }
        Command::CheckConfig(args) => {
            let file = args.file(cli.config.as_deref());
            report_check(file, Config::load(file).map(|c| c.summary()))
        }
        Command::Rotate(args) => admin(&cli.log, args, true).await,
        Command::Retire(args) => admin(&cli.log, args, false).await,
    }
}

/// Logging for the rest of the process; `None` (said on stderr) when it cannot start.
fn start_logs(args: &LogArgs, log: LogConfig) -> Option<Guard> {
    match telemetry::init(&args.apply(log)) {
        Ok(guard) => Some(guard),
        Err(err) => {
            eprintln!("{PROGRAM}: cannot start logging: {err}");
            None
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    tracing::warn!("dev-idp is a development and test issuer: never use it in production");
    let app = match Application::build(config).await {
        Ok(app) => app,
        // A client key file that cannot be read is a configuration error too.
        Err(StartError::Config(err)) => return refuse(PROGRAM, &err),
        Err(err) => {
            eprintln!("{PROGRAM}: cannot start: {err}");
            return ExitCode::FAILURE;
        }
    };
    let addr = app.local_addr();
    tracing::info!(addr = %addr, issuer = %app.issuer(), kid = %app.current_kid(), "dev-idp listening");
    // The listener is bound: scripts and test harnesses wait for this line to learn the port.
    let mut stdout = std::io::stdout();
    if writeln!(stdout, "listening on http://{addr}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        tracing::warn!("cannot write to stdout");
    }
    match app
        .run_until_stopped(service_config::shutdown_signal())
        .await
    {
        Ok(()) => {
            tracing::info!("dev-idp stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(error = %err, "dev-idp failed");
            ExitCode::FAILURE
        }
    }
}

/// `rotate` or `retire` on the issuer at `args.url`; prints its keys as JSON.
async fn admin(log: &LogArgs, args: AdminArgs, rotate: bool) -> ExitCode {
    let Some(_logs) = start_logs(log, LogConfig::default()) else {
        return ExitCode::FAILURE;
    };
    match call_admin(args, rotate).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{PROGRAM}: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn call_admin(args: AdminArgs, rotate: bool) -> anyhow::Result<()> {
    let client = AdminClient::new(args.url, SecretString::from(args.admin_token))?;
    let keys = if rotate {
        client.rotate().await?
    } else {
        client.retire().await?
    };
    println!("{}", serde_json::to_string_pretty(&keys)?);
    Ok(())
}
