//! The command line every binary shares: `--log-format`, `check-config [FILE]`, and how a
//! refused configuration is told (one line per issue, exit [`EXIT_CONFIG`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::PossibleValuesParser;
use clap::builder::TypedValueParser as _;
use service_telemetry::{LogConfig, LogFormat};

use crate::{ConfigError, EXIT_CONFIG};

/// `--log-format`, flattened into every binary's arguments.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LogArgs {
    /// Log lines as `json` (for collectors), `pretty` (for people), or `auto`: pretty when they
    /// go to a terminal, JSON otherwise. Overrides `log.format`; `RUST_LOG` overrides
    /// `log.filter`.
    #[arg(
        long,
        global = true,
        value_name = "FORMAT",
        value_parser = PossibleValuesParser::new(LogFormat::NAMES)
            .try_map(|name| LogFormat::parse(&name).ok_or("unknown log format")),
    )]
    pub log_format: Option<LogFormat>,
}

impl LogArgs {
    /// `log` with the command line's choice of format, if it made one.
    pub fn apply(&self, mut log: LogConfig) -> LogConfig {
        if let Some(format) = self.log_format {
            log.format = format;
        }
        log
    }
}

/// `check-config [FILE]`: the arguments of the subcommand every binary has.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CheckConfigArgs {
    /// The file to check, instead of the one `--config` names.
    pub file: Option<PathBuf>,
}

impl CheckConfigArgs {
    /// The file to check: the one named here, else `config`.
    pub fn file<'a>(&'a self, config: Option<&'a Path>) -> Option<&'a Path> {
        self.file.as_deref().or(config)
    }
}

/// What `check-config` prints and returns: `FILE: ok (summary)` on stdout and success, or one
/// line per issue on stderr and [`EXIT_CONFIG`].
pub fn report_check(file: Option<&Path>, outcome: Result<String, ConfigError>) -> ExitCode {
    let name = file.map_or_else(|| "(environment)".to_owned(), |f| f.display().to_string());
    match outcome {
        Ok(summary) if summary.is_empty() => {
            println!("{name}: ok");
            ExitCode::SUCCESS
        }
        Ok(summary) => {
            println!("{name}: ok ({summary})");
            ExitCode::SUCCESS
        }
        Err(err) => refuse(&name, &err),
    }
}

/// A configuration refused at start: one line per issue on stderr, prefixed by `program`, and
/// [`EXIT_CONFIG`]. Called before logging is set up, so it writes to stderr itself.
pub fn refuse(program: &str, err: &ConfigError) -> ExitCode {
    for issue in err.issues() {
        eprintln!("{program}: {issue}");
    }
    ExitCode::from(EXIT_CONFIG)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        log: LogArgs,
    }

    #[test]
    fn the_log_format_flag_takes_the_three_names_and_overrides_the_file() {
        let cli = Cli::try_parse_from(["x", "--log-format", "pretty"]).unwrap();
        assert_eq!(
            cli.log.apply(LogConfig::default()).format,
            LogFormat::Pretty
        );
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.log.apply(LogConfig::default()).format, LogFormat::Auto);
        assert!(Cli::try_parse_from(["x", "--log-format", "xml"]).is_err());
    }
}
