//! The run lock: a second run is refused at once and says who holds the lock; a lock whose
//! holder dies (even by SIGKILL) is free again.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use importer_svc::state::{self, LockError, LockHolder};
use importer_svc::sync::SyncError;
use time::OffsetDateTime;

use crate::harness::{on_both_backends, Scenario, TestState};

fn holder(pid: u32) -> LockHolder {
    LockHolder {
        pid,
        host: "elsewhere".to_owned(),
        since: importer_svc::state::truncate_to_micros(OffsetDateTime::now_utc()),
    }
}

async fn a_second_run_is_refused_at_once_naming_the_holder(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(2);
    // Another process: its own connection to the state.
    let other = db.reopen().await;
    let held = other.try_lock(&holder(4242)).await.unwrap();

    let started = Instant::now();
    let err = s.run().await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(2), "it waited");
    assert!(err.is_locked(), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("another run is in progress (since "),
        "{message}"
    );
    assert!(message.ends_with(", pid 4242/elsewhere)"), "{message}");
    assert_eq!(s.source.read_count(), 0, "the refused run read the source");
    assert_eq!(s.api.upload_calls(), 0);
    assert!(s.state.recent_runs(10).await.unwrap().is_empty());

    held.release().await;
    assert_eq!(s.run().await.unwrap().counts.created, 2);
}
on_both_backends!(
    a_second_run_is_refused_at_once_naming_the_holder,
    a_second_run_is_refused_at_once_naming_the_holder_sqlite,
    a_second_run_is_refused_at_once_naming_the_holder_postgres
);

async fn a_run_with_a_lock_timeout_waits_for_the_lock(db: &TestState) {
    let mut s = Scenario::new(db);
    s.settings.lock_timeout = Some(Duration::from_secs(10));
    s.source.put_many(1);
    let other = db.reopen().await;
    let held = other.try_lock(&holder(7)).await.unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        held.release().await;
    });

    let report = s.run().await.unwrap();

    assert_eq!(report.counts.created, 1);
    release.await.unwrap();
}
on_both_backends!(
    a_run_with_a_lock_timeout_waits_for_the_lock,
    a_run_with_a_lock_timeout_waits_for_the_lock_sqlite,
    a_run_with_a_lock_timeout_waits_for_the_lock_postgres
);

async fn two_runs_at_once_never_overlap(db: &TestState) {
    let s = Scenario::new(db);
    s.source.put_many(4);
    let gate = s.api.hold_uploads();
    let deps = s.deps(true, importer_svc::shutdown::StopSignal::never());
    let first = tokio::spawn(async move { importer_svc::run::run_once(&deps).await });
    s.api.upload_started.notified().await;

    let second = s.run().await;

    assert!(
        second.as_ref().is_err_and(SyncError::is_locked),
        "{second:?}"
    );
    gate.add_permits(2);
    let first = tokio::time::timeout(Duration::from_secs(10), first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.unwrap().counts.created, 4);
}
on_both_backends!(
    two_runs_at_once_never_overlap,
    two_runs_at_once_never_overlap_sqlite,
    two_runs_at_once_never_overlap_postgres
);

// === a holder killed with SIGKILL ===

const HOLDER_ENV: &str = "IMPORTER_TEST_LOCK_HOLDER_URL";

/// Kills the child when dropped, so a failing test leaves no process behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// In the child (the test binary run again with `HOLDER_ENV` set): takes the lock, says so
/// on stdout, and sleeps until killed.
async fn hold_lock_as_child(url: &str) {
    let state = state::open(url).await.unwrap();
    let _lock = state.try_lock(&LockHolder::current()).await.unwrap();
    println!("LOCKED");
    tokio::time::sleep(Duration::from_secs(60)).await;
}

/// Runs this very test in a child process that takes the lock, checks that a run is refused
/// naming the child, kills the child with SIGKILL, and checks that a run then proceeds.
async fn a_lock_held_by_a_killed_process_is_released(db: &TestState, test_name: &str) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(HOLDER_ENV, &db.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = KillOnDrop(child);
    let locked = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.ends_with("LOCKED"))
    });
    assert!(
        tokio::time::timeout(Duration::from_secs(30), locked)
            .await
            .unwrap()
            .unwrap(),
        "the child never took the lock"
    );

    let mut s = Scenario::new(db);
    s.source.put_many(1);
    match s.run().await {
        Err(SyncError::Lock(LockError::Held(Some(h)))) => assert_eq!(h.pid, child.0.id()),
        other => panic!("expected a refusal naming the child, got {other:?}"),
    }

    drop(child); // SIGKILL, then reaped
                 // The OS frees a file lock with the process; PostgreSQL frees the advisory lock when it
                 // sees the session's socket close, which may take a moment.
    s.settings.lock_timeout = Some(Duration::from_secs(10));
    assert_eq!(s.run().await.unwrap().counts.created, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_by_a_killed_process_is_released_sqlite() {
    if let Ok(url) = std::env::var(HOLDER_ENV) {
        return hold_lock_as_child(&url).await;
    }
    let db = TestState::sqlite().await;
    a_lock_held_by_a_killed_process_is_released(
        &db,
        "lock::a_lock_held_by_a_killed_process_is_released_sqlite",
    )
    .await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_by_a_killed_process_is_released_postgres() {
    if let Ok(url) = std::env::var(HOLDER_ENV) {
        return hold_lock_as_child(&url).await;
    }
    let db = TestState::postgres().await;
    a_lock_held_by_a_killed_process_is_released(
        &db,
        "lock::a_lock_held_by_a_killed_process_is_released_postgres",
    )
    .await;
    db.finish().await;
}
