//! TLS termination: the listener's OpenSSL settings (TLS 1.2 minimum, ALPN h2 then http/1.1) and
//! the certificate chosen per connection by SNI: a tenant's own certificate on its hostnames, the
//! default certificate otherwise (no SNI, an IP address, an unknown name).
//!
//! Certificates are loaded and checked against their keys once, at start; a handshake only
//! looks a name up in a map. What it does not hold: reloading certificates (a restart does).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::TlsAccept;
use pingora::protocols::tls::TlsRef;
use pingora::tls::ext;
use pingora::tls::pkey::{PKey, Private};
use pingora::tls::ssl::{NameType, SslMode, SslVersion};
use pingora::tls::x509::X509;

use crate::config::{CertPaths, GatewayConfig};
use crate::tenant::normalize_host;

/// Why the TLS settings could not be built. `key` is the configuration key of the file.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{key}: reading {path}: {source}")]
    Read {
        key: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{key}: {path} is not {what}")]
    Parse {
        key: String,
        path: String,
        what: &'static str,
    },
    #[error("{key}: the private key does not match the certificate")]
    KeyMismatch { key: String },
    #[error("server.cert_file: required to terminate TLS")]
    NoDefault,
    #[error("building the TLS acceptor: {0}")]
    Acceptor(String),
}

/// A certificate chain (leaf first) and its private key.
pub struct CertKey {
    chain: Vec<X509>,
    key: PKey<Private>,
}

impl std::fmt::Debug for CertKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let subject = self
            .chain
            .first()
            .map(|c| format!("{:?}", c.subject_name()));
        f.debug_struct("CertKey")
            .field("leaf", &subject)
            .finish_non_exhaustive()
    }
}

impl CertKey {
    /// Loads and cross-checks a PEM chain and key; `key` prefixes errors (`tenant[1]`).
    pub fn load(paths: &CertPaths, key: &str) -> Result<Self, TlsError> {
        let cert_key = format!("{key}.cert_file");
        let key_key = format!("{key}.key_file");
        let chain = X509::stack_from_pem(&read(&paths.cert_file, &cert_key)?)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| parse_error(&cert_key, &paths.cert_file, "a PEM certificate chain"))?;
        let pkey = PKey::private_key_from_pem(&read(&paths.key_file, &key_key)?)
            .map_err(|_| parse_error(&key_key, &paths.key_file, "a PEM private key"))?;
        let matches = chain[0]
            .public_key()
            .map(|public| public.public_eq(&pkey))
            .unwrap_or(false);
        if !matches {
            return Err(TlsError::KeyMismatch { key: key_key });
        }
        Ok(Self { chain, key: pkey })
    }
}

fn read(path: &Path, key: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        key: key.to_owned(),
        path: path.display().to_string(),
        source,
    })
}

fn parse_error(key: &str, path: &Path, what: &'static str) -> TlsError {
    TlsError::Parse {
        key: key.to_owned(),
        path: path.display().to_string(),
        what,
    }
}

/// The certificates of the listener, selected by SNI.
#[derive(Debug)]
pub struct SniCertificates {
    default: Arc<CertKey>,
    by_host: HashMap<String, Arc<CertKey>>,
}

impl SniCertificates {
    /// Loads `[server]`'s default certificate and every tenant's own.
    pub fn from_config(config: &GatewayConfig) -> Result<Self, TlsError> {
        let server = &config.proxy.server;
        let (Some(cert_file), Some(key_file)) = (&server.cert_file, &server.key_file) else {
            return Err(TlsError::NoDefault);
        };
        let default = Arc::new(CertKey::load(
            &CertPaths {
                cert_file: cert_file.clone(),
                key_file: key_file.clone(),
            },
            "server",
        )?);
        let mut by_host = HashMap::new();
        for (i, tenant) in config.tenants.iter().enumerate() {
            let Some(paths) = &tenant.tls else { continue };
            let cert = Arc::new(CertKey::load(paths, &format!("tenant[{i}]"))?);
            for host in &tenant.hostnames {
                by_host.insert(host.clone(), Arc::clone(&cert));
            }
        }
        Ok(Self { default, by_host })
    }

    /// The certificate for a ClientHello's server name.
    pub fn select(&self, server_name: Option<&str>) -> &CertKey {
        server_name
            .map(normalize_host)
            .and_then(|host| self.by_host.get(&host))
            .unwrap_or(&self.default)
    }

    /// Hostnames with their own certificate (for the start-up log).
    pub fn hostnames(&self) -> impl Iterator<Item = &str> {
        self.by_host.keys().map(String::as_str)
    }
}

#[async_trait]
impl TlsAccept for SniCertificates {
    async fn certificate_callback(&self, ssl: &mut TlsRef) {
        let cert = self.select(ssl.servername(NameType::HOST_NAME));
        // A failure here leaves the handshake without a certificate, which OpenSSL turns into
        // a handshake alert: the client sees a TLS error, never a wrong certificate.
        let Some((leaf, rest)) = cert.chain.split_first() else {
            return;
        };
        let installed = ext::ssl_use_certificate(ssl, leaf)
            .and_then(|()| ext::ssl_use_private_key(ssl, &cert.key))
            .and_then(|()| {
                rest.iter()
                    .try_for_each(|c| ext::ssl_add_chain_cert(ssl, c))
            });
        if let Err(err) = installed {
            tracing::warn!(error = %err, "installing the TLS certificate failed");
        }
    }
}

/// The listener's TLS settings: certificates by SNI, TLS 1.2 minimum, h2 preferred by ALPN.
pub fn tls_settings(certs: SniCertificates) -> Result<TlsSettings, TlsError> {
    let mut settings = TlsSettings::with_callbacks(Box::new(certs))
        .map_err(|e| TlsError::Acceptor(e.to_string()))?;
    // Mozilla "intermediate" already starts at 1.2; pinned here so it never silently drops.
    settings
        .set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(|e| TlsError::Acceptor(e.to_string()))?;
    settings.enable_h2();
    // OpenSSL keeps a ~17 KiB read and a ~17 KiB write buffer per connection for its lifetime;
    // with this mode it frees them whenever they are empty, which an idle keep-alive connection
    // always is. They are allocated again for the next record (a malloc per burst, not per byte).
    settings.set_mode(SslMode::RELEASE_BUFFERS);
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devcert::DevCa;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn paths(dir: &Path, ca: &DevCa, prefix: &str, hosts: &[&str]) -> CertPaths {
        let leaf = ca.issue(hosts).unwrap();
        CertPaths {
            cert_file: write(dir, &format!("{prefix}.crt"), &leaf.cert_pem),
            key_file: write(dir, &format!("{prefix}.key"), &leaf.key_pem),
        }
    }

    #[test]
    fn select_prefers_the_tenant_certificate_and_falls_back_to_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let ca = DevCa::generate().unwrap();
        let default = Arc::new(
            CertKey::load(&paths(dir.path(), &ca, "d", &["localhost"]), "server").unwrap(),
        );
        let tenant = Arc::new(
            CertKey::load(
                &paths(dir.path(), &ca, "a", &["a.example.com"]),
                "tenant[0]",
            )
            .unwrap(),
        );
        let certs = SniCertificates {
            default: Arc::clone(&default),
            by_host: HashMap::from([("a.example.com".to_owned(), Arc::clone(&tenant))]),
        };
        assert!(std::ptr::eq(certs.select(Some("A.Example.com")), &*tenant));
        assert!(std::ptr::eq(certs.select(Some("b.example.com")), &*default));
        assert!(std::ptr::eq(certs.select(None), &*default));
    }

    #[test]
    fn a_key_that_does_not_match_its_certificate_is_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let ca = DevCa::generate().unwrap();
        let one = paths(dir.path(), &ca, "one", &["localhost"]);
        let two = paths(dir.path(), &ca, "two", &["localhost"]);
        let mixed = CertPaths {
            cert_file: one.cert_file,
            key_file: two.key_file,
        };
        let err = CertKey::load(&mixed, "tenant[2]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "tenant[2].key_file: the private key does not match the certificate"
        );
    }

    #[test]
    fn a_missing_file_names_its_key() {
        let err = CertKey::load(
            &CertPaths {
                cert_file: "/nonexistent/x.crt".into(),
                key_file: "/nonexistent/x.key".into(),
            },
            "server",
        )
        .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("server.cert_file: reading /nonexistent/x.crt"));
    }
}
