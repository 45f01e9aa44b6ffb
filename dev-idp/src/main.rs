//! The dev-idp binary: serve the issuer, or call a running one's admin endpoints.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use dev_idp::config::ENV_CONFIG;
use dev_idp::telemetry::{self, LogFormat};
use dev_idp::{shutdown_signal, AdminClient, Application, Config, StartError};
use secrecy::SecretString;
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
/// DEVIDP__ADMIN_TOKEN, DEVIDP__LISTEN=127.0.0.1:0). A configuration error exits with 64 and
/// names the key. Once bound, the server prints "listening on http://ADDR" on stdout.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {
    /// TOML configuration file.
    #[arg(long, env = ENV_CONFIG, global = true)]
    config: Option<PathBuf>,
    /// Log output: json (one object per line) or pretty. RUST_LOG filters.
    #[arg(
        long,
        value_enum,
        env = "DEVIDP_LOG_FORMAT",
        default_value = "json",
        global = true
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the issuer (the default).
    Serve,
    /// Print the effective configuration (secrets redacted) and exit.
    CheckConfig,
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

/// EX_USAGE from sysexits.h: the configuration is wrong, nothing was started.
const EXIT_CONFIG: u8 = 64;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            return match load(cli.config) {
                Ok(config) => serve(config).await,
                Err(code) => code,
            }
        }
        Command::CheckConfig => match load(cli.config) {
            Ok(config) => {
                println!("{config:#?}");
                Ok(())
            }
            Err(code) => return code,
        },
        Command::Rotate(args) => admin(args, true).await,
        Command::Retire(args) => admin(args, false).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("dev-idp: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(file: Option<PathBuf>) -> Result<Config, ExitCode> {
    Config::load(file.as_deref()).map_err(|err| {
        eprintln!("dev-idp: invalid configuration: {err}");
        ExitCode::from(EXIT_CONFIG)
    })
}

async fn serve(config: Config) -> ExitCode {
    tracing::warn!("dev-idp is a development and test issuer: never use it in production");
    let app = match Application::build(config).await {
        Ok(app) => app,
        // A client key file that cannot be read is a configuration error too.
        Err(StartError::Config(err)) => {
            eprintln!("dev-idp: invalid configuration: {err}");
            return ExitCode::from(EXIT_CONFIG);
        }
        Err(err) => {
            eprintln!("dev-idp: cannot start: {err}");
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
    match app.run_until_stopped(shutdown_signal()).await {
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

async fn admin(args: AdminArgs, rotate: bool) -> anyhow::Result<()> {
    let client = AdminClient::new(args.url, SecretString::from(args.admin_token))?;
    let keys = if rotate {
        client.rotate().await?
    } else {
        client.retire().await?
    };
    println!("{}", serde_json::to_string_pretty(&keys)?);
    Ok(())
}
