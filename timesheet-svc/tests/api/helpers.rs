//! The test harness: one service per test on port 0, a fresh database per test (a SQLite file in
//! a temporary directory, or a PostgreSQL database named by UUID), and a client that mints a
//! fresh gateway assertion for every request, as the gateway does.

mod client;
mod database;
mod fixtures;
pub mod proxy;
mod response;

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use timesheet_domain::DateWindow;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use timesheet_svc::config::Config;
use timesheet_svc::startup::Application;

pub use client::TestApp;
pub use database::{with_authority, TestDatabase};
pub use fixtures::{
    admin, days_ago, encode, entry_body, etag_of, fmt_date, iso_week, item, machine,
    monday_weeks_ago, user,
};
pub use response::{assert_item_rejected, counts, TestResponse};

/// The tenant most tests act in, and a second one for isolation tests.
pub const TENANT: &str = "acme";
pub const OTHER_TENANT: &str = "globex";

/// The date window every test app runs with (the service's default).
pub const DATE_WINDOW: DateWindow = DateWindow {
    past_days: 400,
    future_days: 31,
};

/// Which database the service under test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Turns `async fn scenario(app: TestApp)`, written just above, into one `#[tokio::test]` per
/// backend, reported as `file::scenario::sqlite` and `file::scenario::postgres`. (Stable
/// `macro_rules!` cannot glue identifiers into `scenario_sqlite` without an extra crate; a
/// module per scenario keeps the sentence name and lets `cargo test postgres` pick a backend.)
macro_rules! api_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                $crate::helpers::run_scenario($crate::helpers::Backend::Sqlite, super::$name).await;
            }

            #[tokio::test]
            async fn postgres() {
                $crate::helpers::run_scenario($crate::helpers::Backend::Postgres, super::$name)
                    .await;
            }
        }
    };
}

/// Spawns an app on `backend`, runs `scenario` on it, then stops the app and removes its
/// database, whether the scenario passed or panicked (the panic is then re-raised).
pub async fn run_scenario<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (app, server) = spawn_app(backend).await;
    let outcome = tokio::spawn(scenario(app)).await;
    server.stop().await;
    if let Err(err) = outcome {
        if err.is_panic() {
            std::panic::resume_unwind(err.into_panic());
        }
        panic!("the scenario was cancelled: {err}");
    }
}

// === spawning ===

/// The running service and what stops it.
pub struct ServerHandle {
    shutdown: Option<oneshot::Sender<()>>,
    /// `None` once the server has been awaited.
    task: Option<JoinHandle<std::io::Result<()>>>,
    database: Option<TestDatabase>,
}

impl ServerHandle {
    /// Signals shutdown and waits (briefly) for the server to stop; returns its outcome, or
    /// `None` if it did not stop in time.
    pub async fn shutdown(&mut self) -> Option<std::io::Result<()>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let task = self.task.as_mut()?;
        let outcome = match tokio::time::timeout(Duration::from_secs(10), task).await {
            Ok(Ok(result)) => Some(result),
            Ok(Err(join)) => Some(Err(std::io::Error::other(join.to_string()))),
            Err(_) => return None,
        };
        self.task = None;
        outcome
    }

    pub fn database(&self) -> &TestDatabase {
        self.database.as_ref().expect("the database is still there")
    }

    /// Stops the server and removes its database.
    pub async fn stop(mut self) {
        if self.shutdown().await.is_none() {
            if let Some(task) = self.task.take() {
                task.abort();
            }
        }
        if let Some(db) = self.database.take() {
            db.remove().await;
        }
    }
}

/// Starts the service on `backend` with a fresh database and a fresh gateway key.
pub async fn spawn_app(backend: Backend) -> (TestApp, ServerHandle) {
    spawn_app_with(backend, str::to_owned).await
}

/// [`spawn_app`], with the database URL the service gets passed through `rewrite` (to route it
/// through a proxy, say).
pub async fn spawn_app_with(
    backend: Backend,
    rewrite: impl FnOnce(&str) -> String,
) -> (TestApp, ServerHandle) {
    let keys = identity_assertion::generate_keypair().expect("generating the gateway key");
    let (database, database_url) = TestDatabase::create(backend).await;
    let database_url = rewrite(&database_url);
    let mut config = Config::for_tests(&database_url, &keys.public_pem);
    config.date_window = DATE_WINDOW;
    // Logs only on request: `TEST_LOG=1 cargo test …` (RUST_LOG filters as usual). Installed
    // once per process; the guard lives as long as the process, like the subscriber.
    if std::env::var_os("TEST_LOG").is_some() {
        static TELEMETRY: OnceLock<Option<service_telemetry::Guard>> = OnceLock::new();
        TELEMETRY.get_or_init(|| timesheet_svc::telemetry::init(&config.telemetry()).ok());
    }
    let application = Application::build(config)
        .await
        .unwrap_or_else(|err| panic!("building the app on {backend:?}: {err:?}"));
    let addr = application.local_addr();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(application.run_until_stopped(async move {
        let _ = rx.await;
    }));
    let app = TestApp::new(addr, &keys.private_pem);
    let server = ServerHandle {
        shutdown: Some(tx),
        task: Some(task),
        database: Some(database),
    };
    (app, server)
}
