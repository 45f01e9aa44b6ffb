//! `<dir>/stack.env`: KEY=VALUE lines that let scripts and people reach the stack. The key names
//! are a contract (docs/architecture.md); values change with ports and credentials.

use std::path::Path;

use crate::configs::{issuer, Layout};
use crate::{Credentials, StackError, StackSpec, AUDIENCE};

#[derive(Debug, Clone)]
pub struct StackEnv {
    pub vars: Vec<(&'static str, String)>,
}

impl StackEnv {
    pub fn new(spec: &StackSpec, layout: &Layout, creds: &Credentials) -> Self {
        let p = spec.ports;
        let ca = layout.ca_cert().display().to_string();
        let vars = vec![
            ("GATEWAY_URL", format!("https://127.0.0.1:{}", p.gateway)),
            ("CA_CERT", ca),
            ("ISSUER", issuer(spec)),
            (
                "TOKEN_URL",
                format!("http://127.0.0.1:{}/oauth/token", p.idp),
            ),
            ("AUDIENCE", AUDIENCE.to_owned()),
            ("IMPORTER_CLIENT_ID", creds.importer.client_id.clone()),
            (
                "IMPORTER_CLIENT_SECRET",
                creds.importer.client_secret.clone(),
            ),
            ("READER_CLIENT_ID", creds.reader.client_id.clone()),
            ("READER_CLIENT_SECRET", creds.reader.client_secret.clone()),
            ("ADMIN_CLIENT_ID", creds.admin.client_id.clone()),
            ("ADMIN_CLIENT_SECRET", creds.admin.client_secret.clone()),
            (
                "OTHER_TENANT_CLIENT_ID",
                creds.other_tenant.client_id.clone(),
            ),
            (
                "OTHER_TENANT_CLIENT_SECRET",
                creds.other_tenant.client_secret.clone(),
            ),
            (
                "GATEWAY_METRICS_URL",
                format!("http://127.0.0.1:{}/metrics", p.gateway_admin),
            ),
            // Beyond the brief's list: what tests and operators of the local stack also use.
            ("TIMESHEET_SVC_URL", format!("http://127.0.0.1:{}", p.svc)),
            (
                "TIMESHEET_SVC_METRICS_URL",
                format!("http://127.0.0.1:{}/metrics", p.svc),
            ),
            (
                "IMPORTER_METRICS_URL",
                format!("http://127.0.0.1:{}/metrics", p.importer_metrics),
            ),
            ("IDP_ADMIN_TOKEN", creds.idp_admin_token.clone()),
        ];
        Self { vars }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn write(&self, path: &Path) -> Result<(), StackError> {
        let mut text = String::from(
            "# Written by devstack (make up). Source it: set -a; . .devstack/stack.env; set +a\n",
        );
        for (key, value) in &self.vars {
            text.push_str(&format!("{key}={value}\n"));
        }
        crate::configs::write_private(path, &text)
    }
}
