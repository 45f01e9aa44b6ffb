//! Signing keys: RSA-2048 made with aws-lc-rs, signing RS256 with jsonwebtoken, published as a
//! JWKS, and rotated in two steps as Auth0 does ("rotate": a new key is published next to the
//! old one and signs from now on; "revoke", here `retire`: every other key is unpublished).
//!
//! The key id is the key's RFC 7638 thumbprint, so the same key always has the same `kid`, across
//! restarts and whoever computes it.

mod store;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::signature::KeyPair as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};

use store::{KeyFiles, KeyState};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("generating an RSA key failed")]
    Generate,
    #[error("signing a token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
    #[error("the key store task stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// A private signing key and what is published about it. `Debug` shows the `kid` only.
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    n: String,
    e: String,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A public key as a JWK, the way Auth0's `/.well-known/jwks.json` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
    pub n: String,
    pub e: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

impl SigningKey {
    /// A new RSA-2048 key and its PKCS#8 PEM (to be persisted). Slow in debug builds: about a
    /// tenth of a second to a second.
    pub fn generate() -> Result<(Self, SecretString), KeyError> {
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| KeyError::Generate)?;
        let der: Pkcs8V1Der<'static> = pair.as_der().map_err(|_| KeyError::Generate)?;
        let pem = SecretString::from(pem::encode_config(
            &pem::Pem::new("PRIVATE KEY", der.as_ref()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        ));
        let key = Self::from_pkcs8_pem(pem.expose_secret()).map_err(|_| KeyError::Generate)?;
        Ok((key, pem))
    }

    /// Parses a PKCS#8 PEM private key. The error says what is wrong, never the key.
    pub fn from_pkcs8_pem(pem_text: &str) -> Result<Self, String> {
        let parsed = pem::parse(pem_text).map_err(|err| format!("not a PEM file: {err}"))?;
        if parsed.tag() != "PRIVATE KEY" {
            return Err(format!(
                "expected a PKCS#8 \"PRIVATE KEY\", found \"{}\"",
                parsed.tag()
            ));
        }
        let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(parsed.contents())
            .map_err(|err| format!("not an RSA PKCS#8 key: {err}"))?;
        let public = pair.public_key();
        let n = URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero());
        let e = URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero());
        let encoding = EncodingKey::from_rsa_pem(pem_text.as_bytes())
            .map_err(|err| format!("unusable RSA key: {err}"))?;
        Ok(Self {
            kid: thumbprint(&n, &e),
            encoding,
            n,
            e,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwk(&self) -> Jwk {
        Jwk {
            kty: "RSA",
            use_: "sig",
            alg: "RS256",
            kid: self.kid.clone(),
            n: self.n.clone(),
            e: self.e.clone(),
        }
    }

    /// A compact JWS (RS256, header `kid` and `typ: JWT`) over `claims`.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".to_owned());
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }
}

/// RFC 7638: base64url(SHA-256 of the canonical JSON of the required RSA members).
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The keys at one moment: the one that signs, and every one that is published (it included).
#[derive(Debug)]
pub struct KeyRing {
    current: Arc<SigningKey>,
    published: Vec<Arc<SigningKey>>,
}

impl KeyRing {
    pub fn current(&self) -> &Arc<SigningKey> {
        &self.current
    }

    pub fn published(&self) -> &[Arc<SigningKey>] {
        &self.published
    }

    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.published.iter().map(|k| k.jwk()).collect(),
        }
    }

    fn state(&self) -> KeyState {
        KeyState {
            current: self.current.kid.clone(),
            published: self.published.iter().map(|k| k.kid.clone()).collect(),
        }
    }
}

/// The key ring and the directory it is persisted in. Readers take a snapshot with [`ring`];
/// rotations are serialised and write the directory before the new ring is served.
///
/// [`ring`]: KeyManager::ring
pub struct KeyManager {
    files: Arc<KeyFiles>,
    ring: ArcSwap<KeyRing>,
    changes: tokio::sync::Mutex<()>,
}

impl fmt::Debug for KeyManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyManager")
            .field("dir", &self.files.dir())
            .finish_non_exhaustive()
    }
}

impl KeyManager {
    /// Loads the keys persisted in `dir`, or, when it holds none yet, generates one and persists
    /// it. Blocking (file I/O, maybe key generation): call it before serving or from
    /// `spawn_blocking`. Fails when the directory cannot be written or its files do not match.
    pub fn open(dir: &Path) -> Result<Self, KeyError> {
        let files = KeyFiles::open(dir)?;
        let ring = match files.read_state()? {
            Some(state) => {
                let load = |kid: &str| files.read_key(kid).map(Arc::new);
                let current = load(&state.current)?;
                let published = state
                    .published
                    .iter()
                    .map(|kid| {
                        if *kid == state.current {
                            Ok(current.clone())
                        } else {
                            load(kid)
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                tracing::info!(dir = %dir.display(), current = %current.kid, published = published.len(), "signing keys loaded");
                KeyRing { current, published }
            }
            None => {
                let (key, pem) = SigningKey::generate()?;
                files.write_key(&key.kid, &pem)?;
                let key = Arc::new(key);
                let ring = KeyRing {
                    current: key.clone(),
                    published: vec![key],
                };
                files.write_state(&ring.state())?;
                tracing::info!(dir = %dir.display(), kid = %ring.current.kid, "no signing key found: generated one");
                ring
            }
        };
        Ok(Self {
            files: Arc::new(files),
            ring: ArcSwap::from_pointee(ring),
            changes: tokio::sync::Mutex::new(()),
        })
    }

    /// The keys now. Cheap; take one snapshot per request.
    pub fn ring(&self) -> Arc<KeyRing> {
        self.ring.load_full()
    }

    /// Generates a key, publishes it next to the others and makes it the signing key. The old
    /// keys stay published (tokens they signed keep verifying) until [`retire`](Self::retire).
    pub async fn rotate(&self) -> Result<Arc<KeyRing>, KeyError> {
        let _serialised = self.changes.lock().await;
        let old = self.ring();
        let files = self.files.clone();
        let ring = tokio::task::spawn_blocking(move || -> Result<KeyRing, KeyError> {
            let (key, pem) = SigningKey::generate()?;
            files.write_key(&key.kid, &pem)?;
            let key = Arc::new(key);
            let mut published = old.published.clone();
            published.push(key.clone());
            let ring = KeyRing {
                current: key,
                published,
            };
            files.write_state(&ring.state())?;
            Ok(ring)
        })
        .await??;
        let ring = Arc::new(ring);
        self.ring.store(ring.clone());
        tracing::warn!(kid = %ring.current.kid, published = ring.published.len(), "signing key rotated");
        Ok(ring)
    }

    /// Unpublishes every key but the signing one and deletes their files: tokens they signed stop
    /// verifying. Returns the new ring and the retired key ids.
    pub async fn retire(&self) -> Result<(Arc<KeyRing>, Vec<String>), KeyError> {
        let _serialised = self.changes.lock().await;
        let old = self.ring();
        let retired: Vec<String> = old
            .published
            .iter()
            .filter(|k| k.kid != old.current.kid)
            .map(|k| k.kid.clone())
            .collect();
        let ring = Arc::new(KeyRing {
            current: old.current.clone(),
            published: vec![old.current.clone()],
        });
        let files = self.files.clone();
        let state = ring.state();
        let to_delete = retired.clone();
        tokio::task::spawn_blocking(move || -> Result<(), KeyError> {
            // The state first: a crash in between leaves unused files, never a published key
            // without its file.
            files.write_state(&state)?;
            for kid in &to_delete {
                files.remove_key(kid)?;
            }
            Ok(())
        })
        .await??;
        self.ring.store(ring.clone());
        tracing::warn!(kid = %ring.current.kid, retired = ?retired, "old signing keys retired");
        Ok((ring, retired))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        // RFC 7638 section 3.1's example key and thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn debug_output_shows_the_kid_only() {
        let (key, pem) = SigningKey::generate().unwrap();
        let debug = format!("{key:?} {pem:?}");
        assert!(debug.contains(key.kid()));
        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
    }
}
