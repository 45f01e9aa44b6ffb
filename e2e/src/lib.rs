//! Test-only crate: the end-to-end suite lives in `tests/e2e/`. It starts dev-idp,
//! timesheet-svc, the gateway and the importer as real processes through `devstack` (as `make
//! up` does), on SQLite and on PostgreSQL, and drives them over HTTP and the command line.
#![forbid(unsafe_code)]
