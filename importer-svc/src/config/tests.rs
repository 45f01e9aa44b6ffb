use std::time::Duration;

use secrecy::ExposeSecret;
use service_telemetry::LogFormat;

use super::*;

fn parse(toml: &str) -> Result<Config, ConfigError> {
    Loader::new().toml(toml).load()
}

/// The keys a configuration is refused for, in the order found.
fn refused(toml: &str) -> Vec<String> {
    match parse(toml) {
        Ok(config) => panic!("accepted: {config:?}"),
        Err(err) => err.issues().into_iter().map(|issue| issue.key).collect(),
    }
}

fn keys(err: ConfigError) -> Vec<String> {
    err.issues().into_iter().map(|issue| issue.key).collect()
}

#[test]
fn an_empty_configuration_takes_the_defaults() {
    let config = parse("").unwrap();
    assert_eq!(config.source.kind, SourceKind::Files);
    assert_eq!(config.source.source_name().as_ref(), "contractor-tracker");
    assert_eq!(config.api.batch_size, 500);
    assert_eq!(config.api.uploads_in_flight, 2);
    assert_eq!(config.api.retry.max_attempts, 8);
    assert_eq!(
        config.state.url.expose_secret(),
        "sqlite://.importer/state.db"
    );
    assert!((config.run.max_delete_fraction - 0.5).abs() < f64::EPSILON);
    assert_eq!(config.run.lock_timeout, None);
    assert!(config.auth.is_none());
    assert_eq!(config.log.format, LogFormat::Auto);
    assert!(config.telemetry.otlp_endpoint.is_none());
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
        [api.retry]
        max_attempts = 3
        base_delay = "100ms"
        [auth]
        token_url = "http://127.0.0.1:8090/oauth/token"
        client_id = "importer"
        client_secret = "s3cret"
        method = "client_secret_basic"
        audience = "https://api.exampleco.com/timesheets"
        token_cache_file = ".importer/token.json"
        timeout = "5s"
        [state]
        url = "postgres://postgres@127.0.0.1/importer"
        [run]
        lock_timeout = "30s"
        max_delete_fraction = 0.2
        [log]
        format = "json"
        filter = "importer_svc=debug"
        [telemetry]
        otlp_endpoint = "http://127.0.0.1:4318"
        sampling_ratio = 0.5
        "#,
    )
    .unwrap();
    assert_eq!(config.source.source_name().as_ref(), "harvest");
    let harvest = config.source.harvest.as_ref().unwrap();
    assert_eq!(harvest.overlap, Duration::from_secs(900));
    assert_eq!(harvest.account_id, "123");
    assert_eq!(config.api.retry.base_delay, Duration::from_millis(100));
    let auth = config.auth.as_ref().unwrap();
    assert_eq!(auth.method(), AuthMethod::ClientSecretBasic);
    assert_eq!(auth.timeout, Duration::from_secs(5));
    assert_eq!(config.run.lock_timeout, Some(Duration::from_secs(30)));
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.telemetry.sampling_ratio, 0.5);
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
        ("[api]\nbase_url = \"ftp://gateway\"", "api.base_url"),
        ("[api]\ntimeout = \"0s\"", "api.timeout"),
        ("[api.retry]\nmax_attempts = 0", "api.retry.max_attempts"),
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
        (
            "[auth]\ntoken_url = \"https://idp/t\"\nclient_id = \"c\"\nmethod = \"magic\"",
            "auth.method",
        ),
        (
            "[auth]\ntoken_url = \"https://idp/t\"\nclient_id = \"c\"\nclient_secret = \"a\"\nprivate_key_file = \"k.pem\"",
            "auth.client_secret",
        ),
        (
            "[auth]\ntoken_url = \"https://idp/t\"\nclient_id = \"c\"\nmethod = \"client_secret_post\"\nprivate_key_file = \"k.pem\"",
            "auth.private_key_file",
        ),
        ("[auth]\nclient_id = \"c\"", "auth.token_url"),
        (
            "[source.harvest]\naccount_id = \"1\"\naccess_token = \"t\"\nper_page = 5000",
            "source.harvest.per_page",
        ),
        ("[source.harvest]\naccount_id = \"1\"", "source.harvest.access_token"),
        ("[log]\nformat = \"xml\"", "log.format"),
        ("[telemetry]\nsampling_ratio = 2.0", "telemetry.sampling_ratio"),
        (
            "[telemetry]\notlp_endpoint = \"collector:4318\"",
            "telemetry.otlp_endpoint",
        ),
        ("[telemetry]\nsample = 1", "telemetry.sample"),
        ("[colour]\nx = 1", "colour"),
    ] {
        let err = parse(toml).unwrap_err();
        assert_eq!(keys(err), [key], "{toml}");
    }
}

#[test]
fn every_issue_is_reported_at_once() {
    let mut found = refused(
        "[api]\nbatch_size = 0\nuploads_in_flight = 9\nbatchsize = 1\n[run]\nmax_delete_fraction = 2.0\n",
    );
    found.sort();
    assert_eq!(
        found,
        [
            "api.batch_size",
            "api.batchsize",
            "api.uploads_in_flight",
            "run.max_delete_fraction"
        ]
    );
}

#[test]
fn what_a_run_needs_is_checked_apart_from_what_status_needs() {
    let config = parse("").unwrap();
    assert_eq!(keys(config.check_run().unwrap_err()), ["source.files.dir"]);
    assert_eq!(
        keys(config.check_api().unwrap_err()),
        ["api.base_url", "auth.token_url", "auth.client_id"]
    );

    let harvest = parse("[source]\nkind = \"harvest\"").unwrap();
    assert_eq!(
        keys(harvest.check_run().unwrap_err()),
        ["source.harvest.account_id", "source.harvest.access_token"]
    );

    let no_secret = parse(
        "[api]\nbase_url = \"https://x.example\"\n[auth]\ntoken_url = \"https://idp.example/oauth/token\"\nclient_id = \"c\"",
    )
    .unwrap();
    assert_eq!(
        keys(no_secret.check_api().unwrap_err()),
        ["auth.client_secret"]
    );

    let no_key = parse(
        "[api]\nbase_url = \"https://x.example\"\n[auth]\ntoken_url = \"https://idp.example/oauth/token\"\nclient_id = \"c\"\nmethod = \"private_key_jwt\"",
    )
    .unwrap();
    assert_eq!(
        keys(no_key.check_api().unwrap_err()),
        ["auth.private_key_file"]
    );
}

#[test]
fn a_private_key_alone_is_enough_to_send() {
    let config = parse(
        "[api]\nbase_url = \"https://x.example\"\n[auth]\ntoken_url = \"https://idp.example/oauth/token\"\nclient_id = \"c\"\nprivate_key_file = \"k.pem\"",
    )
    .unwrap();
    let auth = config.auth.as_ref().unwrap();
    assert_eq!(auth.method(), AuthMethod::PrivateKeyJwt);
    assert!(config.check_api().is_ok());
}

#[test]
fn secrets_never_show_in_debug_output() {
    let config = parse(
        "[auth]\ntoken_url = \"https://idp/t\"\nclient_id = \"c\"\nclient_secret = \"s3cret-value\"\n[source.harvest]\naccount_id = \"1\"\naccess_token = \"hv-token-value\"\n[state]\nurl = \"postgres://u:pw-value@h/db\"",
    )
    .unwrap();
    let debug = format!("{config:?}");
    for secret in ["s3cret-value", "hv-token-value", "pw-value"] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
}

#[test]
fn a_bad_state_url_is_named_without_its_password() {
    let err = parse("[state]\nurl = \"mysql://u:pw-value@h/db\"").unwrap_err();
    assert!(!err.to_string().contains("pw-value"), "{err}");
}

#[test]
fn a_missing_file_is_an_error() {
    let err = Config::load(Some(std::path::Path::new("/nonexistent/importer.toml"))).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/importer.toml"),
        "{err}"
    );
}

#[test]
fn the_example_configuration_is_valid_and_complete() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/config/importer.example.toml");
    let config = Loader::new()
        .file(std::path::Path::new(file))
        .load::<Config>()
        .unwrap();
    assert!(config.check_run().is_ok());
    assert_eq!(
        keys(config.check_api().unwrap_err()),
        ["auth.client_secret"]
    );
}

#[test]
fn a_harvest_account_id_given_as_digits_is_kept_as_text() {
    // IMPORTER__SOURCE__HARVEST__ACCOUNT_ID=123456 reaches the configuration as an integer.
    let config = parse("[source.harvest]\naccount_id = 123456\naccess_token = \"t\"").unwrap();
    assert_eq!(config.source.harvest.unwrap().account_id, "123456");
}
