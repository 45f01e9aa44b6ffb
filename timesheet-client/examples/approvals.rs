//! Lists the weeks waiting for approval and the first page of entries, through the local stack's
//! gateway, with the admin client's credentials from `.devstack/stack.env`.
//!
//! ```sh
//! make up
//! set -a; . .devstack/stack.env; set +a
//! cargo run -p timesheet-client --example approvals
//! ```

use timesheet_client::{ApiClient, AuthConfig, Config, ListQuery};

fn env(name: &str) -> Result<String, Box<dyn std::error::Error>> {
    std::env::var(name).map_err(|_| format!("{name} is not set; source .devstack/stack.env").into())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut auth = AuthConfig::new(env("TOKEN_URL")?.parse()?, env("ADMIN_CLIENT_ID")?);
    auth.client_secret = Some(env("ADMIN_CLIENT_SECRET")?.into());
    auth.audience = Some(env("AUDIENCE")?);
    let mut config = Config::new(env("GATEWAY_URL")?.parse()?, auth);
    config.ca_cert = std::env::var("CA_CERT").ok().map(Into::into);
    let client = ApiClient::new(&config)?;

    let approvals = client.approvals().await?;
    println!("{} week(s) waiting for approval", approvals.data.len());
    for week in &approvals.data {
        println!("  {} {}: {} minutes", week.worker, week.week, week.minutes);
    }
    let page = client
        .list_entries(&ListQuery {
            limit: Some(10),
            ..ListQuery::default()
        })
        .await?;
    for entry in &page.data {
        println!(
            "{} {} {} {} min",
            entry.id, entry.date, entry.project, entry.minutes
        );
    }
    println!("{:?}", client.stats());
    Ok(())
}
