//! `.devstack/stack.env`: every key of the contract is there and works, and the reader client
//! (the shared typed client, as any app would use it) reads what the importer wrote.

use std::collections::HashMap;

use timesheet_client::{ApiClient, AuthConfig, Config, ListQuery};

use crate::harness::{describe, Db, TestStack};

const BRIEF_KEYS: [&str; 14] = [
    "GATEWAY_URL",
    "CA_CERT",
    "ISSUER",
    "TOKEN_URL",
    "AUDIENCE",
    "IMPORTER_CLIENT_ID",
    "IMPORTER_CLIENT_SECRET",
    "READER_CLIENT_ID",
    "READER_CLIENT_SECRET",
    "ADMIN_CLIENT_ID",
    "ADMIN_CLIENT_SECRET",
    "OTHER_TENANT_CLIENT_ID",
    "OTHER_TENANT_CLIENT_SECRET",
    "GATEWAY_METRICS_URL",
];

/// The file as a shell would read it (`set -a; . stack.env`).
fn read_env_file(path: &std::path::Path) -> HashMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

async fn stack_env_holds_every_key_of_the_contract_with_working_values(db: Db) {
    // Arrange
    let stack = TestStack::start(db).await;
    let import = stack.importer(&["run", "--json"]).await;
    assert_eq!(import.status.code(), Some(0), "{}", describe(&import));
    let env = read_env_file(&stack.stack.spec.path("stack.env"));

    // Assert: every key, non-empty.
    for key in BRIEF_KEYS {
        assert!(
            env.get(key).is_some_and(|v| !v.is_empty()),
            "stack.env lacks {key}"
        );
    }
    assert_eq!(env["AUDIENCE"], "https://api.exampleco.com/timesheets");
    assert!(env["GATEWAY_URL"].starts_with("https://127.0.0.1:"));

    // Every client's pair gets a token at TOKEN_URL.
    for who in ["IMPORTER", "READER", "ADMIN", "OTHER_TENANT"] {
        let response = stack
            .http
            .post(&env["TOKEN_URL"])
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", env[&format!("{who}_CLIENT_ID")].as_str()),
                (
                    "client_secret",
                    env[&format!("{who}_CLIENT_SECRET")].as_str(),
                ),
                ("audience", env["AUDIENCE"].as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{who}'s credentials");
    }
    // ISSUER serves discovery naming itself; the metrics URL serves the gateway's metrics.
    let discovery: serde_json::Value = stack
        .http
        .get(format!("{}.well-known/openid-configuration", env["ISSUER"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], env["ISSUER"].as_str());
    assert_eq!(discovery["token_endpoint"], env["TOKEN_URL"].as_str());
    let metrics = stack
        .http
        .get(&env["GATEWAY_METRICS_URL"])
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics
        .text()
        .await
        .unwrap()
        .contains("gateway_requests_total"));

    // The reader client, configured only from stack.env (CA_CERT included), reads the import.
    let mut auth = AuthConfig::new(
        env["TOKEN_URL"].parse().unwrap(),
        env["READER_CLIENT_ID"].clone(),
    );
    auth.client_secret = Some(env["READER_CLIENT_SECRET"].clone().into());
    auth.audience = Some(env["AUDIENCE"].clone());
    let mut config = Config::new(env["GATEWAY_URL"].parse().unwrap(), auth);
    config.ca_cert = Some(env["CA_CERT"].clone().into());
    let reader = ApiClient::new(&config).unwrap();
    let query = ListQuery {
        source: Some("contractor-tracker".parse().unwrap()),
        limit: Some(10),
        ..ListQuery::default()
    };
    let entries = reader.list_all(&query).await.unwrap();
    let report = crate::importer::report(&import);
    assert_eq!(entries.len() as u64, report["created"].as_u64().unwrap());
    assert!(entries.len() >= 10, "several pages were followed");
    stack.finish().await;
}
e2e_test!(stack_env_holds_every_key_of_the_contract_with_working_values);
