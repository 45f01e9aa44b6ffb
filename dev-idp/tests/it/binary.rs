//! The real binary, as other suites and `make up` run it: it prints "listening on" once bound,
//! serves, stops on SIGTERM, exits 64 on a bad configuration, logs no secret, and its `rotate`
//! and `retire` subcommands drive a running issuer.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::harness::{http_client, spawn_idp, ADMIN_TOKEN, AUDIENCE};

const BIN: &str = env!("CARGO_BIN_EXE_dev-idp");

fn dev_idp() -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("DEVIDP_CONFIG")
        .env_remove("DEVIDP_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Runs the binary to its end with `args`, then the path of a file holding `toml`.
async fn run_on_file(args: &[&str], toml: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("idp.toml");
    std::fs::write(&config, toml).unwrap();
    dev_idp().args(args).arg(&config).output().await.unwrap()
}

/// Reads stdout until the "listening on" line and returns the URL it names.
async fn listening_url(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("listening on ") {
                return url.to_owned();
            }
        }
        panic!("stdout closed before \"listening on\"");
    })
    .await
    .expect("no \"listening on\" line within 20 s");
    line
}

async fn sigterm(child: &Child) {
    let pid = child.id().unwrap().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn the_binary_announces_its_port_serves_tokens_and_stops_on_sigterm_without_logging_secrets()
{
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("idp.toml");
    std::fs::write(
        &config,
        format!(
            r#"
            listen = "127.0.0.1:0"
            keys_dir = "{keys}"
            [[api]]
            identifier = "{AUDIENCE}"
            scopes = ["batch:upload"]
            [[client]]
            name = "importer"
            client_id = "importer"
            client_secret = "s3cret-never-logged"
            [[client.grant]]
            audience = "{AUDIENCE}"
            scopes = ["batch:upload"]
            "#,
            keys = dir.path().join("keys").display()
        ),
    )
    .unwrap();
    let mut child = dev_idp()
        .env("RUST_LOG", "debug")
        .arg("--config")
        .arg(&config)
        .spawn()
        .unwrap();

    let base = listening_url(&mut child).await;
    let http = http_client();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "importer"),
            ("client_secret", "s3cret-never-logged"),
            ("audience", AUDIENCE),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    sigterm(&child).await;

    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .await
        .unwrap();
    assert!(logs.contains("token issued"), "{logs}");
    assert!(logs.contains("development"), "the start warning is logged");
    assert!(!logs.contains("s3cret-never-logged"));
    assert!(!logs.contains(&access_token));
    assert!(!logs.contains("PRIVATE KEY"));
}

#[tokio::test]
async fn the_binary_exits_64_naming_the_key_of_a_bad_configuration() {
    let output = run_on_file(&["--config"], "issuer = \"http://idp.test/tenant\"\n").await;

    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("issuer:"), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing was started");
}

#[tokio::test]
async fn check_config_names_an_unknown_key_and_two_bad_values_and_exits_64() {
    let output = run_on_file(
        &["check-config"],
        "token_lifetime_secs = 600\nlisten = \"nowhere\"\ntoken_lifetime = \"90d\"\n",
    )
    .await;

    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for key in ["token_lifetime_secs:", "listen:", "token_lifetime:"] {
        assert!(stderr.contains(key), "{key} in {stderr}");
    }
}

#[tokio::test]
async fn check_config_accepts_the_example_configuration() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/dev-idp.example.toml");

    let output = dev_idp()
        .args(["check-config", example])
        .output()
        .await
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(": ok (listen 127.0.0.1:8090"), "{stdout}");
}

#[tokio::test]
async fn the_rotate_and_retire_subcommands_drive_a_running_issuer() {
    let idp = spawn_idp().await;

    let rotate = dev_idp()
        .env("DEVIDP_ADMIN_TOKEN", ADMIN_TOKEN)
        .args(["rotate", "--url", &idp.base])
        .output()
        .await
        .unwrap();
    assert!(
        rotate.status.success(),
        "{}",
        String::from_utf8_lossy(&rotate.stderr)
    );
    let rotated: Value = serde_json::from_slice(&rotate.stdout).unwrap();
    assert_eq!(rotated["published"].as_array().unwrap().len(), 2);

    let retire = dev_idp()
        .args(["retire", "--url", &idp.base, "--admin-token", ADMIN_TOKEN])
        .output()
        .await
        .unwrap();
    assert!(
        retire.status.success(),
        "{}",
        String::from_utf8_lossy(&retire.stderr)
    );
    let retired: Value = serde_json::from_slice(&retire.stdout).unwrap();
    assert_eq!(
        retired["published"],
        serde_json::json!([rotated["current"]])
    );
    assert_eq!(idp.jwks().await["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_rotate_subcommand_fails_on_a_wrong_admin_token() {
    let idp = spawn_idp().await;

    let output = dev_idp()
        .args(["rotate", "--url", &idp.base, "--admin-token", "wrong"])
        .output()
        .await
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("401"), "{stderr}");
}
