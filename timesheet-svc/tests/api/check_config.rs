//! `timesheet-svc check-config FILE`, run as an operator runs it: the real binary, a clean
//! environment, and its exit code and output.

use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs `timesheet-svc check-config FILE` with no environment, so that only the file counts.
fn check_config(file: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_timesheet-svc"))
        .arg("check-config")
        .arg(file)
        .env_clear()
        .output()
        .expect("running timesheet-svc")
}

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

#[test]
fn a_file_with_an_unknown_key_and_two_bad_values_is_refused_naming_all_three() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("timesheet-svc.toml");
    std::fs::write(
        &file,
        r#"listen_addr = "127.0.0.1:8081"
request_timeout = "forever"
request_timeout_secs = 30

[assertion]
public_key_files = ["gateway.pub.pem"]

[database]
max_connections = 0
"#,
    )
    .unwrap();

    // Act
    let output = check_config(&file);

    // Assert
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(64), "{stderr}");
    for key in [
        "request_timeout:",
        "request_timeout_secs:",
        "database.max_connections:",
    ] {
        assert!(stderr.contains(key), "{key} is not named in:\n{stderr}");
    }
}

#[test]
fn the_example_and_the_kubernetes_configuration_pass() {
    for path in [
        "timesheet-svc/config/timesheet-svc.example.toml",
        "deploy/k8s/base/config/timesheet-svc.toml",
    ] {
        // Act
        let output = check_config(&repo_file(path));

        // Assert
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{path}: {stderr}");
        assert!(stdout.contains(": ok ("), "{path}: {stdout}");
    }
}
