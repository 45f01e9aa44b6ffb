//! Configuration loading and checking: every mistake is reported, each with the key that holds it.

// figment's own error type is large; Jail's closures are its test harness, not our API.
#![allow(clippy::result_large_err)]

use super::*;

/// The keys of every issue `toml` has.
fn keys_of(toml: &str) -> Vec<String> {
    match Config::from_toml(toml) {
        Ok(config) => panic!("expected issues, got {config:?}"),
        Err(err) => err.issues().into_iter().map(|i| i.key).collect(),
    }
}

#[test]
fn defaults_listen_on_8090_with_the_matching_issuer() {
    let config = Config::from_toml("").unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8090");
    assert_eq!(config.issuer_for(config.listen), "http://127.0.0.1:8090/");
    assert_eq!(config.token_lifetime, Duration::from_secs(86_400));
    assert!(!config.allow_user_tokens);
    assert!(config.admin_token.is_none());
}

#[test]
fn an_issuer_whose_path_does_not_end_with_a_slash_is_refused() {
    assert_eq!(keys_of("issuer = \"http://idp.test/tenant\""), ["issuer"]);
    assert_eq!(keys_of("issuer = \"ftp://idp.test/\""), ["issuer"]);
    let config = Config::from_toml("issuer = \"http://idp.test\"").unwrap();
    assert_eq!(
        config.issuer_for(config.listen),
        "http://idp.test/",
        "a bare host is its root path"
    );
}

#[test]
fn a_token_lifetime_beyond_thirty_days_is_refused() {
    assert_eq!(keys_of("token_lifetime = \"31d\""), ["token_lifetime"]);
    let config = Config::from_toml("token_lifetime = \"10m\"").unwrap();
    assert_eq!(config.token_lifetime, Duration::from_secs(600));
}

#[test]
fn a_grant_for_an_unknown_api_names_the_key() {
    let keys = keys_of(
        r#"
        [[client]]
        name = "x"
        client_id = "x"
        client_secret = "s"
        [[client.grant]]
        audience = "https://nowhere"
        "#,
    );
    assert_eq!(keys, ["client[0].grant[0].audience"]);
}

#[test]
fn a_scope_the_api_does_not_define_names_the_key() {
    let keys = keys_of(
        r#"
        [[api]]
        identifier = "https://api"
        scopes = ["read:a"]
        [[client]]
        name = "x"
        client_id = "x"
        client_secret = "s"
        [[client.grant]]
        audience = "https://api"
        scopes = ["write:a"]
        "#,
    );
    assert_eq!(keys, ["client[0].grant[0].scopes"]);
}

#[test]
fn a_secret_client_without_secret_names_the_key() {
    let keys = keys_of("[[client]]\nname = \"x\"\nclient_id = \"x\"\n");
    assert_eq!(keys, ["client[0].client_secret"]);
}

#[test]
fn a_private_key_jwt_client_with_a_missing_key_file_names_the_key() {
    let keys = keys_of(
        "[[client]]\nname = \"x\"\nclient_id = \"x\"\n\
         token_endpoint_auth_method = \"private_key_jwt\"\npublic_key_file = \"/nonexistent.pem\"\n",
    );
    assert_eq!(keys, ["client[0].public_key_file"]);
}

#[test]
fn every_mistake_is_reported_at_once() {
    let keys = keys_of(
        r#"
        token_lifetime_secs = 600
        admin_token = " "
        [[api]]
        identifier = "https://api"
        scopes = ["read a"]
        [[client]]
        name = "x"
        client_id = "x:y"
        client_secret = "s"
        [[client]]
        name = "x again"
        client_id = "x:y"
        "#,
    );
    for key in [
        "token_lifetime_secs",
        "admin_token",
        "api[0].scopes[0]",
        "client[0].client_id",
        "client[1].client_id",
        "client[1].client_secret",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} not in {keys:?}");
    }
}

#[test]
fn env_overrides_the_file() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("idp.toml", "token_lifetime = \"1m\"\n")?;
        jail.set_env("DEVIDP__TOKEN_LIFETIME", "2m");
        jail.set_env("DEVIDP__ADMIN_TOKEN", "hunter2-admin");
        let config = Config::load(Some(Path::new("idp.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(config.token_lifetime, Duration::from_secs(120));
        assert!(!format!("{config:?}").contains("hunter2"));
        Ok(())
    });
}

#[test]
fn the_example_configuration_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/dev-idp.example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let config = Config::from_toml(&text).unwrap();
    assert_eq!(config.client.len(), 4);
    assert_eq!(config.client[3].org_id.as_deref(), Some("org_other"));
}
