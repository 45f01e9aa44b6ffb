//! `make up` a second time: the same directory gives back the same data, certificates and
//! client credentials.

use devstack::{bin_dir_of_current_exe, Ports, Stack, StackSpec};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_start_reuses_data_certificates_and_credentials() {
    // Arrange: a stack that stored one entry, then stopped.
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let mut spec = StackSpec::new(
        dir.path().join("stack"),
        root,
        bin_dir_of_current_exe().unwrap(),
    );
    spec.ports = Ports::free().unwrap();
    let first = Stack::start(spec.clone()).await.unwrap();
    let ca_before = std::fs::read(first.layout.ca_cert()).unwrap();
    let credentials_before = first.credentials.clone();
    let env = first.env.clone();
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&ca_before).unwrap())
        .build()
        .unwrap();
    let token = |creds: devstack::ClientCredentials| {
        let (http, url) = (http.clone(), env.get("TOKEN_URL").unwrap().to_owned());
        async move {
            let body: serde_json::Value = http
                .post(url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", creds.client_id.as_str()),
                    ("client_secret", creds.client_secret.as_str()),
                    ("audience", devstack::AUDIENCE),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let gateway = env.get("GATEWAY_URL").unwrap().to_owned();
    let admin = token(credentials_before.admin.clone()).await;
    let upload = http
        .post(format!("{gateway}/v1/timesheets/upload"))
        .bearer_auth(&admin)
        .json(&json!({"source": "restart", "entries": [{
            "external_id": "r-1", "worker": {"external_id": "w-1", "kind": "contractor"},
            "date": "2026-11-23", "project": "STOREZERO", "minutes": 60}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 200);
    first.stop().await;

    // Act
    let second = Stack::start(spec).await.unwrap();

    // Assert
    assert_eq!(
        std::fs::read(second.layout.ca_cert()).unwrap(),
        ca_before,
        "same CA"
    );
    assert_eq!(second.credentials, credentials_before, "same clients");
    let reader = token(second.credentials.reader.clone()).await;
    let page: serde_json::Value = http
        .get(format!("{gateway}/v1/timesheets/entries?source=restart"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["data"][0]["external_id"], "r-1", "same data: {page}");
    second.stop().await;
}
