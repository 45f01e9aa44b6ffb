//! Fresh databases per test, the macro that runs a test body on both backends, and fixtures.

use std::sync::Arc;
use std::time::Duration;

use test_postgres::TestDatabase;
use time::OffsetDateTime;
use timesheet_domain::{
    EntryId, ExternalId, Minutes, NewEntry, Notes, ProjectCode, SourceName, TenantId, WorkDate,
    WorkerId, WorkerKind, WorkerName, WorkerRef,
};
use timesheet_store::{connect, EntryWrite, Store, StoreOptions, Week, WriteKind};

/// Store test databases are named `ts_test_<uuid v7>`.
const DATABASE_PREFIX: &str = "ts_test_";

/// Runs `$test(store)` as `$sqlite` on a temp-file SQLite database and as `$postgres` on a new
/// PostgreSQL database.
macro_rules! on_both_backends {
    ($test:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            let db = $crate::harness::TestDb::sqlite().await;
            $test(db.store.clone()).await;
            db.finish().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            let db = $crate::harness::TestDb::postgres().await;
            $test(db.store.clone()).await;
            db.finish().await;
        }
    };
}

pub fn options() -> StoreOptions {
    StoreOptions {
        max_connections: 4,
        // Long enough for a test's second transaction to wait for its first.
        acquire_timeout: Duration::from_secs(10),
    }
}

pub struct TestDb {
    pub store: Arc<dyn Store>,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The directory (and the database file in it) goes when this drops.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(TestDatabase),
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = connect(&url, &options()).await.unwrap();
        assert_eq!(store.backend(), timesheet_store::Backend::Sqlite);
        Self {
            store,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    pub async fn postgres() -> Self {
        // Never skipped: an unreachable server fails the test with the reason.
        let database = TestDatabase::create(DATABASE_PREFIX)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        let store = connect(database.url(), &options()).await.unwrap();
        assert_eq!(store.backend(), timesheet_store::Backend::Postgres);
        Self {
            store,
            cleanup: Cleanup::Postgres(database),
        }
    }

    /// The PostgreSQL URL of this test's database (`None` on SQLite), to look under the store.
    pub fn postgres_url(&self) -> Option<String> {
        match &self.cleanup {
            Cleanup::Postgres(database) => Some(database.url().to_owned()),
            Cleanup::Sqlite(_) => None,
        }
    }

    /// Drops the database. Only reached when the test passed: a failed test's database stays
    /// for inspection.
    pub async fn finish(self) {
        drop(self.store);
        if let Cleanup::Postgres(database) = self.cleanup {
            database
                .remove()
                .await
                .unwrap_or_else(|err| panic!("{err}"));
        }
    }
}

// === fixtures ===

pub fn tenant(raw: &str) -> TenantId {
    TenantId::parse(raw).unwrap()
}

pub fn ext(raw: &str) -> ExternalId {
    ExternalId::parse(raw).unwrap()
}

pub fn source(raw: &str) -> SourceName {
    SourceName::parse(raw).unwrap()
}

pub fn project(raw: &str) -> ProjectCode {
    ProjectCode::parse(raw).unwrap()
}

pub fn date(raw: &str) -> WorkDate {
    WorkDate::parse(raw).unwrap()
}

/// Now, at the microsecond precision both backends store.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
        .unwrap()
}

pub fn worker(external_id: &str, name: Option<&str>) -> WorkerRef {
    WorkerRef {
        external_id: ext(external_id),
        kind: WorkerKind::Contractor,
        name: name.map(|n| WorkerName::parse(n).unwrap()),
        email: None,
    }
}

pub fn entry(day: &str, minutes: i64, external_id: Option<&str>) -> NewEntry {
    NewEntry {
        worker: None,
        date: date(day),
        project: project("STOREZERO"),
        minutes: Minutes::new(minutes).unwrap(),
        notes: Notes::parse("integration work").unwrap(),
        billable: true,
        external_id: external_id.map(ext),
    }
}

pub fn insert(worker: WorkerId, entry: NewEntry) -> EntryWrite {
    EntryWrite {
        id: EntryId::generate(),
        worker,
        entry,
        version: 1,
        kind: WriteKind::Insert,
    }
}

/// Creates (or refreshes) a worker and returns its id.
pub async fn add_worker(store: &Arc<dyn Store>, tenant: &TenantId, external_id: &str) -> WorkerId {
    let mut tx = store.begin(tenant).await.unwrap();
    let ids = tx
        .upsert_workers(&[worker(external_id, Some("Ana Silva"))], now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    ids[&ext(external_id)]
}

/// Writes `writes` in one committed transaction, as `actor`, and returns their ids.
pub async fn write(
    store: &Arc<dyn Store>,
    tenant: &TenantId,
    source_name: &str,
    writes: Vec<EntryWrite>,
) -> Vec<EntryId> {
    let mut tx = store.begin(tenant).await.unwrap();
    let codes: Vec<ProjectCode> = writes.iter().map(|w| w.entry.project.clone()).collect();
    tx.upsert_projects(&codes, now()).await.unwrap();
    tx.write_entries(&source(source_name), &writes, "importer", now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    writes.iter().map(|w| w.id).collect()
}

/// A week of worker `w` (named c-77) as submitted by ana now.
pub fn submitted(w: WorkerId, week: &str) -> Week {
    Week {
        worker: w,
        worker_external_id: ext("c-77"),
        week: timesheet_domain::IsoWeek::parse(week).unwrap(),
        status: timesheet_domain::WeekStatus::Submitted,
        entries: 0,
        minutes: 0,
        submitted_at: Some(now()),
        submitted_by: Some("ana".into()),
        decided_at: None,
        decided_by: None,
        reason: None,
    }
}
