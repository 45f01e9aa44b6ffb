//! Tests of the importer's sources: the `files` source over real temporary directories, and the
//! `harvest` source over real loopback HTTP against a stand-in built from Harvest's documented
//! format. One binary; one file per capability.
// Test code fails by panicking, on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/harvest_standin.rs"]
mod harvest_standin;

// The test modules live in sources/, next to this file.
#[path = "sources/fixture.rs"]
mod fixture;

#[path = "sources/files_csv.rs"]
mod files_csv;
#[path = "sources/files_directory.rs"]
mod files_directory;
#[path = "sources/files_jsonl.rs"]
mod files_jsonl;
#[path = "sources/harvest_errors.rs"]
mod harvest_errors;
#[path = "sources/harvest_read.rs"]
mod harvest_read;
#[path = "sources/samples.rs"]
mod samples;
