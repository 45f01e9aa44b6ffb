//! Configuration loading and validation: each mistake is reported with the key that holds it.

// figment's own error type is large; these closures are its test harness, not our API.
#![allow(clippy::result_large_err)]

use super::*;

fn error_of(toml: &str) -> String {
    Config::from_toml(toml)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn defaults_listen_on_8090_with_the_matching_issuer() {
    let config = Config::from_toml("").unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8090");
    assert_eq!(config.issuer_for(config.listen), "http://127.0.0.1:8090/");
    assert_eq!(config.token_lifetime_secs, 86_400);
    assert!(!config.allow_user_tokens);
    assert!(config.admin_token.is_none());
}

#[test]
fn an_issuer_without_trailing_slash_is_refused() {
    let err = error_of("issuer = \"http://idp.test\"");
    assert!(err.starts_with("issuer:"), "{err}");
}

#[test]
fn a_grant_for_an_unknown_api_names_the_key() {
    let err = error_of(
        r#"
        [[client]]
        name = "x"
        client_id = "x"
        client_secret = "s"
        [[client.grant]]
        audience = "https://nowhere"
        "#,
    );
    assert!(err.starts_with("client[0].grant[0].audience:"), "{err}");
}

#[test]
fn a_scope_the_api_does_not_define_names_the_key() {
    let err = error_of(
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
    assert!(err.starts_with("client[0].grant[0].scopes:"), "{err}");
}

#[test]
fn a_secret_client_without_secret_names_the_key() {
    let err = error_of("[[client]]\nname = \"x\"\nclient_id = \"x\"\n");
    assert!(err.starts_with("client[0].client_secret:"), "{err}");
}

#[test]
fn a_private_key_jwt_client_with_a_missing_key_file_names_the_key() {
    let err = error_of(
        "[[client]]\nname = \"x\"\nclient_id = \"x\"\n\
         token_endpoint_auth_method = \"private_key_jwt\"\npublic_key_file = \"/nonexistent.pem\"\n",
    );
    assert!(err.starts_with("client[0].public_key_file:"), "{err}");
}

#[test]
fn a_typo_in_a_key_is_refused_naming_it() {
    let err = error_of("token_lifetime = 5");
    assert!(err.contains("token_lifetime"), "{err}");
}

#[test]
fn env_overrides_the_file() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("idp.toml", "token_lifetime_secs = 60\n")?;
        jail.set_env("DEVIDP__TOKEN_LIFETIME_SECS", "120");
        jail.set_env("DEVIDP__ADMIN_TOKEN", "hunter2-admin");
        let config = Config::load(Some(Path::new("idp.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(config.token_lifetime_secs, 120);
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
