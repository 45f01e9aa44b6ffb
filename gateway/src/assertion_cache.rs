//! The identity assertions the gateway forwards, signed once per principal and request line.
//!
//! With the verified-token cache making the rest of authentication a lookup, an Ed25519
//! signature per request would be most of what authentication adds to a request (bench/gateway,
//! figures in docs/benchmarks.md). So assertions are made reusable (bound to the principal,
//! method, path and query, not to one request id: see `AssertionSigner::sign_reusable` for why
//! that gives nothing up) and kept here for half their lifetime, so a reused one always has at
//! least half its lifetime left when the service checks it.
//!
//! Keys are the SHA-256 of the principal and the request line. Like the verified-token cache, a
//! 256-bit digest makes the map's own equality the comparison, and it is a quick_cache for the
//! same reason (a read is a lookup, with no housekeeping on the request path; see
//! `auth::token_cache`). An entry past its reuse time is replaced by the next request that needs
//! it. The cache is bounded by `[assertion] cache_entries`; 0 turns it off, and every request is
//! then signed on its own, bound to its request id.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use identity_assertion::{AssertionSigner, RequestBinding, SignError};
use quick_cache::sync::Cache;
use serde::Deserialize;
use service_config::rule::within;
use sha2::{Digest, Sha256};
use timesheet_domain::Principal;

/// `[assertion]`: the key identity assertions are signed with. Optional in the file, so that a
/// tenants-only file checks; `gateway run` requires it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct AssertionConfig {
    /// PKCS#8 Ed25519 private key (PEM).
    pub private_key_file: PathBuf,
    #[garde(length(min = 1))]
    pub kid: Option<String>,
    /// Lifetime of an assertion (whole seconds). Longer-lived assertions widen the replay
    /// window inside the network.
    #[serde(default = "default_ttl", with = "humantime_serde")]
    #[garde(custom(within(Duration::from_secs(1), Duration::from_secs(300))))]
    pub ttl: Duration,
    /// Reusable assertions kept; 0 signs every request on its own. An assertion is about
    /// 0.8 KB: the bound keeps the cache under a gigabyte.
    #[serde(default = "default_cache_entries")]
    #[garde(range(max = 1_000_000))]
    pub cache_entries: u64,
}

fn default_ttl() -> Duration {
    Duration::from_secs(60)
}

/// A principal calling the same request line within half an assertion's lifetime takes one
/// entry, however many requests it sends.
fn default_cache_entries() -> u64 {
    10_000
}

/// SHA-256 of (principal, method, path and query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key([u8; 32]);

impl Key {
    fn new(principal: &Principal, method: &str, path_and_query: &str) -> Result<Self, SignError> {
        let mut hasher = Sha256::new();
        // JSON, so that every field is delimited: no two principals or lines share a key by
        // concatenation.
        serde_json::to_writer(
            HashWriter(&mut hasher),
            &(principal, method, path_and_query),
        )?;
        Ok(Self(hasher.finalize().into()))
    }
}

/// Feeds serde_json's output to the hasher without an intermediate buffer.
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
struct Reusable {
    token: Arc<str>,
    /// Unix seconds after which a new assertion is made.
    reuse_until: i64,
}

/// Makes (or reuses) the assertion for a request.
#[derive(Clone)]
pub struct Assertions {
    signer: AssertionSigner,
    cache: Option<Arc<Cache<Key, Arc<Reusable>>>>,
}

impl std::fmt::Debug for Assertions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assertions")
            .field("signer", &self.signer)
            .field("cached", &self.cache.as_ref().map(|cache| cache.len()))
            .finish()
    }
}

impl Assertions {
    /// Keeps up to `max_entries` reusable assertions; 0 signs every request on its own.
    pub fn new(signer: AssertionSigner, max_entries: u64) -> Self {
        let cache = (max_entries > 0).then(|| {
            Arc::new(Cache::new(
                usize::try_from(max_entries).unwrap_or(usize::MAX),
            ))
        });
        Self { signer, cache }
    }

    /// The assertion for `principal` on the request `method path_and_query` (whose id is
    /// `request_id`), at `now` (Unix seconds). The parts are borrowed: a reuse copies nothing.
    pub fn assertion(
        &self,
        principal: &Principal,
        method: &str,
        path_and_query: &str,
        request_id: &str,
        now: i64,
    ) -> Result<Arc<str>, SignError> {
        let Some(cache) = &self.cache else {
            let binding = RequestBinding {
                method: method.to_owned(),
                path_and_query: path_and_query.to_owned(),
                request_id: request_id.to_owned(),
            };
            return Ok(self.signer.sign(principal, &binding, now)?.into());
        };
        let key = Key::new(principal, method, path_and_query)?;
        if let Some(hit) = cache.get(&key) {
            if now < hit.reuse_until {
                return Ok(Arc::clone(&hit.token));
            }
        }
        let signed = self
            .signer
            .sign_reusable(principal, method, path_and_query, now)?;
        let token: Arc<str> = signed.token.into();
        cache.insert(
            key,
            Arc::new(Reusable {
                token: Arc::clone(&token),
                // Half the lifetime, and never past the assertion's own expiry (which an
                // access token about to expire brings forward).
                reuse_until: (signed.issued_at + reuse_secs(self.signer.ttl_secs()))
                    .min(signed.expires_at),
            }),
        );
        Ok(token)
    }
}

/// How long an assertion is reused: half its lifetime, at least a second.
fn reuse_secs(ttl_secs: i64) -> i64 {
    (ttl_secs / 2).max(1)
}

#[cfg(test)]
mod tests {
    use identity_assertion::{
        generate_keypair, AssertionVerifier, VerifierKey, AUDIENCE_TIMESHEET_SVC,
    };
    use timesheet_domain::{PrincipalKind, Scope, ScopeSet};

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn principal(subject: &str) -> Principal {
        Principal {
            tenant: "acme".parse().unwrap(),
            subject: subject.into(),
            client_id: Some("importer".into()),
            kind: PrincipalKind::Machine,
            scopes: ScopeSet::from_iter([Scope::BatchUpload]),
            token_id: None,
            token_expires_at: NOW + 3600,
        }
    }

    fn binding(method: &str, path: &str, request_id: &str) -> RequestBinding {
        RequestBinding {
            method: method.into(),
            path_and_query: path.into(),
            request_id: request_id.into(),
        }
    }

    /// What `assertions` forwards for the request `binding` describes.
    fn assertion(
        assertions: &Assertions,
        who: &Principal,
        binding: &RequestBinding,
        now: i64,
    ) -> Arc<str> {
        let RequestBinding {
            method,
            path_and_query,
            request_id,
        } = binding;
        assertions
            .assertion(who, method, path_and_query, request_id, now)
            .unwrap()
    }

    fn setup(max_entries: u64) -> (Assertions, AssertionVerifier) {
        let pair = generate_keypair().unwrap();
        let signer =
            AssertionSigner::from_pem(&pair.private_pem, None, AUDIENCE_TIMESHEET_SVC, 60).unwrap();
        let verifier = AssertionVerifier::new(
            &[VerifierKey {
                kid: None,
                public_pem: pair.public_pem,
            }],
            AUDIENCE_TIMESHEET_SVC,
            0,
        )
        .unwrap();
        (Assertions::new(signer, max_entries), verifier)
    }

    #[test]
    fn the_same_principal_and_request_line_reuse_one_assertion_for_half_its_life() {
        let (assertions, verifier) = setup(100);
        let me = principal("a@clients");
        let first = assertion(
            &assertions,
            &me,
            &binding("POST", "/v1/timesheets/upload", "r1"),
            NOW,
        );
        let again = assertion(
            &assertions,
            &me,
            &binding("POST", "/v1/timesheets/upload", "r2"),
            NOW + 29,
        );
        assert!(
            Arc::ptr_eq(&first, &again),
            "signed again within the window"
        );
        // The service accepts it for the second request, whose id it does not carry.
        assert_eq!(
            verifier.verify(
                &again,
                &binding("POST", "/v1/timesheets/upload", "r2"),
                NOW + 29
            ),
            Ok(me.clone())
        );

        let later = assertion(
            &assertions,
            &me,
            &binding("POST", "/v1/timesheets/upload", "r3"),
            NOW + 30,
        );
        assert_ne!(first, later, "reused past half its lifetime");
    }

    #[test]
    fn another_principal_method_or_path_gets_its_own_assertion() {
        let (assertions, verifier) = setup(100);
        let me = principal("a@clients");
        let mine = assertion(
            &assertions,
            &me,
            &binding("GET", "/v1/timesheets/entries", "r1"),
            NOW,
        );
        for (who, method, path) in [
            (principal("b@clients"), "GET", "/v1/timesheets/entries"),
            (me.clone(), "DELETE", "/v1/timesheets/entries"),
            (me.clone(), "GET", "/v1/timesheets/entries?limit=5"),
        ] {
            let binding = binding(method, path, "r2");
            let theirs = assertion(&assertions, &who, &binding, NOW);
            assert_ne!(mine, theirs, "{} {method} {path}", who.subject);
            assert_eq!(verifier.verify(&theirs, &binding, NOW), Ok(who));
        }
    }

    #[test]
    fn an_assertion_is_not_reused_past_the_access_token() {
        let (assertions, verifier) = setup(100);
        let mut me = principal("a@clients");
        me.token_expires_at = NOW + 10;
        let line = binding("GET", "/v1/timesheets/entries", "r1");
        let first = assertion(&assertions, &me, &line, NOW);
        assert!(Arc::ptr_eq(
            &first,
            &assertion(&assertions, &me, &line, NOW + 9)
        ));
        let after = assertion(&assertions, &me, &line, NOW + 10);
        assert_ne!(first, after);
        assert_eq!(
            verifier.verify(&first, &line, NOW + 11),
            Err(identity_assertion::AssertionError::Expired)
        );
    }

    #[test]
    fn without_a_cache_every_request_is_signed_for_its_request_id() {
        let (assertions, verifier) = setup(0);
        let me = principal("a@clients");
        let line = binding("GET", "/v1/timesheets/entries", "r1");
        let one = assertion(&assertions, &me, &line, NOW);
        let two = assertion(&assertions, &me, &line, NOW);
        assert!(!Arc::ptr_eq(&one, &two));
        assert_eq!(
            verifier.verify(&one, &binding("GET", "/v1/timesheets/entries", "r2"), NOW),
            Err(identity_assertion::AssertionError::WrongRequest)
        );
    }
}
