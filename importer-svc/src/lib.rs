//! The importer: reads contractors' entries from a source system and upserts them into the
//! Timesheets API through the gateway, keeping its own checkpoints so that each run sends only
//! what changed.
#![forbid(unsafe_code)]

pub mod source;
pub mod sync;
