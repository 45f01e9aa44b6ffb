// figment's own error type is large; these closures are its test harness, not our API.
#![allow(clippy::result_large_err)]

use std::path::PathBuf;

use secrecy::ExposeSecret;
use service_telemetry::LogFormat;

use super::*;

/// The keys `load` refuses, in the order reported.
fn refused(file: Option<&Path>) -> Vec<String> {
    match Config::load(file) {
        Ok(config) => panic!("expected issues, got {config:?}"),
        Err(err) => err.issues().into_iter().map(|issue| issue.key).collect(),
    }
}

#[test]
fn env_overrides_and_comma_lists_are_understood() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("TIMESHEET__ASSERTION__PUBLIC_KEY_FILES", "a.pem, b.pem");
        jail.set_env("TIMESHEET__DATE_WINDOW__PAST_DAYS", "10");
        jail.set_env("TIMESHEET__DATABASE__ACQUIRE_TIMEOUT", "250ms");
        jail.set_env("DATABASE_URL", "postgres://db/timesheets");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(
            config.assertion.public_key_files,
            vec![PathBuf::from("a.pem"), PathBuf::from("b.pem")]
        );
        assert_eq!(config.date_window.past_days, 10);
        assert_eq!(config.date_window.future_days, 31);
        assert_eq!(
            config.store_options().acquire_timeout,
            Duration::from_millis(250)
        );
        assert_eq!(
            config.database_url.expose_secret(),
            "postgres://db/timesheets"
        );
        Ok(())
    });
}

#[test]
fn durations_are_written_with_their_unit() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "svc.toml",
            "request_timeout = \"45s\"\nshutdown_timeout = \"0s\"\n\
             [assertion]\npublic_key_files = [\"a.pem\"]\nleeway = \"2s\"\n",
        )?;
        let config = Config::load(Some(Path::new("svc.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(config.request_timeout, Duration::from_secs(45));
        assert_eq!(config.shutdown_timeout, Duration::ZERO);
        assert_eq!(config.assertion.leeway, Duration::from_secs(2));
        assert_eq!(config.idempotency_stale, Duration::from_secs(60));
        Ok(())
    });
}

#[test]
fn a_missing_key_list_is_refused_naming_the_key() {
    figment::Jail::expect_with(|_jail| {
        assert_eq!(refused(None), ["assertion.public_key_files"]);
        Ok(())
    });
}

#[test]
fn an_unknown_key_and_bad_values_are_reported_together() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "svc.toml",
            "listen_addr = \"nowhere\"\nrequest_timeout_secs = 30\n\
             [database]\nmax_connections = 0\n\
             [assertion]\npublic_key_files = [\"a.pem\"]\nleeway = \"1h\"\n\
             [date_window]\npast_days = 4000\nfuture_day = 1\n",
        )?;
        let mut keys = refused(Some(Path::new("svc.toml")));
        keys.sort();
        assert_eq!(
            keys,
            [
                "assertion.leeway",
                "database.max_connections",
                "date_window.future_day",
                "date_window.past_days",
                "listen_addr",
                "request_timeout_secs"
            ]
        );
        Ok(())
    });
}

#[test]
fn tracing_is_off_by_default_and_configured_under_telemetry() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("TIMESHEET__ASSERTION__PUBLIC_KEY_FILES", "a.pem");
        let config = Config::load(None).map_err(|e| e.to_string())?;
        assert!(!config.telemetry().is_tracing());
        jail.set_env(
            "TIMESHEET__TELEMETRY__OTLP_ENDPOINT",
            "http://127.0.0.1:4318",
        );
        jail.set_env("TIMESHEET__TELEMETRY__SAMPLING_RATIO", "0.5");
        jail.set_env("TIMESHEET__LOG__FORMAT", "pretty");
        let telemetry = Config::load(None).map_err(|e| e.to_string())?.telemetry();
        assert_eq!(telemetry.service_name, "timesheet-svc");
        assert_eq!(
            telemetry.otlp_endpoint.as_deref(),
            Some("http://127.0.0.1:4318")
        );
        assert_eq!(telemetry.sampling_ratio, 0.5);
        assert_eq!(telemetry.log_format, LogFormat::Pretty);
        jail.set_env("TIMESHEET__TELEMETRY__SAMPLING_RATIO", "2");
        assert_eq!(refused(None), ["telemetry.sampling_ratio"]);
        Ok(())
    });
}

#[test]
fn the_database_url_is_never_printed() {
    let config = Config::for_tests("postgres://u:hunter2@db/x", "PEM");
    assert!(!format!("{config:?}").contains("hunter2"));
    assert!(!config.summary().contains("hunter2"));
    figment::Jail::expect_with(|jail| {
        jail.set_env("TIMESHEET__ASSERTION__PUBLIC_KEY_FILES", "a.pem");
        jail.set_env("DATABASE_URL", "mysql://u:hunter2@db/x");
        let err = Config::load(None).err().map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.starts_with("database_url:"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        Ok(())
    });
}
