//! Comparing secrets (client secrets, the admin token) without leaking through timing.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether `given` equals `expected`, in time independent of where they differ. Both sides are
/// hashed first, so the comparison does not reveal the expected length either.
pub fn secrets_match(given: &str, expected: &SecretString) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.expose_secret().as_bytes());
    given.ct_eq(&expected).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_secret_matches() {
        let expected = SecretString::from("s3cret".to_owned());
        assert!(secrets_match("s3cret", &expected));
        assert!(!secrets_match("s3cret ", &expected));
        assert!(!secrets_match("", &expected));
    }
}
