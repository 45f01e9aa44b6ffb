use std::sync::Arc;
use std::time::Duration;

use identity_assertion::AssertionVerifier;
use time::{Date, OffsetDateTime};
use timesheet_domain::DateWindow;
use timesheet_store::Store;

use crate::metrics::Metrics;

/// What every handler shares. Cheap to clone (everything behind `Arc`).
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub verifier: Arc<AssertionVerifier>,
    pub window: DateWindow,
    pub idempotency_stale: Duration,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// Today's date for the date window. UTC: entries carry local dates, and a window of days
    /// makes the hours of offset irrelevant.
    pub fn today(&self) -> Date {
        self.now().date()
    }
}
