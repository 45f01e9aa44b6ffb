//! The importer: reads contractors' entries from a source system and upserts them into the
//! Timesheets API through the gateway, keeping its own state so that each run sends only what
//! changed.
//!
//! What it is: the sources (`source`), the sync engine (`sync`: planning against the local
//! state, batched uploads, deletions), the local state with its run lock (`state`), one run
//! (`run::run_once`), the scheduler (`daemon`), and the command line around them.
//!
//! What it is not: the HTTP client of the API (that is `timesheet-client`, adapted to
//! [`sync::destination::Destination`]) nor any business rule of the ledger: the API decides
//! what it accepts, the importer reports it.
#![forbid(unsafe_code)]

pub mod cli;
pub mod command;
pub mod config;
pub mod daemon;
pub mod metrics;
pub mod progress;
pub mod report;
pub mod run;
pub mod shutdown;
pub mod source;
pub mod state;
pub mod status;
pub mod sync;
pub mod telemetry;
