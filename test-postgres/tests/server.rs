//! Against the server at TEST_POSTGRES_URL: a database is made, usable, and gone after remove.

// Test helpers outside #[test] functions are still test code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::{Connection as _, PgConnection};
use test_postgres::{Error, TestDatabase};

async fn exists(server_url: &str, name: &str) -> bool {
    let mut conn = PgConnection::connect(server_url).await.unwrap();
    let found: Option<i32> = sqlx::query_scalar("select 1 from pg_database where datname = $1")
        .bind(name)
        .fetch_optional(&mut conn)
        .await
        .unwrap();
    found.is_some()
}

#[tokio::test]
async fn a_created_database_is_usable_and_remove_drops_it_despite_open_connections() {
    let db = TestDatabase::create("test_pg_").await.unwrap();
    assert!(db.name().starts_with("test_pg_"));
    let mut conn = PgConnection::connect(db.url()).await.unwrap();
    let one: i32 = sqlx::query_scalar("select 1")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(one, 1);

    let (server_url, name) = (db.server_url().to_owned(), db.name().to_owned());
    db.remove().await.unwrap();

    assert!(!exists(&server_url, &name).await);
}

#[tokio::test]
async fn drop_in_use_fails_once_the_database_is_gone_and_remove_still_succeeds() {
    let db = TestDatabase::create("test_pg_").await.unwrap();
    db.drop_in_use().await.unwrap();
    assert!(!exists(db.server_url(), db.name()).await);

    assert!(matches!(db.drop_in_use().await, Err(Error::Drop { .. })));
    db.remove().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_that_says_tests_never_skip() {
    let err = TestDatabase::create_on(
        "postgres://u:secret@127.0.0.1:1/postgres".into(),
        "test_pg_",
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Unreachable { .. }), "{message}");
    assert!(message.contains("never skipped"), "{message}");
    assert!(!message.contains("secret"), "{message}");
}
