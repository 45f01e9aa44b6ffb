//! The principal and request the crate's tests sign and verify.

use timesheet_domain::{Principal, PrincipalKind, Scope, ScopeSet, TenantId};

use crate::RequestBinding;

/// The tests' clock, in Unix seconds.
pub(crate) const NOW: i64 = 1_800_000_000;

/// A machine client of ExampleCo that may upload batches, with a token valid for an hour.
pub(crate) fn principal() -> Principal {
    Principal {
        tenant: TenantId::parse("exampleco").unwrap(),
        subject: "importer@clients".into(),
        client_id: Some("importer".into()),
        kind: PrincipalKind::Machine,
        scopes: [Scope::BatchUpload].into_iter().collect::<ScopeSet>(),
        token_id: Some("tok-1".into()),
        token_expires_at: NOW + 3600,
    }
}

/// A `POST` to `path_and_query` with request id `req-1`.
pub(crate) fn binding(path_and_query: &str) -> RequestBinding {
    RequestBinding {
        method: "POST".into(),
        path_and_query: path_and_query.into(),
        request_id: "req-1".into(),
    }
}
