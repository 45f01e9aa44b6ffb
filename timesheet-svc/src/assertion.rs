//! The gateway's identity assertion as this service trusts it: the `[assertion]` section and
//! the verifier built from it. Checking each request's assertion is `extract::caller`'s.

use std::path::PathBuf;
use std::time::Duration;

use identity_assertion::{AssertionVerifier, KeyError, VerifierKey};
use serde::Deserialize;
use service_config::rule::within;

/// `[assertion]`: which gateway keys are trusted, for which audience, with how much clock skew.
#[derive(Debug, Clone, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
pub struct AssertionConfig {
    /// Files holding the gateway's public keys (SubjectPublicKeyInfo PEM). Several keys may be
    /// trusted at once, for rotation. The environment gives them comma-separated.
    #[serde(deserialize_with = "one_or_many::paths")]
    #[garde(skip)]
    pub public_key_files: Vec<PathBuf>,
    /// The same, inline (PEM text): for tests, and secrets mounted as values.
    #[garde(skip)]
    pub public_keys: Vec<String>,
    /// The `aud` an assertion must carry.
    #[garde(length(min = 1))]
    pub audience: String,
    /// Clock skew tolerated between gateway and service, in whole seconds.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::ZERO, Duration::from_secs(300))))]
    pub leeway: Duration,
}

impl Default for AssertionConfig {
    fn default() -> Self {
        Self {
            public_key_files: Vec::new(),
            public_keys: Vec::new(),
            audience: identity_assertion::AUDIENCE_TIMESHEET_SVC.to_owned(),
            leeway: Duration::from_secs(5),
        }
    }
}

/// Why the trusted keys cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AssertionKeyError {
    #[error("assertion.public_key_files: reading {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("assertion: the gateway public keys are unusable")]
    Invalid(#[source] KeyError),
}

impl AssertionConfig {
    /// Whether any key is configured; without one no request could ever be accepted.
    pub fn has_keys(&self) -> bool {
        !(self.public_key_files.is_empty() && self.public_keys.is_empty())
    }

    /// The verifier of this section: inline keys, then those read from files.
    ///
    /// Fails when a file cannot be read or a key is not an Ed25519 public key.
    pub fn verifier(&self) -> Result<AssertionVerifier, AssertionKeyError> {
        let mut keys: Vec<VerifierKey> = self
            .public_keys
            .iter()
            .map(|pem| VerifierKey {
                kid: None,
                public_pem: pem.clone(),
            })
            .collect();
        for path in &self.public_key_files {
            let public_pem =
                std::fs::read_to_string(path).map_err(|source| AssertionKeyError::Read {
                    path: path.clone(),
                    source,
                })?;
            keys.push(VerifierKey {
                kid: None,
                public_pem,
            });
        }
        AssertionVerifier::new(&keys, &self.audience, self.leeway.as_secs())
            .map_err(AssertionKeyError::Invalid)
    }
}

mod one_or_many {
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Paths {
        /// `a.pem,b.pem`: what an environment variable can hold.
        Joined(String),
        List(Vec<PathBuf>),
    }

    pub fn paths<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
        Ok(match Paths::deserialize(d)? {
            Paths::Joined(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect(),
            Paths::List(v) => v,
        })
    }
}
