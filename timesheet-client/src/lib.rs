//! Typed client of the Timesheets API (placeholder).
#![forbid(unsafe_code)]
