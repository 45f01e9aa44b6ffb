//! service-config: how every Timesheets binary reads, checks and reports its configuration, and
//! the few edges every `main` shares.
//!
//! What it is:
//! - [`Loader`]: a TOML file, then `PREFIX__SECTION__KEY` environment overrides (figment), into
//!   one typed [`Settings`] tree: durations, URLs, addresses and algorithms are typed at the serde
//!   boundary, ranges are garde rules declared on the fields, and [`Settings::check`] holds the
//!   few rules across fields. Unknown keys are refused. Every issue is reported at once, each
//!   named by its key path (`tenant[1].issuer`), so an operator fixes a file in one pass.
//! - [`cli`]: the flags every binary has (`--log-format json|pretty|auto`, `check-config
//!   [FILE]`) and the one way `check-config` answers (exit 0, or [`EXIT_CONFIG`] with a line per
//!   issue).
//! - [`shutdown_signal`]: SIGTERM or Ctrl-C, the stop every service and tool waits for.
//!
//! What it is not: it holds no section of any binary (each section type lives in the module that
//! uses it) and builds no runtime object.

pub mod cli;
mod issue;
mod load;
mod prune;
pub mod rule;
mod signal;

pub use issue::{ConfigError, ConfigIssue, Issues};
pub use load::{Loader, Settings};
pub use signal::shutdown_signal;

/// EX_USAGE from sysexits.h: the configuration (or the command line) is unusable; nothing was
/// started. Every binary exits with it before binding a port or touching any state.
pub const EXIT_CONFIG: u8 = 64;
