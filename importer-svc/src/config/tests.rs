use figment::providers::{Format, Toml};
use figment::Figment;
use secrecy::ExposeSecret;

use super::*;

fn parse(toml: &str) -> Result<Config, ConfigError> {
    Config::from_figment(Figment::from(Toml::string(toml)))
}

#[test]
fn an_empty_configuration_takes_the_defaults() {
    let config = parse("").unwrap();
    assert_eq!(config.source.kind, SourceKind::Files);
    assert_eq!(config.source.source_name().as_ref(), "contractor-tracker");
    assert_eq!(config.api.batch_size, 500);
    assert_eq!(config.api.uploads_in_flight, 2);
    assert_eq!(
        config.state.url.expose_secret(),
        "sqlite://.importer/state.db"
    );
    assert!((config.run.max_delete_fraction - 0.5).abs() < f64::EPSILON);
    assert_eq!(config.run.lock_timeout, None);
}

#[test]
fn a_full_file_is_read() {
    let config = parse(
        r#"
        [source]
        kind = "harvest"
        [source.harvest]
        account_id = "123"
        access_token = "hv-token"
        overlap = "15m"
        reconcile_days = 14
        per_page = 2000
        [api]
        base_url = "https://127.0.0.1:8443"
        batch_size = 1000
        timeout = "10s"
        [auth]
        token_url = "http://127.0.0.1:8090/oauth/token"
        client_id = "importer"
        client_secret = "s3cret"
        method = "client_secret_basic"
        audience = "https://api.exampleco.com/timesheets"
        [state]
        url = "postgres://postgres@127.0.0.1/importer"
        [run]
        lock_timeout = "30s"
        max_delete_fraction = 0.2
        "#,
    )
    .unwrap();
    assert_eq!(config.source.source_name().as_ref(), "harvest");
    assert_eq!(
        config.source.harvest.overlap,
        std::time::Duration::from_secs(900)
    );
    assert_eq!(config.auth.method(), AuthMethod::ClientSecretBasic);
    assert_eq!(
        config.run.lock_timeout,
        Some(std::time::Duration::from_secs(30))
    );
    assert!(config.check_run().is_ok());
    assert!(config.check_api().is_ok());
}

#[test]
fn bad_values_name_their_key() {
    for (toml, key) in [
        ("[api]\nbatch_size = 0", "api.batch_size"),
        ("[api]\nbatch_size = 1001", "api.batch_size"),
        ("[api]\nuploads_in_flight = 0", "api.uploads_in_flight"),
        ("[api]\nuploads_in_flight = 9", "api.uploads_in_flight"),
        ("[api]\nbatch_size = \"many\"", "api.batch_size"),
        ("[api]\nbatchsize = 10", "api.batchsize"),
        ("[api]\nbase_url = \"not a url\"", "api.base_url"),
        ("[source]\nkind = \"ftp\"", "source.kind"),
        (
            "[source]\nsource_name = \"has space\"",
            "source.source_name",
        ),
        ("[state]\nurl = \"mysql://x\"", "state.url"),
        ("[state]\nurl = \"sqlite::memory:\"", "state.url"),
        (
            "[run]\nmax_delete_fraction = 1.5",
            "run.max_delete_fraction",
        ),
        ("[run]\nlock_timeout = \"soon\"", "run.lock_timeout"),
        ("[auth]\nmethod = \"magic\"", "auth.method"),
        (
            "[auth]\nclient_secret = \"a\"\nprivate_key_file = \"k.pem\"",
            "auth.private_key_file",
        ),
        (
            "[source.harvest]\nper_page = 5000",
            "source.harvest.per_page",
        ),
        ("[colour]\nx = 1", "colour"),
    ] {
        let err = parse(toml).unwrap_err();
        assert_eq!(err.key, key, "{toml}: {err}");
        assert!(err.to_string().starts_with(&format!("{key}: ")), "{err}");
    }
}

#[test]
fn what_a_run_needs_is_checked_apart_from_what_status_needs() {
    let config = parse("").unwrap();
    assert_eq!(config.check_run().unwrap_err().key, "source.files.dir");
    assert_eq!(config.check_api().unwrap_err().key, "api.base_url");

    let harvest =
        parse("[source]\nkind = \"harvest\"\n[source.harvest]\naccount_id = \"1\"").unwrap();
    assert_eq!(
        harvest.check_run().unwrap_err().key,
        "source.harvest.access_token"
    );

    let no_secret = parse(
        "[api]\nbase_url = \"https://x.example\"\n[auth]\ntoken_url = \"https://idp.example/oauth/token\"\nclient_id = \"c\"",
    )
    .unwrap();
    assert_eq!(no_secret.check_api().unwrap_err().key, "auth.client_secret");
}

#[test]
fn secrets_never_show_in_debug_output() {
    let config = parse(
        "[auth]\nclient_secret = \"s3cret-value\"\n[source.harvest]\naccess_token = \"hv-token-value\"\n[state]\nurl = \"postgres://u:pw-value@h/db\"",
    )
    .unwrap();
    let debug = format!("{config:?}");
    for secret in ["s3cret-value", "hv-token-value", "pw-value"] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
}

#[test]
fn a_missing_file_is_an_error() {
    let err = Config::load(Some(std::path::Path::new("/nonexistent/importer.toml"))).unwrap_err();
    assert_eq!(err.key, "--config");
}

#[test]
fn the_example_configuration_is_valid_and_complete() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/config/importer.example.toml");
    let config = Config::from_figment(Figment::from(Toml::file(file))).unwrap();
    assert!(config.check_run().is_ok());
    assert_eq!(config.check_api().unwrap_err().key, "auth.client_secret");
}

#[test]
fn a_harvest_account_id_given_as_digits_is_kept_as_text() {
    // IMPORTER__SOURCE__HARVEST__ACCOUNT_ID=123456 reaches the configuration as an integer.
    let config = parse("[source.harvest]\naccount_id = 123456").unwrap();
    assert_eq!(config.source.harvest.account_id.as_deref(), Some("123456"));
    let config = parse("[source.harvest]\naccount_id = \"007\"").unwrap();
    assert_eq!(config.source.harvest.account_id.as_deref(), Some("007"));
}

#[test]
fn tracing_is_off_by_default_and_the_telemetry_section_turns_it_on() {
    let config = parse("").unwrap();
    assert!(!config.telemetry(LogFormat::Json).is_tracing());
    let config = parse(
        "[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"\nsampling_ratio = 0.5\n[log]\nfilter = \"debug\"\n",
    )
    .unwrap();
    let telemetry = config.telemetry(LogFormat::Pretty);
    assert_eq!(telemetry.service_name, "importer-svc");
    assert_eq!(
        telemetry.otlp_endpoint.as_deref(),
        Some("http://127.0.0.1:4318")
    );
    assert_eq!(telemetry.sampling_ratio, 0.5);
    assert_eq!(telemetry.filter, "debug");
    assert_eq!(telemetry.log_format, LogFormat::Pretty);
}

#[test]
fn bad_telemetry_settings_name_their_keys() {
    let err = parse("[telemetry]\nsampling_ratio = 2.0\n").unwrap_err();
    assert_eq!(err.key, "telemetry.sampling_ratio");
    let err = parse("[telemetry]\notlp_endpoint = \"collector:4318\"\n").unwrap_err();
    assert_eq!(err.key, "telemetry.otlp_endpoint");
    let err = parse("[telemetry]\nsample = 1\n").unwrap_err();
    assert_eq!(err.key, "telemetry.sample");
}
