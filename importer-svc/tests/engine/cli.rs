//! The built binary: help, exit codes for bad configuration and usage, and `status`.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_importer-svc");

/// Runs the binary in `dir` with only the given environment.
fn importer(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_describes_the_commands_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = importer(dir.path(), &["--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for word in [
        "run",
        "daemon",
        "status",
        "check-config",
        "--config",
        "IMPORTER__",
        "--log-format",
    ] {
        assert!(help.contains(word), "{word} missing from:\n{help}");
    }
    let run_help = text(&importer(dir.path(), &["run", "--help"], &[]).stdout);
    assert!(
        run_help.contains("--dry-run") && run_help.contains("--json"),
        "{run_help}"
    );
}

#[test]
fn a_bad_configuration_file_exits_64_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("importer.toml");
    std::fs::write(&file, "[api]\nbatch_size = 0\n").unwrap();

    let out = importer(
        dir.path(),
        &["--config", file.to_str().unwrap(), "status"],
        &[],
    );

    assert_eq!(out.status.code(), Some(64));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("importer-svc: api.batch_size: lower than 1"),
        "{stderr}"
    );
}

#[test]
fn check_config_names_an_unknown_key_and_two_bad_values_and_exits_64() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("importer.toml");
    std::fs::write(
        &file,
        "[api]\nbatch_size = 0\nbatchsize = 10\n[run]\nmax_delete_fraction = 2.0\n",
    )
    .unwrap();

    let out = importer(dir.path(), &["check-config", file.to_str().unwrap()], &[]);

    assert_eq!(out.status.code(), Some(64));
    let stderr = text(&out.stderr);
    for key in ["api.batch_size", "api.batchsize", "run.max_delete_fraction"] {
        assert!(
            stderr.contains(&format!("{key}: ")),
            "{key} missing from:\n{stderr}"
        );
    }
    assert!(
        !dir.path().join(".importer").exists(),
        "the state was opened"
    );
}

#[test]
fn check_config_accepts_the_example_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/importer.example.toml");

    let out = importer(dir.path(), &["check-config", example], &[]);

    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!("{example}: ok (")),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_config_reads_the_file_given_by_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("importer.toml");
    std::fs::write(&file, "[state]\nurl = \"mysql://x\"\n").unwrap();

    let out = importer(
        dir.path(),
        &["check-config"],
        &[("IMPORTER_CONFIG", file.to_str().unwrap())],
    );

    assert_eq!(out.status.code(), Some(64));
    assert!(
        text(&out.stderr).contains("state.url: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_bad_environment_value_exits_64_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("importer.toml");
    std::fs::write(&file, "[run]\nmax_delete_fraction = 0.5\n").unwrap();

    let out = importer(
        dir.path(),
        &["status"],
        &[
            ("IMPORTER_CONFIG", file.to_str().unwrap()),
            ("IMPORTER__RUN__MAX_DELETE_FRACTION", "2"),
        ],
    );

    assert_eq!(out.status.code(), Some(64));
    assert!(
        text(&out.stderr).contains("run.max_delete_fraction"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_environment_wins_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("importer.toml");
    // Invalid in the file, valid in the environment: only the environment's value is used.
    std::fs::write(&file, "[run]\nmax_delete_fraction = 2.0\n").unwrap();
    let args = ["--config", file.to_str().unwrap(), "status"];

    let without = importer(dir.path(), &args, &[]);
    let with = importer(
        dir.path(),
        &args,
        &[("IMPORTER__RUN__MAX_DELETE_FRACTION", "0.3")],
    );

    assert_eq!(without.status.code(), Some(64));
    assert_eq!(with.status.code(), Some(0), "{}", text(&with.stderr));
}

#[test]
fn usage_errors_exit_64() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        importer(dir.path(), &["frobnicate"], &[]).status.code(),
        Some(64)
    );
    assert_eq!(
        importer(dir.path(), &["daemon"], &[]).status.code(),
        Some(64)
    );
}

#[test]
fn a_bad_cron_expression_exits_64_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = importer(
        dir.path(),
        &["daemon", "--schedule", "every now and then"],
        &[],
    );
    assert_eq!(out.status.code(), Some(64));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("--schedule"), "{stderr}");
    assert!(
        !dir.path().join(".importer").exists(),
        "the state was opened"
    );
}

#[test]
fn a_run_without_a_source_directory_exits_64_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = importer(dir.path(), &["run", "--dry-run"], &[]);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        text(&out.stderr).contains("source.files.dir"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn status_on_an_empty_state_exits_0_as_a_table_and_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("state/importer.db").display()
    );
    let env = [("IMPORTER__STATE__URL", url.as_str())];

    let table = importer(dir.path(), &["status"], &env);
    assert_eq!(table.status.code(), Some(0), "{}", text(&table.stderr));
    assert!(text(&table.stdout).contains("No runs recorded yet."));

    let json = importer(dir.path(), &["status", "--json", "--limit", "5"], &env);
    assert_eq!(json.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value, serde_json::json!({"runs": [], "checkpoints": []}));
}

#[test]
fn status_uses_the_default_state_file_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = importer(dir.path(), &["status", "--log-format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(dir.path().join(".importer/state.db").exists());
}

/// A source directory with two good rows and one whose minutes are out of range (line 4).
fn source_dir(dir: &Path) -> std::path::PathBuf {
    let files = dir.join("drop");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(
        files.join("t.csv"),
        "external_id,worker_external_id,worker_kind,worker_name,worker_email,date,project,minutes,hours,notes,billable\n\
         ct-1,c-1,contractor,Ana Silva,ana@example.org,2026-11-23,STOREZERO,450,,integration,true\n\
         ct-2,c-1,contractor,Ana Silva,ana@example.org,2026-11-24,STOREZERO,,7.5,integration,true\n\
         ct-3,c-1,contractor,Ana Silva,ana@example.org,2026-11-25,STOREZERO,0,,integration,true\n",
    )
    .unwrap();
    files
}

#[test]
fn a_dry_run_over_files_prints_the_plan_as_json_and_exits_2_for_rejected_rows() {
    let dir = tempfile::tempdir().unwrap();
    let files = source_dir(dir.path());
    let env = [("IMPORTER__SOURCE__FILES__DIR", files.to_str().unwrap())];

    let out = importer(dir.path(), &["run", "--dry-run", "--json"], &env);

    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["outcome"], "partial");
    assert_eq!(report["planned"]["new"], 2);
    assert_eq!(report["rejected"], 1);
    assert_eq!(report["rejections"][0]["location"], "t.csv:4");
    assert_eq!(report["rejections"][0]["field"], "minutes");
    // The summary line is a JSON log line on stderr (not a terminal).
    let summary = text(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["message"] == "dry run finished")
        .expect("no summary line");
    assert_eq!(summary["read"], 3);

    let status = importer(dir.path(), &["status", "--json"], &env);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(
        status["runs"],
        serde_json::json!([]),
        "a dry run was recorded"
    );
}

#[tokio::test]
async fn a_run_while_another_holds_the_lock_exits_1_at_once_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let files = source_dir(dir.path());
    let url = format!("sqlite://{}", dir.path().join("state.db").display());
    let state = importer_svc::state::open(&url).await.unwrap();
    let lock = state
        .try_lock(&importer_svc::state::LockHolder::current())
        .await
        .unwrap();
    let env = [
        ("IMPORTER__SOURCE__FILES__DIR", files.to_str().unwrap()),
        ("IMPORTER__STATE__URL", url.as_str()),
    ];

    let started = std::time::Instant::now();
    let out = importer(dir.path(), &["run", "--dry-run"], &env);

    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("another run is in progress (since "),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}/", std::process::id())),
        "{stderr}"
    );

    lock.release().await;
    let out = importer(dir.path(), &["run", "--dry-run"], &env);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
