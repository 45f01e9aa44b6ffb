//! Starts dev-idp in-process on a free port (as a test would), asks it for a machine token by
//! the client credentials grant, and prints the token's claims.
//!
//! Run: `cargo run -p dev-idp --example in_process`

use std::time::Duration;

use dev_idp::{AccessClaims, Application, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = Config::from_toml(&format!(
        r#"
        listen = "127.0.0.1:0"
        keys_dir = "{}"
        [[api]]
        identifier = "https://api.exampleco.com/timesheets"
        scopes = ["batch:upload"]
        [[client]]
        name = "importer"
        client_id = "importer"
        client_secret = "example-secret"
        [[client.grant]]
        audience = "https://api.exampleco.com/timesheets"
        scopes = ["batch:upload"]
        "#,
        dir.path().join("keys").display()
    ))?;
    let app = Application::build(config).await?;
    let token_url = format!("{}oauth/token", app.issuer());
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let response: dev_idp::TokenResponse = http
        .post(&token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "importer"),
            ("client_secret", "example-secret"),
            ("audience", "https://api.exampleco.com/timesheets"),
        ])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;

    // Decoding without verification is fine for a printout; relying parties verify with the JWKS.
    let payload = response
        .access_token
        .split('.')
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("not a JWT"))?;
    let claims: AccessClaims = serde_json::from_slice(&base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        payload,
    )?)?;
    println!("{response:?}\n{claims:#?}");
    Ok(())
}
