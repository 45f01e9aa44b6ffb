//! The database of one test app: a SQLite file in a temporary directory, or a PostgreSQL
//! database of its own (`test-postgres`), dropped when the test stops its app.

use std::time::Duration;

use super::Backend;

/// The database a test app runs on; removed by [`remove`](Self::remove) when the test stops
/// its app.
pub enum TestDatabase {
    Sqlite { _dir: tempfile::TempDir },
    Postgres(test_postgres::TestDatabase),
}

/// API test databases are named `ts_api_<uuid v7>`.
const DATABASE_PREFIX: &str = "ts_api_";

/// How old a leftover API test database (of a test that failed or was killed) must be before a
/// later run removes it; well above nextest's limit for one test.
const STALE_AFTER: Duration = Duration::from_secs(15 * 60);

impl TestDatabase {
    pub(super) async fn create(backend: Backend) -> (TestDatabase, String) {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("creating a temporary directory");
                let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
                (TestDatabase::Sqlite { _dir: dir }, url)
            }
            Backend::Postgres => {
                test_postgres::sweep_stale_in_background(DATABASE_PREFIX, STALE_AFTER);
                // Never skipped: an unreachable server fails the test with the reason.
                let database = test_postgres::TestDatabase::create(DATABASE_PREFIX)
                    .await
                    .unwrap_or_else(|err| panic!("{err}"));
                let url = database.url().to_owned();
                (TestDatabase::Postgres(database), url)
            }
        }
    }

    /// Drops the database now (PostgreSQL; a SQLite file goes with its directory). A failed drop
    /// does not fail the test: the sweep of a later run removes what is left.
    pub(super) async fn remove(self) {
        if let TestDatabase::Postgres(database) = self {
            let _ = database.remove().await;
        }
    }

    /// Makes the database disappear under the running app (PostgreSQL only), to test how the
    /// service behaves when it is gone.
    pub async fn break_now(&self) {
        match self {
            TestDatabase::Postgres(database) => database
                .drop_in_use()
                .await
                .unwrap_or_else(|err| panic!("{err}")),
            TestDatabase::Sqlite { .. } => panic!("break_now is for PostgreSQL only"),
        }
    }
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
