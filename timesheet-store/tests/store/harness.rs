//! Fresh databases per test, the macro that runs a test body on both backends, and fixtures.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use time::OffsetDateTime;
use timesheet_domain::{
    EntryId, ExternalId, Minutes, NewEntry, Notes, ProjectCode, SourceName, TenantId, WorkDate,
    WorkerId, WorkerKind, WorkerName, WorkerRef,
};
use timesheet_store::{connect, EntryWrite, Store, StoreOptions, Week, WriteKind};

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

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
    Postgres {
        admin_url: String,
        database: String,
    },
}

pub fn postgres_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    format!("{}/{database}{query}", &base[..path])
}

async fn admin_connection(url: &str) -> PgConnection {
    PgConnection::connect(url).await.unwrap_or_else(|err| {
        panic!(
            "PostgreSQL is not reachable at {url} ({err}); start it or set TEST_POSTGRES_URL. \
             The PostgreSQL variants of the store tests are never skipped."
        )
    })
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
        let admin_url = postgres_url();
        let database = format!("ts_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = admin_connection(&admin_url).await;
        admin
            .execute(format!(r#"create database "{database}""#).as_str())
            .await
            .unwrap();
        admin.close().await.unwrap();
        let store = connect(&with_database(&admin_url, &database), &options())
            .await
            .unwrap();
        assert_eq!(store.backend(), timesheet_store::Backend::Postgres);
        Self {
            store,
            cleanup: Cleanup::Postgres {
                admin_url,
                database,
            },
        }
    }

    /// The PostgreSQL URL of this test's database (`None` on SQLite), to look under the store.
    pub fn postgres_url(&self) -> Option<String> {
        match &self.cleanup {
            Cleanup::Postgres {
                admin_url,
                database,
            } => Some(with_database(admin_url, database)),
            Cleanup::Sqlite(_) => None,
        }
    }

    /// Drops the database. Only reached when the test passed: a failed test's database stays
    /// for inspection.
    pub async fn finish(self) {
        drop(self.store);
        if let Cleanup::Postgres {
            admin_url,
            database,
        } = self.cleanup
        {
            let mut admin = admin_connection(&admin_url).await;
            admin
                .execute(format!(r#"drop database if exists "{database}" with (force)"#).as_str())
                .await
                .unwrap();
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
