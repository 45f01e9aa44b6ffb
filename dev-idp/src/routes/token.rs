//! `POST /oauth/token`: the client credentials grant, answered as Auth0 answers it.
//! <https://auth0.com/docs/api/authentication#client-credentials-flow>

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::client_auth;
use crate::error::OAuthError;
use crate::params::TokenParams;
use crate::state::{AppState, Client};
use crate::token::{self, Subject, TokenResponse};

/// Issues a token, or answers Auth0's error for the first check that fails, in Auth0's order:
/// grant type, client authentication, the client's grant types, audience, client grant, scopes.
pub async fn issue_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match try_issue(&state, &headers, &body) {
        Ok(issued) => {
            let mut response = Json(issued).into_response();
            // RFC 6749 5.1: token responses are never cached.
            let h = response.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            response
        }
        Err(err) => {
            state.stats.record_refused();
            tracing::info!(error = err.error, description = %err.description, "token request refused");
            err.into_response()
        }
    }
}

fn try_issue(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, OAuthError> {
    if state.faults.is_token_endpoint_down() {
        return Err(OAuthError::temporarily_unavailable(
            "The token endpoint is switched off (dev-idp fault switch)",
        ));
    }
    let params = TokenParams::parse(headers, body)?;
    match params.get("grant_type") {
        None => {
            return Err(OAuthError::invalid_request(
                "Missing required parameter: grant_type",
            ))
        }
        Some("client_credentials") => {}
        Some(other) => return Err(OAuthError::unsupported_grant_type(other)),
    }
    let now = timesheet_domain::unix_now();
    let client = client_auth::authenticate(
        &state.registry,
        &state.urls,
        &state.replay,
        &params,
        headers,
        now,
    )?;
    if !client.grant_types.iter().any(|g| g == "client_credentials") {
        return Err(OAuthError::unauthorized_client(
            "Grant type 'client_credentials' not allowed for the client.",
        ));
    }
    let audience = params.get("audience").ok_or_else(|| {
        OAuthError::access_denied(
            "No audience parameter was provided, and no default audience has been configured",
        )
    })?;
    let Some(api) = state.registry.api(audience) else {
        return Err(OAuthError::access_denied(format!(
            "Service not enabled within domain: {audience}"
        )));
    };
    let Some(granted) = client.grants.get(audience) else {
        return Err(OAuthError::access_denied(format!(
            "Client is not authorized to access \"{audience}\". You need to create a \
             \"client-grant\" associated to this API."
        )));
    };
    let scopes = narrow_scopes(granted, params.get("scope"))?;
    check_organization(client, params.get("organization"))?;

    let ring = state.keys.ring();
    let subject = Subject {
        sub: format!("{}@clients", client.client_id),
        azp: &client.client_id,
        audience,
        scopes: &scopes,
        org_id: client.org_id.as_deref(),
        is_machine: true,
        with_permissions: api.rbac_permissions,
        lifetime_secs: state.token_lifetime_secs,
    };
    let issued = token::mint(ring.current(), &state.urls.issuer, &subject, now).map_err(|err| {
        tracing::error!(error = %err, "signing a token failed");
        OAuthError::server_error()
    })?;
    state.stats.record_issued(&client.client_id);
    tracing::info!(
        client_id = %client.client_id,
        audience = %audience,
        scope = %issued.scope,
        kid = %ring.current().kid(),
        "token issued"
    );
    Ok(issued)
}

/// The granted scopes, or the requested ones when the request names some. A requested scope
/// that is not granted is refused the way Auth0 refuses it (403 `access_denied`, "Client has not
/// been granted scopes: …").
fn narrow_scopes(granted: &[String], requested: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let Some(requested) = requested else {
        return Ok(granted.to_vec());
    };
    let requested: Vec<&str> = requested.split_whitespace().collect();
    let missing: Vec<&str> = requested
        .iter()
        .copied()
        .filter(|s| !granted.iter().any(|g| g == s))
        .collect();
    if !missing.is_empty() {
        return Err(OAuthError::access_denied(format!(
            "Client has not been granted scopes: {}",
            missing.join(" ")
        )));
    }
    // In the grant's order, once each, whatever order the request used.
    Ok(granted
        .iter()
        .filter(|g| requested.contains(&g.as_str()))
        .cloned()
        .collect())
}

/// Auth0's `organization` parameter: when given, it must be the client's organization.
fn check_organization(client: &Client, organization: Option<&str>) -> Result<(), OAuthError> {
    match organization {
        Some(org) if client.org_id.as_deref() != Some(org) => Err(OAuthError::access_denied(
            format!("Client is not authorized to access organization: {org}"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted() -> Vec<String> {
        vec!["read:a".into(), "write:a".into(), "batch:a".into()]
    }

    #[test]
    fn no_scope_parameter_gives_every_granted_scope() {
        assert_eq!(narrow_scopes(&granted(), None).unwrap(), granted());
    }

    #[test]
    fn a_scope_parameter_narrows_in_grant_order() {
        let scopes = narrow_scopes(&granted(), Some("batch:a read:a read:a")).unwrap();
        assert_eq!(scopes, vec!["read:a".to_owned(), "batch:a".to_owned()]);
    }

    #[test]
    fn an_ungranted_scope_is_access_denied_naming_it() {
        let err = narrow_scopes(&granted(), Some("read:a delete:a")).unwrap_err();
        assert_eq!(err.error, "access_denied");
        assert_eq!(
            err.description,
            "Client has not been granted scopes: delete:a"
        );
    }
}
