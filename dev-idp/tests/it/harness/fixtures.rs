//! Key material and configuration for the test issuers, made once per test binary.

use std::path::Path;
use std::sync::OnceLock;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::signature::KeyPair as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tempfile::TempDir;
use timesheet_domain::Scope;

use super::{IdpOptions, ADMIN_TOKEN, AUDIENCE, OTHER_AUDIENCE};

pub(super) struct ClientKey {
    pub private_pem: String,
    pub public_pem: String,
}

fn pem(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// The `private_key_jwt` client's key pair, made once.
pub(super) fn client_key() -> &'static ClientKey {
    static KEY: OnceLock<ClientKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8: Pkcs8V1Der<'static> = pair.as_der().unwrap();
        let spki: PublicKeyX509Der<'static> = pair.public_key().as_der().unwrap();
        ClientKey {
            private_pem: pem("PRIVATE KEY", pkcs8.as_ref()),
            public_pem: pem("PUBLIC KEY", spki.as_ref()),
        }
    })
}

/// An issuer key directory made once, copied into each test's directory.
pub(super) fn template_keys() -> &'static Path {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        dev_idp::keys::KeyManager::open(dir.path()).unwrap();
        dir
    })
    .path()
}

pub(super) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The private key (PKCS#8 PEM) of the template issuer key: a real RSA key the clients do not
/// own, for forging assertions.
pub fn foreign_private_pem() -> String {
    let pem = std::fs::read_dir(template_keys())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "pem"))
        .unwrap();
    std::fs::read_to_string(pem).unwrap()
}

pub fn config_toml(dir: &Path, options: IdpOptions) -> String {
    let keys_dir = dir.join("keys");
    let public_key_file = dir.join("jwt-client.pub.pem");
    let admin = if options.admin_token {
        format!("admin_token = \"{ADMIN_TOKEN}\"")
    } else {
        String::new()
    };
    format!(
        r#"
        listen = "127.0.0.1:0"
        keys_dir = "{keys_dir}"
        token_lifetime = "10m"
        allow_user_tokens = {allow_user_tokens}
        {admin}

        [[api]]
        identifier = "{AUDIENCE}"
        scopes = {all_scopes}
        rbac_permissions = true

        [[api]]
        identifier = "{OTHER_AUDIENCE}"
        scopes = ["read:other"]

        [[client]]
        name = "post"
        client_id = "post-client"
        client_secret = "post-secret"
        token_endpoint_auth_method = "client_secret_post"
        [[client.grant]]
        audience = "{AUDIENCE}"
        scopes = ["read:timesheets", "create:timesheets", "batch:upload"]
        [[client.grant]]
        audience = "{OTHER_AUDIENCE}"
        scopes = ["read:other"]

        [[client]]
        name = "basic"
        client_id = "basic-client"
        client_secret = "basic-secret"
        token_endpoint_auth_method = "client_secret_basic"
        [[client.grant]]
        audience = "{AUDIENCE}"
        scopes = ["read:timesheets"]

        [[client]]
        name = "jwt"
        client_id = "jwt-client"
        token_endpoint_auth_method = "private_key_jwt"
        public_key_file = "{public_key_file}"
        [[client.grant]]
        audience = "{AUDIENCE}"
        scopes = ["batch:upload"]

        [[client]]
        name = "org"
        client_id = "org-client"
        client_secret = "org-secret"
        org_id = "org_other"
        [[client.grant]]
        audience = "{AUDIENCE}"
        scopes = ["read:timesheets", "batch:upload"]

        [[client]]
        name = "spa"
        client_id = "spa-client"
        client_secret = "spa-secret"
        grant_types = ["authorization_code"]
        [[client.grant]]
        audience = "{AUDIENCE}"
        scopes = ["read:timesheets"]
        "#,
        keys_dir = keys_dir.display(),
        public_key_file = public_key_file.display(),
        allow_user_tokens = options.allow_user_tokens,
        all_scopes = json!(Scope::ALL.map(Scope::as_str)),
    )
}

/// `claims` signed RS256 by the `private_key_jwt` client's key.
pub fn sign_assertion(claims: &Value) -> String {
    sign_with(&client_key().private_pem, claims)
}

/// `claims` signed RS256 by the PKCS#8 PEM key `private_pem`.
pub fn sign_with(private_pem: &str, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
}
