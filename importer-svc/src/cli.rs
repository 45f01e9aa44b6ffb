//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use service_config::cli::{CheckConfigArgs, LogArgs};

/// Imports contractors' timesheet entries from a source system (CSV/JSON Lines files or
/// Harvest) into the Timesheets API, sending only what changed since the last run.
///
/// Configuration: a TOML file (--config or IMPORTER_CONFIG; see config/importer.example.toml),
/// then environment variables IMPORTER__<SECTION>__<KEY> (for example
/// IMPORTER__AUTH__CLIENT_SECRET); every bad key is named at once. Exit codes: 0 all good, 2
/// some rows were rejected, 1 the run failed (or another run is in progress), 64 bad
/// configuration or usage.
#[derive(Debug, Parser)]
#[command(name = "importer-svc", version, about, long_about)]
pub struct Cli {
    /// TOML configuration file.
    #[arg(long, env = crate::config::ENV_CONFIG, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    // Log lines go to stderr: `--log-format auto` is pretty when stderr is a terminal.
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run one import and exit (for a Kubernetes CronJob or cron).
    Run {
        /// Read, validate and report what would change; send and store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the run report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Run imports on a schedule until SIGTERM/SIGINT, serving Prometheus metrics.
    Daemon {
        /// Cron expression, 5 fields (minute precision) or 6 (with seconds), e.g. "*/15 * * * *".
        #[arg(long)]
        schedule: String,
        /// Where to serve /metrics and /healthz.
        #[arg(long, default_value = "127.0.0.1:9466")]
        metrics_listen: SocketAddr,
    },
    /// Show the last runs and the checkpoint of each source.
    Status {
        /// Print as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// How many runs to show.
        #[arg(long, default_value_t = 10)]
        limit: u32,
    },
    /// Check a configuration file (or --config, and the environment) and exit: 0 with a
    /// summary, or 64 naming every bad key.
    CheckConfig(CheckConfigArgs),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn subcommands_parse_with_their_defaults() {
        let cli = Cli::try_parse_from(["importer-svc", "run", "--dry-run"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Run {
                dry_run: true,
                json: false
            }
        ));
        assert_eq!(cli.log.log_format, None);
        let cli =
            Cli::try_parse_from(["importer-svc", "daemon", "--schedule", "* * * * *"]).unwrap();
        match cli.command {
            Command::Daemon { metrics_listen, .. } => {
                assert_eq!(metrics_listen.to_string(), "127.0.0.1:9466");
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["importer-svc", "check-config", "x.toml"]).unwrap();
        match cli.command {
            Command::CheckConfig(args) => {
                assert_eq!(args.file(None), Some(std::path::Path::new("x.toml")));
            }
            other => panic!("{other:?}"),
        }
    }
}
