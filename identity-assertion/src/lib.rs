//! The identity assertion: how the gateway tells the internal services who is calling, in a form
//! they can verify came from the gateway.
//!
//! What it is: a compact JWS (EdDSA / Ed25519) signed with the gateway's own private key and
//! carried in the [`HEADER`] header. It holds the verified principal (tenant, subject, client id,
//! kind, scopes, access-token id and expiry) and is bound to one request: its method (`htm`), its
//! path and query (`htu`) and its request id (`rid`), with a lifetime of seconds. The services hold
//! only public keys, so a compromised service cannot mint identities, and a header copied from
//! one request is useless for another. Several public keys may be trusted at once (by `kid`), so
//! the gateway's key can rotate without downtime.
//!
//! What it is not: an access token. Clients never see it; the gateway strips any copy a client
//! sends.

mod claims;
#[cfg(test)]
mod fixtures;
mod keys;
mod sign;
mod verify;

pub use claims::{AssertionClaims, RequestBinding};
pub use keys::{generate_keypair, KeyError, KeyPair};
pub use sign::{AssertionSigner, SignError, SignedAssertion};
pub use verify::{AssertionError, AssertionVerifier, VerifierKey};

/// The request header that carries the assertion.
pub const HEADER: &str = "x-gateway-assertion";

/// `iss` of every assertion.
pub const ISSUER: &str = "timesheets-gateway";

/// `aud` of assertions meant for timesheet-svc.
pub const AUDIENCE_TIMESHEET_SVC: &str = "timesheet-svc";
