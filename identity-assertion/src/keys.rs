//! Ed25519 key pairs in the PEM forms the signer and verifier read.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};

/// Why a key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate an Ed25519 key pair")]
    Generate,
    #[error("{what} is not a PEM-encoded Ed25519 {expected} key")]
    Invalid {
        what: String,
        expected: &'static str,
    },
}

/// A private key (PKCS#8 PEM) and its public key (SubjectPublicKeyInfo PEM).
#[derive(Clone)]
pub struct KeyPair {
    pub private_pem: String,
    pub public_pem: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("KeyPair")
            .field("public_pem", &self.public_pem)
            .finish_non_exhaustive()
    }
}

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Makes a new Ed25519 key pair for signing assertions.
pub fn generate_keypair() -> Result<KeyPair, KeyError> {
    let rng = SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeyError::Generate)?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| KeyError::Generate)?;
    let mut spki = ED25519_SPKI_PREFIX.to_vec();
    spki.extend_from_slice(pair.public_key().as_ref());
    Ok(KeyPair {
        private_pem: pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec())),
        public_pem: pem::encode(&pem::Pem::new("PUBLIC KEY", spki)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_pem_and_distinct() {
        let a = generate_keypair().unwrap();
        let b = generate_keypair().unwrap();
        assert!(a.private_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert!(a.public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        assert_ne!(a.public_pem, b.public_pem);
        assert!(!format!("{a:?}").contains("PRIVATE"));
    }
}
