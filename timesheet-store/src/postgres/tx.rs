//! The PostgreSQL write transaction, holding the tenant's advisory lock.

use sqlx::{Postgres, Transaction};
use timesheet_domain::TenantId;

// Used by the delegation macro at the bottom.
use super::{entries, idempotency, map_err, statement, weeks, workers};
use crate::statement::InSpan as _;

/// Rolls back when dropped uncommitted (sqlx's [`Transaction`] does that).
pub(super) struct PgTx {
    tx: Transaction<'static, Postgres>,
    tenant: TenantId,
}

impl PgTx {
    pub(super) fn new(tx: Transaction<'static, Postgres>, tenant: TenantId) -> Self {
        Self { tx, tenant }
    }
}

crate::tx_delegation::delegate_store_tx!(PgTx);
