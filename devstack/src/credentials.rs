//! The development clients' ids and secrets: generated on first start, kept in
//! `<dir>/credentials.json` (mode 0600) and reused, so `stack.env` stays valid across restarts.

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::StackError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

/// The four clients of the brief, and the token that guards dev-idp's admin endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// `batch:upload delete:timesheets`: the importer (deletions at the source are synced too).
    pub importer: ClientCredentials,
    /// `read:timesheets`.
    pub reader: ClientCredentials,
    /// Every scope.
    pub admin: ClientCredentials,
    /// The second tenant (an Auth0 Organization), with every scope.
    pub other_tenant: ClientCredentials,
    pub idp_admin_token: String,
}

fn random_token(bytes: usize) -> Result<String, StackError> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf)
        .map_err(|_| StackError::Config("the system random generator failed".to_owned()))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

fn client(name: &str) -> Result<ClientCredentials, StackError> {
    Ok(ClientCredentials {
        client_id: format!(
            "{name}-{}",
            random_token(9)?.to_lowercase().replace(['-', '_'], "x")
        ),
        client_secret: random_token(32)?,
    })
}

impl Credentials {
    pub fn load_or_create(path: &Path) -> Result<Self, StackError> {
        if let Ok(text) = std::fs::read_to_string(path) {
            return serde_json::from_str(&text).map_err(|err| {
                StackError::Config(format!(
                    "{} is not valid ({err}); delete it to generate new credentials",
                    path.display()
                ))
            });
        }
        let created = Self {
            importer: client("importer")?,
            reader: client("reader")?,
            admin: client("admin")?,
            other_tenant: client("other")?,
            idp_admin_token: random_token(32)?,
        };
        let text = serde_json::to_string_pretty(&created)
            .map_err(|err| StackError::Config(err.to_string()))?;
        crate::configs::write_private(path, &text)?;
        Ok(created)
    }
}
