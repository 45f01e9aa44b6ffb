//! `gateway check-config FILE`: what an operator sees before anything starts.

use std::path::Path;
use std::process::{Command, Output};

fn check_config(file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gateway"))
        .arg("check-config")
        .arg(file)
        .env_remove("GATEWAY_LOG")
        .output()
        .unwrap()
}

#[test]
fn check_config_names_an_unknown_key_and_two_bad_values_and_exits_64() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    std::fs::write(
        &file,
        r#"
[server]
threads = 0
[jwks]
fetch_timeout = "soon"
[admin]
listen_port = 9464

[[tenant]]
id = "exampleco"
issuer = "https://exampleco.eu.auth0.com/"
audiences = ["https://api.exampleco.com/timesheets"]
jwks_uri = "https://exampleco.eu.auth0.com/.well-known/jwks.json"
"#,
    )
    .unwrap();

    let out = check_config(&file);

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    for key in ["server.threads", "jwks.fetch_timeout", "admin.listen_port"] {
        assert!(
            stderr.contains(&format!(": {key}: ")),
            "{key} not named:\n{stderr}"
        );
    }
}

#[test]
fn check_config_passes_the_example_file_with_its_summary() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/gateway.example.toml");

    let out = check_config(&example);

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.ends_with(": ok (2 tenants, 16 routes)\n"),
        "{stdout}"
    );
}
