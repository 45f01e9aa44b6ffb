//! The fault switch: tests turn the token endpoint (or the key endpoints) into 503s to exercise
//! their clients' retry and stale-key paths, then turn it back.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultMode {
    Ok,
    Unavailable,
}

/// `POST /admin/faults` body: each field is optional; an absent one is left as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsRequest {
    /// `POST /oauth/token`.
    #[serde(default)]
    pub token_endpoint: Option<FaultMode>,
    /// `GET /.well-known/jwks.json` and `/.well-known/openid-configuration`.
    #[serde(default)]
    pub jwks: Option<FaultMode>,
}

/// The switches as they are now (the answer of `POST /admin/faults`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultsResponse {
    pub token_endpoint: FaultMode,
    pub jwks: FaultMode,
}

#[derive(Debug, Default)]
pub struct Faults {
    token_endpoint: AtomicBool,
    jwks: AtomicBool,
}

fn mode(flag: &AtomicBool) -> FaultMode {
    if flag.load(Ordering::Relaxed) {
        FaultMode::Unavailable
    } else {
        FaultMode::Ok
    }
}

impl Faults {
    pub fn is_token_endpoint_down(&self) -> bool {
        self.token_endpoint.load(Ordering::Relaxed)
    }

    pub fn is_jwks_down(&self) -> bool {
        self.jwks.load(Ordering::Relaxed)
    }

    pub fn apply(&self, request: &FaultsRequest) -> FaultsResponse {
        let set = |flag: &AtomicBool, m: Option<FaultMode>| {
            if let Some(m) = m {
                flag.store(m == FaultMode::Unavailable, Ordering::Relaxed);
            }
        };
        set(&self.token_endpoint, request.token_endpoint);
        set(&self.jwks, request.jwks);
        self.current()
    }

    pub fn current(&self) -> FaultsResponse {
        FaultsResponse {
            token_endpoint: mode(&self.token_endpoint),
            jwks: mode(&self.jwks),
        }
    }
}
