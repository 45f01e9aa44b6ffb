//! How the Harvest source fails and recovers: 429 with `Retry-After`, 503, refusals, garbage
//! and a host that is not there.

use std::time::{Duration, Instant};

use importer_svc::source::{Source, SourceError};
use secrecy::SecretString;
use time::macros::date;

use crate::fixture::{harvest_config, harvest_source};
use crate::harvest_standin::{HarvestStandin, StandinEntry};

async fn standin_with_one_entry() -> HarvestStandin {
    let standin = HarvestStandin::spawn().await;
    standin.add(StandinEntry::new(date!(2026 - 11 - 23), 2.0));
    standin
}

#[tokio::test]
async fn a_429_is_retried_after_the_retry_after_it_names() {
    let standin = standin_with_one_entry().await;
    standin.throttle_next(1);
    let mut config = harvest_config(&standin);
    config.reconcile_days = 0;

    let started = Instant::now();
    let read = harvest_source(config).read(None).await.unwrap();

    assert_eq!(read.records.len(), 1);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(standin.requests().len(), 2);
}

#[tokio::test]
async fn a_503_is_retried_with_backoff_and_the_read_recovers() {
    let standin = standin_with_one_entry().await;
    standin.fail_next(2);
    let mut config = harvest_config(&standin);
    config.reconcile_days = 0;

    let read = harvest_source(config).read(None).await.unwrap();

    assert_eq!(read.records.len(), 1);
    assert_eq!(standin.requests().len(), 3);
}

#[tokio::test]
async fn a_503_that_lasts_ends_the_read_as_unavailable_after_max_attempts() {
    let standin = standin_with_one_entry().await;
    standin.fail_next(100);
    let mut config = harvest_config(&standin);
    config.max_attempts = 3;

    let err = harvest_source(config).read(None).await.unwrap_err();

    assert!(matches!(err, SourceError::Unavailable(_)), "{err:?}");
    assert_eq!(standin.requests().len(), 3);
}

#[tokio::test]
async fn a_wrong_token_is_refused_with_harvests_message_and_not_retried() {
    let standin = standin_with_one_entry().await;
    let mut config = harvest_config(&standin);
    config.access_token = SecretString::from("revoked-token");

    let err = harvest_source(config).read(None).await.unwrap_err();

    let SourceError::Refused(message) = &err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert!(message.contains("401"), "{message}");
    assert!(message.contains("invalid_token"), "{message}");
    assert!(!message.contains("revoked-token"), "{message}");
    assert_eq!(standin.requests().len(), 1);
}

#[tokio::test]
async fn a_wrong_account_id_is_refused() {
    let standin = standin_with_one_entry().await;
    let mut config = harvest_config(&standin);
    config.account_id = "999".into();

    let err = harvest_source(config).read(None).await.unwrap_err();

    assert!(matches!(err, SourceError::Refused(_)), "{err:?}");
}

#[tokio::test]
async fn a_body_that_is_not_the_documented_json_is_a_protocol_error() {
    let standin = standin_with_one_entry().await;
    standin.garble_next(1);

    let err = harvest_source(harvest_config(&standin))
        .read(None)
        .await
        .unwrap_err();

    assert!(matches!(err, SourceError::Protocol(_)), "{err:?}");
    assert_eq!(standin.requests().len(), 1, "garbage is not retried");
}

#[tokio::test]
async fn a_host_that_refuses_connections_is_unavailable_after_a_few_attempts() {
    // A port that was just free: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let standin = HarvestStandin::spawn().await;
    let mut config = harvest_config(&standin);
    config.base_url = url::Url::parse(&format!("http://{addr}")).unwrap();
    config.max_attempts = 2;

    let err = harvest_source(config).read(None).await.unwrap_err();

    assert!(matches!(err, SourceError::Unavailable(_)), "{err:?}");
}
