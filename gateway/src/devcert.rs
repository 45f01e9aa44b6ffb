//! Development certificates (`gateway dev-cert`, `make up`, the integration tests): a local CA
//! and server certificates it signs for the given hostnames, with rcgen. Nothing here is meant
//! for production; real certificates come from the operator's PKI.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// Why a development certificate could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum DevCertError {
    #[error("generating a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A certificate and its key, PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

/// A throwaway certificate authority.
pub struct DevCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate a client trusts (PEM).
    pub cert_pem: String,
}

impl std::fmt::Debug for DevCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCa").finish_non_exhaustive()
    }
}

impl DevCa {
    pub fn generate() -> Result<Self, DevCertError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "Timesheets gateway development CA");
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            issuer: Issuer::new(params, key),
            cert_pem: cert.pem(),
        })
    }

    /// A server certificate for `hosts` (DNS names or IP addresses), signed by this CA.
    pub fn issue(&self, hosts: &[&str]) -> Result<Issued, DevCertError> {
        let names: Vec<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
        let mut params = CertificateParams::new(names)?;
        let mut name = DistinguishedName::new();
        name.push(
            DnType::CommonName,
            hosts.first().copied().unwrap_or("gateway"),
        );
        params.distinguished_name = name;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Writes `ca.crt`, `server.crt` and `server.key` (for `hosts`, plus localhost and 127.0.0.1)
/// into `dir`.
pub fn write_dev_certs(dir: &Path, hosts: &[String]) -> Result<(), DevCertError> {
    let ca = DevCa::generate()?;
    let mut all: Vec<&str> = hosts.iter().map(String::as_str).collect();
    for extra in ["localhost", "127.0.0.1"] {
        if !all.contains(&extra) {
            all.push(extra);
        }
    }
    let server = ca.issue(&all)?;
    std::fs::create_dir_all(dir).map_err(|source| DevCertError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    for (name, text) in [
        ("ca.crt", &ca.cert_pem),
        ("server.crt", &server.cert_pem),
        ("server.key", &server.key_pem),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| DevCertError::Write {
            path: path.display().to_string(),
            source,
        })?;
    }
    Ok(())
}
