//! The database of one test app: a SQLite file in a temporary directory, or a PostgreSQL
//! database of its own, created through `TEST_POSTGRES_URL` and dropped in the background.

use std::time::Duration;

use sqlx::Connection as _;
use sqlx::Executor as _;

use super::Backend;

/// Where `TEST_POSTGRES_URL` points when it is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The database a test app runs on; dropped (SQLite) or dropped explicitly (PostgreSQL) when the
/// test ends.
pub enum TestDatabase {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub(super) async fn create(backend: Backend) -> (TestDatabase, String) {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("creating a temporary directory");
                let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
                (TestDatabase::Sqlite { _dir: dir }, url)
            }
            Backend::Postgres => {
                let admin_url = std::env::var("TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
                // UUID v7: the name tells when the database was made, so leftovers can be found.
                let name = format!("{DATABASE_PREFIX}{}", uuid::Uuid::now_v7().simple());
                reaper().spawn(drop_stale_databases(admin_url.clone()));
                let mut conn = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|err| {
                        panic!(
                            "PostgreSQL is unreachable at TEST_POSTGRES_URL={admin_url:?}: {err}. \
                             The PostgreSQL tests need it; they never skip."
                        )
                    });
                conn.execute(format!(r#"create database "{name}""#).as_str())
                    .await
                    .unwrap_or_else(|err| panic!("creating the test database {name}: {err}"));
                let _ = conn.close().await;
                let url = with_database(&admin_url, &name);
                (TestDatabase::Postgres { admin_url, name }, url)
            }
        }
    }

    /// Removes the database. A PostgreSQL `DROP DATABASE` waits for a checkpoint (about a
    /// second), so it is handed to the background [`reaper`] and the test does not wait for it.
    /// Drops the database now. Awaited, not left to a background task: nextest runs every test
    /// in a process of its own, which would exit before a background drop ran and leave the
    /// database behind.
    pub(super) async fn remove(self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            drop_database(admin_url, name).await;
        }
    }

    /// Makes the database disappear under the running app (PostgreSQL only), to test how the
    /// service behaves when it is gone.
    pub async fn break_now(&self) {
        match self {
            TestDatabase::Postgres { admin_url, name } => {
                let mut conn = sqlx::PgConnection::connect(admin_url)
                    .await
                    .expect("connecting to PostgreSQL");
                conn.execute(format!(r#"drop database "{name}" with (force)"#).as_str())
                    .await
                    .expect("dropping the test database");
                let _ = conn.close().await;
            }
            TestDatabase::Sqlite { .. } => panic!("break_now is for PostgreSQL only"),
        }
    }
}

/// Test databases are named `ts_api_<uuid v7, simple>`.
const DATABASE_PREFIX: &str = "ts_api_";

/// How old a leftover test database must be before a later run removes it.
const STALE_AFTER: Duration = Duration::from_secs(15 * 60);

/// A runtime of its own for the background sweep of leftover databases, so that it never holds
/// up a test's own runtime.
fn reaper() -> &'static tokio::runtime::Runtime {
    static REAPER: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    REAPER.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-db-reaper")
            .enable_all()
            .build()
            .expect("building the reaper runtime")
    })
}

async fn drop_database(admin_url: String, name: String) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
        let _ = conn
            .execute(format!(r#"drop database if exists "{name}" with (force)"#).as_str())
            .await;
        let _ = conn.close().await;
    }
}

/// Drops test databases left by earlier runs (older than [`STALE_AFTER`], e.g. of a test that
/// was killed), a few per process, one after another over one connection: every test process
/// runs this, so it must never open more than one connection or take long.
async fn drop_stale_databases(admin_url: String) {
    const MAX_PER_PROCESS: usize = 10;
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await else {
        return;
    };
    let names: Vec<String> =
        sqlx::query_scalar("select datname from pg_database where datname like 'ts\\_api\\_%'")
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
    let now = std::time::SystemTime::now();
    let stale = names.into_iter().filter(|name| {
        name.strip_prefix(DATABASE_PREFIX)
            .and_then(|id| uuid::Uuid::parse_str(id).ok())
            .and_then(|id| id.get_timestamp())
            .map(|ts| {
                let (secs, nanos) = ts.to_unix();
                std::time::UNIX_EPOCH + Duration::new(secs, nanos)
            })
            .and_then(|made| now.duration_since(made).ok())
            .is_some_and(|age| age > STALE_AFTER)
    });
    for name in stale.take(MAX_PER_PROCESS) {
        let _ = conn
            .execute(format!(r#"drop database if exists "{name}" with (force)"#).as_str())
            .await;
    }
    let _ = conn.close().await;
}

/// `url` with its `host:port` replaced by `authority` (user info and path kept).
pub fn with_authority(url: &str, authority: &str) -> String {
    let scheme_end = url.find("://").map(|i| i + 3).unwrap_or(0);
    let rest = &url[scheme_end..];
    let host_start = rest.find('@').map(|i| i + 1).unwrap_or(0);
    let host_end = rest[host_start..]
        .find(['/', '?'])
        .map(|i| host_start + i)
        .unwrap_or(rest.len());
    format!(
        "{}{}{authority}{}",
        &url[..scheme_end],
        &rest[..host_start],
        &rest[host_end..]
    )
}

/// `base` with its database name replaced by `name`.
fn with_database(base: &str, name: &str) -> String {
    let (without_query, query) = match base.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (base, None),
    };
    let scheme_end = without_query.find("://").map(|i| i + 3).unwrap_or(0);
    let root = match without_query[scheme_end..].find('/') {
        Some(slash) => &without_query[..scheme_end + slash],
        None => without_query,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}
