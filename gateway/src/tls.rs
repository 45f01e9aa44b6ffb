//! TLS termination: the listener's rustls settings (TLS 1.2 and 1.3 only, ALPN h2 then
//! http/1.1) and the certificate chosen per connection by SNI: a tenant's own certificate on its
//! hostnames, the default certificate otherwise (no SNI, an IP address, an unknown name).
//!
//! Certificates are loaded and checked against their keys once, at start; a handshake only
//! looks a name up in a map. What it does not hold: reloading certificates (a restart does).
//!
//! rustls rather than OpenSSL: an idle rustls connection keeps only its read buffer and its two
//! AEAD keys, where OpenSSL keeps its SSL object, two record layers and a handshake buffer, and
//! bench/gateway measured less CPU per proxied request with rustls (figures in
//! docs/benchmarks.md).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pingora::listeners::tls::TlsSettings;
use pingora::tls::sign::CertifiedKey;
use pingora::tls::{CertificateDer, ClientHello, PrivateKeyDer, ResolvesServerCert};
use rustls::crypto::ring::default_provider;
use rustls::pki_types::pem::PemObject;

use crate::tenant::{normalize_host, TenantRegistry};
use crate::workers::ServerConfig;

/// A certificate chain and its key (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

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

/// Loads a PEM certificate chain (leaf first) and its private key, checked against each other,
/// ready for a handshake; `key` prefixes errors (`tenant[1]`).
pub fn load_certified_key(paths: &CertPaths, key: &str) -> Result<Arc<CertifiedKey>, TlsError> {
    let cert_key = format!("{key}.cert_file");
    let key_key = format!("{key}.key_file");
    let chain = CertificateDer::pem_slice_iter(&read(&paths.cert_file, &cert_key)?)
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| parse_error(&cert_key, &paths.cert_file, "a PEM certificate chain"))?;
    let private = PrivateKeyDer::from_pem_slice(&read(&paths.key_file, &key_key)?)
        .map_err(|_| parse_error(&key_key, &paths.key_file, "a PEM private key"))?;
    // The provider could not use the key: an unsupported type or curve.
    let signing_key = default_provider()
        .key_provider
        .load_private_key(private)
        .map_err(|_| parse_error(&key_key, &paths.key_file, "a private key TLS can use"))?;
    let certified = CertifiedKey::new(chain, signing_key);
    // One check, strict: a key whose public half cannot be derived ("unknown" consistency, which
    // `CertifiedKey::from_der` lets through) is refused too; RSA, ECDSA and Ed25519 keys all can.
    certified
        .keys_match()
        .map_err(|_| TlsError::KeyMismatch { key: key_key })?;
    Ok(Arc::new(certified))
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
    default: Arc<CertifiedKey>,
    by_host: HashMap<String, Arc<CertifiedKey>>,
}

impl SniCertificates {
    /// Loads `[server]`'s default certificate and every tenant's own.
    pub fn new(server: &ServerConfig, tenants: &TenantRegistry) -> Result<Self, TlsError> {
        let paths = |cert: &Option<PathBuf>, key: &Option<PathBuf>| {
            Some(CertPaths {
                cert_file: cert.clone()?,
                key_file: key.clone()?,
            })
        };
        let default = paths(&server.cert_file, &server.key_file).ok_or(TlsError::NoDefault)?;
        let default = load_certified_key(&default, "server")?;
        let mut by_host = HashMap::new();
        for (i, tenant) in tenants.iter().enumerate() {
            let Some(paths) = paths(&tenant.cert_file, &tenant.key_file) else {
                continue;
            };
            let cert = load_certified_key(&paths, &format!("tenant[{i}]"))?;
            for host in &tenant.hostnames {
                by_host.insert(host.clone(), Arc::clone(&cert));
            }
        }
        Ok(Self { default, by_host })
    }

    /// The certificate for a ClientHello's server name.
    pub fn select(&self, server_name: Option<&str>) -> &Arc<CertifiedKey> {
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

impl ResolvesServerCert for SniCertificates {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(self.select(client_hello.server_name())))
    }
}

/// The listener's TLS settings: certificates by SNI, TLS 1.2 minimum, h2 preferred by ALPN.
pub fn tls_settings(certs: Arc<SniCertificates>) -> Result<TlsSettings, TlsError> {
    // Pingora's rustls listener offers TLS 1.2 and 1.3 only, with rustls' default (AEAD-only)
    // cipher suites; the file paths are unused because the resolver picks every certificate.
    let mut settings =
        TlsSettings::intermediate("", "").map_err(|e| TlsError::Acceptor(e.to_string()))?;
    settings.set_cert_resolver(certs);
    settings.enable_h2();
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
        let default =
            load_certified_key(&paths(dir.path(), &ca, "d", &["localhost"]), "server").unwrap();
        let tenant = load_certified_key(
            &paths(dir.path(), &ca, "a", &["a.example.com"]),
            "tenant[0]",
        )
        .unwrap();
        let certs = SniCertificates {
            default: Arc::clone(&default),
            by_host: HashMap::from([("a.example.com".to_owned(), Arc::clone(&tenant))]),
        };
        assert!(Arc::ptr_eq(certs.select(Some("A.Example.com")), &tenant));
        assert!(Arc::ptr_eq(certs.select(Some("b.example.com")), &default));
        assert!(Arc::ptr_eq(certs.select(None), &default));
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
        let err = load_certified_key(&mixed, "tenant[2]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "tenant[2].key_file: the private key does not match the certificate"
        );
    }

    #[test]
    fn a_missing_file_names_its_key() {
        let err = load_certified_key(
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
