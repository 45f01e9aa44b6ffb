//! Throw-away PostgreSQL databases for tests: the one place that knows how the workspace's
//! tests reach PostgreSQL and clean up after themselves.
//!
//! What it is: [`TestDatabase::create`] makes a database named `<prefix><uuid v7>` on the
//! server at `TEST_POSTGRES_URL` ([`DEFAULT_URL`] when unset), [`TestDatabase::url`] is the URL
//! to give the code under test, and [`TestDatabase::remove`] drops it (`with (force)`, so
//! connections still open do not stop it). The rules every suite shares:
//! - PostgreSQL tests are never skipped, under CI (`CI=true`) and locally alike: an unreachable
//!   server is an [`Error::Unreachable`] whose message says so, and the harness panics with it.
//! - A database is removed only when the test gets to the end: a failed test's database stays
//!   for inspection. [`sweep_stale_in_background`] removes such leftovers on a later run.
//!
//! What it is not: a fixture library (no migrations, no pools, no SQLite), nor anything a
//! service links. It is a dev-dependency only, and it returns errors rather than panicking so
//! that each harness decides how loudly to fail.

#![forbid(unsafe_code)]

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{Connection as _, Executor as _, PgConnection};

/// The environment variable naming the PostgreSQL server the tests use (an admin URL: the user
/// must be allowed to create and drop databases).
pub const ENV_TEST_POSTGRES_URL: &str = "TEST_POSTGRES_URL";

/// Where [`ENV_TEST_POSTGRES_URL`] points when it is not set (the Makefile's default too).
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The longest prefix: PostgreSQL names are at most 63 bytes, and the UUID takes 32.
const MAX_PREFIX_LEN: usize = 31;

/// What went wrong; every message names the database or (without its password) the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server did not accept a connection. PostgreSQL tests never skip, so the harness is
    /// expected to panic with this message.
    #[error(
        "PostgreSQL is not reachable at {url} ({source}); start it or set TEST_POSTGRES_URL. \
         The PostgreSQL tests are never skipped"
    )]
    Unreachable {
        /// The server's URL, password hidden.
        url: String,
        source: sqlx::Error,
    },
    /// A database name prefix outside `[a-z0-9_]{1,31}`.
    #[error("test database prefix {0:?} is not 1 to 31 of [a-z0-9_]")]
    InvalidPrefix(String),
    #[error("creating the test database {name}: {source}")]
    Create { name: String, source: sqlx::Error },
    #[error("dropping the test database {name}: {source}")]
    Drop { name: String, source: sqlx::Error },
}

/// The server URL from [`ENV_TEST_POSTGRES_URL`], or [`DEFAULT_URL`].
pub fn server_url() -> String {
    std::env::var(ENV_TEST_POSTGRES_URL).unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A database of one test, on the server at [`server_url`] unless made with
/// [`create_on`](Self::create_on). Dropping the value does not drop the database: call
/// [`remove`](Self::remove) at the end of the test.
#[derive(Debug)]
pub struct TestDatabase {
    server_url: String,
    name: String,
    url: String,
}

// === impl TestDatabase ===

impl TestDatabase {
    /// Creates `<prefix><uuid v7, simple>` on the server at [`server_url`]. The UUID v7 makes
    /// the name unique and tells when it was made, which [`sweep_stale_in_background`] reads.
    ///
    /// Fails with [`Error::Unreachable`] when the server does not answer, [`Error::Create`] when
    /// it refuses, and [`Error::InvalidPrefix`] for a prefix outside `[a-z0-9_]{1,31}`.
    pub async fn create(prefix: &str) -> Result<Self, Error> {
        Self::create_on(server_url(), prefix).await
    }

    /// [`create`](Self::create) on the server at `server_url`.
    pub async fn create_on(server_url: String, prefix: &str) -> Result<Self, Error> {
        check_prefix(prefix)?;
        let name = format!("{prefix}{}", uuid::Uuid::now_v7().simple());
        let mut conn = connect(&server_url).await?;
        let created = conn
            .execute(format!(r#"create database "{name}""#).as_str())
            .await;
        let _ = conn.close().await;
        if let Err(source) = created {
            return Err(Error::Create { name, source });
        }
        let url = with_database(&server_url, &name);
        Ok(Self {
            server_url,
            name,
            url,
        })
    }

    /// The URL of this database (the server's URL with its database name replaced).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the server it was made on.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// Drops the database now, while the code under test may still use it (its connections are
    /// terminated), to test how a service behaves when its database disappears. Fails with
    /// [`Error::Drop`] if it is already gone; [`remove`](Self::remove) afterwards succeeds.
    pub async fn drop_in_use(&self) -> Result<(), Error> {
        self.drop_database(&format!(r#"drop database "{}" with (force)"#, self.name))
            .await
    }

    /// Drops the database (`if exists`, `with (force)`), at the end of a test that got there.
    /// Awaited, not left to a background task: nextest runs every test in a process of its
    /// own, which would exit before a background drop ran and leave the database behind.
    pub async fn remove(self) -> Result<(), Error> {
        let statement = format!(r#"drop database if exists "{}" with (force)"#, self.name);
        self.drop_database(&statement).await
    }

    async fn drop_database(&self, statement: &str) -> Result<(), Error> {
        let mut conn = connect(&self.server_url).await?;
        let dropped = conn.execute(statement).await;
        let _ = conn.close().await;
        dropped.map(drop).map_err(|source| Error::Drop {
            name: self.name.clone(),
            source,
        })
    }
}

/// Starts removing, in the background, databases named `<prefix><uuid v7>` on the server at
/// [`server_url`] that are older than `older_than` (left by a test that failed or was killed).
/// At most a few per call, one after another over one connection, on a runtime of its own so
/// that it never holds up the test's: every test process may call this.
///
/// Best effort: an invalid prefix, an unreachable server or a failed drop is ignored (the test
/// itself reports an unreachable server). Choose `older_than` well above the longest test, or
/// the sweep drops a running test's database.
pub fn sweep_stale_in_background(prefix: &'static str, older_than: Duration) {
    if check_prefix(prefix).is_err() {
        return;
    }
    if let Some(runtime) = sweeper() {
        runtime.spawn(sweep_stale(server_url(), prefix, older_than));
    }
}

/// The sweeper's runtime, built once per process; `None` if it could not be built.
fn sweeper() -> Option<&'static tokio::runtime::Runtime> {
    static SWEEPER: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    SWEEPER
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("test-db-sweeper")
                .enable_all()
                .build()
                .ok()
        })
        .as_ref()
}

async fn sweep_stale(server_url: String, prefix: &'static str, older_than: Duration) {
    const MAX_PER_SWEEP: usize = 10;
    let Ok(mut conn) = PgConnection::connect(&server_url).await else {
        return;
    };
    // `_` is a LIKE wildcard; the prefix has no other special character.
    let pattern = format!("{}%", prefix.replace('_', "\\_"));
    let names: Vec<String> =
        sqlx::query_scalar("select datname from pg_database where datname like $1")
            .bind(pattern)
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
    let now = SystemTime::now();
    let stale = names
        .into_iter()
        .filter(|name| age(name, prefix, now).is_some_and(|age| age > older_than));
    for name in stale.take(MAX_PER_SWEEP) {
        let _ = conn
            .execute(format!(r#"drop database if exists "{name}" with (force)"#).as_str())
            .await;
    }
    let _ = conn.close().await;
}

/// How long ago a database named `<prefix><uuid v7>` was made; `None` for any other name.
fn age(name: &str, prefix: &str, now: SystemTime) -> Option<Duration> {
    let id = uuid::Uuid::parse_str(name.strip_prefix(prefix)?).ok()?;
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    now.duration_since(UNIX_EPOCH + Duration::new(secs, nanos))
        .ok()
}

fn check_prefix(prefix: &str) -> Result<(), Error> {
    let valid = (1..=MAX_PREFIX_LEN).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidPrefix(prefix.to_owned()))
    }
}

async fn connect(url: &str) -> Result<PgConnection, Error> {
    PgConnection::connect(url)
        .await
        .map_err(|source| Error::Unreachable {
            url: without_password(url),
            source,
        })
}

/// `url` with its database name replaced by `database` (user info, host and query kept).
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

/// `url` with any password replaced by `***`, for messages.
fn without_password(url: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let end = url[authority..]
        .find(['/', '?'])
        .map_or(url.len(), |i| authority + i);
    match url[authority..end].rfind('@') {
        Some(at) => match url[authority..authority + at].find(':') {
            Some(colon) => format!(
                "{}:***{}",
                &url[..authority + colon],
                &url[authority + at..]
            ),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "ts_x"),
            "postgres://postgres@127.0.0.1:5432/ts_x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "ts_x"),
            "postgres://u:p@h/ts_x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "ts_x"), "postgres://h/ts_x");
    }

    #[test]
    fn messages_do_not_show_the_password() {
        assert_eq!(
            without_password("postgres://u:secret@h:5432/db?sslmode=disable"),
            "postgres://u:***@h:5432/db?sslmode=disable"
        );
        assert_eq!(
            without_password("postgres://postgres@127.0.0.1/postgres"),
            "postgres://postgres@127.0.0.1/postgres"
        );
        assert_eq!(without_password("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn prefixes_are_checked_before_they_reach_sql() {
        assert!(check_prefix("ts_api_").is_ok());
        for bad in ["", "Ts_", "a\"b", "a-b", &"x".repeat(32)] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn age_reads_the_uuid_v7_after_the_prefix() {
        let name = format!("ts_api_{}", uuid::Uuid::now_v7().simple());
        let later = SystemTime::now() + Duration::from_secs(60);
        let age = age(&name, "ts_api_", later).unwrap();
        assert!(age >= Duration::from_secs(59) && age <= Duration::from_secs(61));
        assert_eq!(age_of_other("ts_api_nope", later), None);
        assert_eq!(age_of_other(&name.replace("ts_api_", "e2e_"), later), None);

        fn age_of_other(name: &str, now: SystemTime) -> Option<Duration> {
            super::age(name, "ts_api_", now)
        }
    }
}
