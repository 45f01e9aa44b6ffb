//! Development tool for gateway identity assertions: make a signing key pair, or mint an
//! assertion by hand to call timesheet-svc directly (as the gateway would).
//!
//! ```text
//! identity-assertion keygen --private key.pem --public pub.pem
//! identity-assertion mint --private key.pem --tenant exampleco --subject me@clients \
//!     --scopes "read:timesheets" --method GET --path /v1/timesheets/entries --request-id r1
//! ```

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Parser, Subcommand};
use identity_assertion::{generate_keypair, AssertionSigner, RequestBinding};
use timesheet_domain::{Principal, PrincipalKind, ScopeSet, TenantId};

#[derive(Parser)]
#[command(about = "Make gateway assertion keys, or mint an assertion for local testing")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a new Ed25519 key pair: the gateway signs with the private key, services verify
    /// with the public one. The private key file is created with mode 0600.
    Keygen {
        #[arg(long)]
        private: PathBuf,
        #[arg(long)]
        public: PathBuf,
    },
    /// Print an assertion for one request (development only: production assertions come from
    /// the gateway).
    Mint {
        #[arg(long)]
        private: PathBuf,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        subject: String,
        /// Space-separated scopes.
        #[arg(long, default_value = "")]
        scopes: String,
        /// Mint for a person instead of a machine client.
        #[arg(long)]
        user: bool,
        #[arg(long, default_value = "GET")]
        method: String,
        #[arg(long, default_value = "/v1/timesheets/entries")]
        path: String,
        /// Must equal the x-request-id header sent with the request.
        #[arg(long, default_value = "dev-request")]
        request_id: String,
        #[arg(long, default_value_t = 300)]
        ttl_secs: i64,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Keygen { private, public } => keygen(&private, &public),
        Command::Mint {
            private,
            tenant,
            subject,
            scopes,
            user,
            method,
            path,
            request_id,
            ttl_secs,
        } => {
            let pem = std::fs::read_to_string(&private)
                .with_context(|| format!("reading {}", private.display()))?;
            let signer = AssertionSigner::from_pem(
                &pem,
                None,
                identity_assertion::AUDIENCE_TIMESHEET_SVC,
                ttl_secs,
            )
            .with_context(|| format!("loading {}", private.display()))?;
            let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs())?;
            let principal = Principal {
                tenant: TenantId::parse(&tenant).context("--tenant")?,
                client_id: (!user).then(|| subject.trim_end_matches("@clients").to_owned()),
                subject,
                kind: if user {
                    PrincipalKind::User
                } else {
                    PrincipalKind::Machine
                },
                scopes: ScopeSet::from_scope_str(&scopes),
                token_id: None,
                token_expires_at: now + ttl_secs,
            };
            let binding = RequestBinding {
                method,
                path_and_query: path,
                request_id,
            };
            println!("{}", signer.sign(&principal, &binding, now)?);
            Ok(())
        }
    }
}

fn keygen(private: &std::path::Path, public: &std::path::Path) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let pair = generate_keypair()?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(private)
        .with_context(|| format!("creating {}", private.display()))?;
    file.write_all(pair.private_pem.as_bytes())?;
    std::fs::write(public, pair.public_pem)
        .with_context(|| format!("writing {}", public.display()))?;
    eprintln!(
        "wrote {} (private, 0600) and {}",
        private.display(),
        public.display()
    );
    Ok(())
}
