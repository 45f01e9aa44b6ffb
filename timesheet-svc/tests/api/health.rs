//! Liveness, readiness and shutdown.

use timesheet_domain::ProblemType;

use crate::helpers::{spawn_app, spawn_app_with, Backend, TestApp};

async fn healthz_answers_200_without_an_assertion(app: TestApp) {
    // Act
    let response = app.get_public("/healthz").await;

    // Assert
    response.assert_status(200);
}
api_test!(healthz_answers_200_without_an_assertion);

async fn readyz_answers_200_when_the_database_answers(app: TestApp) {
    // Act
    let response = app.get_public("/readyz").await;

    // Assert
    response.assert_status(200);
}
api_test!(readyz_answers_200_when_the_database_answers);

/// Breaking SQLite under a running pool is not possible from outside (open files survive
/// deletion), so this one runs on PostgreSQL only.
#[tokio::test]
async fn readyz_answers_503_when_the_database_is_gone_postgres() {
    // Arrange
    let (app, server) = spawn_app(Backend::Postgres).await;
    app.get_public("/readyz").await.assert_status(200);
    server.database().break_now().await;

    // Act
    let response = app.get_public("/readyz").await;

    // Assert
    let still_alive = app.get_public("/healthz").await;
    server.stop().await;
    response.assert_problem(ProblemType::ServiceUnavailable);
    still_alive.assert_status(200);
}

async fn server_stops_cleanly_when_shutdown_is_signalled(backend: Backend) {
    // Arrange
    let (app, mut server) = spawn_app(backend).await;
    app.get_public("/healthz").await.assert_status(200);

    // Act
    let outcome = server.shutdown().await;

    // Assert
    let after = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("a client")
        .get(format!("http://{}/healthz", app.addr()))
        .send()
        .await;
    server.stop().await;
    match outcome {
        Some(Ok(())) => {}
        Some(Err(err)) => panic!("run_until_stopped returned an error: {err}"),
        None => panic!("the server did not stop within 10 s of the shutdown signal"),
    }
    assert!(
        after.is_err(),
        "the server still answers after shutdown: {after:?}"
    );
}

#[tokio::test]
async fn server_stops_cleanly_when_shutdown_is_signalled_sqlite() {
    server_stops_cleanly_when_shutdown_is_signalled(Backend::Sqlite).await;
}

#[tokio::test]
async fn server_stops_cleanly_when_shutdown_is_signalled_postgres() {
    server_stops_cleanly_when_shutdown_is_signalled(Backend::Postgres).await;
}

#[tokio::test]
async fn readyz_answers_503_when_the_database_server_is_unreachable_postgres() {
    // Arrange
    let proxy =
        crate::helpers::proxy::CuttableProxy::start(crate::helpers::proxy::postgres_authority())
            .await;
    let via_proxy = proxy.addr.to_string();
    let (app, server) = spawn_app_with(Backend::Postgres, |url| {
        crate::helpers::with_authority(url, &via_proxy)
    })
    .await;
    app.get_public("/readyz").await.assert_status(200);
    proxy.cut().await;

    // Act
    let response = app.get_public("/readyz").await;
    let list = app.list_entries(&crate::helpers::admin(), "").await;

    // Assert
    server.stop().await;
    response.assert_problem(ProblemType::ServiceUnavailable);
    list.assert_problem(ProblemType::ServiceUnavailable);
}

#[test]
fn with_authority_replaces_only_host_and_port() {
    assert_eq!(
        crate::helpers::with_authority("postgres://u:p@db:5432/x?sslmode=disable", "127.0.0.1:9"),
        "postgres://u:p@127.0.0.1:9/x?sslmode=disable"
    );
    assert_eq!(
        crate::helpers::with_authority("postgres://db/x", "h:1"),
        "postgres://h:1/x"
    );
}
