//! The SQLite write transaction: a `BEGIN IMMEDIATE` on the single writer connection.

use sqlx::{Sqlite, Transaction};
use timesheet_domain::TenantId;

// Used by the delegation macro at the bottom.
use super::{entries, idempotency, map_err, statement, weeks, workers};
use crate::statement::InSpan as _;

/// Rolls back when dropped uncommitted (sqlx's [`Transaction`] does that).
pub(super) struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    tenant: TenantId,
}

impl SqliteTx {
    pub(super) fn new(tx: Transaction<'static, Sqlite>, tenant: TenantId) -> Self {
        Self { tx, tenant }
    }
}

crate::tx_delegation::delegate_store_tx!(SqliteTx);
