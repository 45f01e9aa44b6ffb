//! A fresh state per test (SQLite temp file, or a PostgreSQL database named by UUID), the
//! macro that runs a scenario on both, and `Scenario`, which wires a fake source and a fake API
//! to it the way the binary wires the real ones.

use std::sync::Arc;

use importer_svc::report::RunReport;
use importer_svc::run::{run_once, Deps, Mode, RunSettings};
use importer_svc::shutdown::StopSignal;
use importer_svc::state::{self, StateStore};
use importer_svc::sync::SyncError;
use test_postgres::TestDatabase;

use crate::fake_api::FakeApi;
use crate::fake_source::FakeSource;

/// Importer test databases are named `importer_test_<uuid v7>`.
const DATABASE_PREFIX: &str = "importer_test_";

/// Runs `$test(&TestState)` as `$sqlite` on a temp-file SQLite state and as `$postgres` on a
/// new PostgreSQL database.
macro_rules! on_both_backends {
    ($test:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $sqlite() {
            let db = $crate::harness::TestState::sqlite().await;
            $test(&db).await;
            db.finish().await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $postgres() {
            let db = $crate::harness::TestState::postgres().await;
            $test(&db).await;
            db.finish().await;
        }
    };
}
pub(crate) use on_both_backends;

pub struct TestState {
    pub state: Arc<dyn StateStore>,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    /// The directory (state file and lock file) goes when this drops.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(TestDatabase),
}

impl TestState {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // A directory that does not exist yet: the state creates it, as on a first run.
        let url = format!(
            "sqlite://{}",
            dir.path().join("importer/state.db").display()
        );
        let state = state::open(&url).await.unwrap();
        assert_eq!(state.backend(), "sqlite");
        Self {
            state,
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    pub async fn postgres() -> Self {
        // Never skipped: an unreachable server fails the test with the reason.
        let database = TestDatabase::create(DATABASE_PREFIX)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        let url = database.url().to_owned();
        let state = state::open(&url).await.unwrap();
        assert_eq!(state.backend(), "postgres");
        Self {
            state,
            url,
            cleanup: Cleanup::Postgres(database),
        }
    }

    /// The same state opened a second time, as another process would.
    pub async fn reopen(&self) -> Arc<dyn StateStore> {
        state::open(&self.url).await.unwrap()
    }

    /// Drops the database. Only reached when the test passed.
    pub async fn finish(self) {
        drop(self.state);
        if let Cleanup::Postgres(database) = self.cleanup {
            database
                .remove()
                .await
                .unwrap_or_else(|err| panic!("{err}"));
        }
    }
}

/// A source, an API and a state, wired like the binary wires them.
pub struct Scenario {
    pub source: Arc<FakeSource>,
    pub api: Arc<FakeApi>,
    pub state: Arc<dyn StateStore>,
    pub settings: RunSettings,
}

impl Scenario {
    pub fn new(db: &TestState) -> Self {
        Self {
            source: Arc::new(FakeSource::new("contractor-tracker")),
            api: Arc::new(FakeApi::default()),
            state: db.state.clone(),
            settings: RunSettings {
                batch_size: 2,
                ..RunSettings::default()
            },
        }
    }

    /// Deps for one run. Every live run gets a destination of its own, as every process
    /// does: its token counter starts at zero.
    pub fn deps(&self, live: bool, stop: StopSignal) -> Deps {
        Deps {
            source: self.source.clone(),
            state: self.state.clone(),
            mode: if live {
                Mode::Live(Arc::new(self.api.destination()))
            } else {
                Mode::DryRun
            },
            settings: self.settings.clone(),
            stop,
            metrics: None,
            progress: false,
        }
    }

    pub async fn run(&self) -> Result<RunReport, SyncError> {
        run_once(&self.deps(true, StopSignal::never())).await
    }

    pub async fn dry_run(&self) -> Result<RunReport, SyncError> {
        run_once(&self.deps(false, StopSignal::never())).await
    }
}
