//! The OpenAPI 3.1 document, generated from the handlers' annotations and the wire types, so it
//! cannot drift from the code.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ExampleCo Timesheets API",
        description = "Time entries of employees and contractors. Reached through the gateway, \
                       which validates OAuth 2.0 access tokens (scopes per operation) and forwards \
                       a signed identity assertion. Errors are RFC 9457 problem details."
    ),
    paths(
        super::entries::upload_entries,
        super::entries::create_entry,
        super::entries::list_entries,
        super::entries::get_entry,
        super::entries::patch_entry,
        super::entries::delete_entry,
        super::weeks::submit_week,
        super::weeks::approve_week,
        super::weeks::reject_week,
        super::weeks::list_approvals,
    ),
    modifiers(&GatewaySecurity),
    tags(
        (name = "entries", description = "Time entries"),
        (name = "weeks", description = "Submission and approval of weeks"),
    )
)]
pub struct ApiDoc;

/// Declares the `gateway` security scheme the operations refer to.
struct GatewaySecurity;

impl Modify for GatewaySecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "gateway",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                identity_assertion::HEADER,
                "Set by the gateway from a validated OAuth 2.0 Bearer token; clients send \
                 Authorization: Bearer <access token> to the gateway",
            ))),
        );
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/v1/openapi.json", get(openapi_json))
}

async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
