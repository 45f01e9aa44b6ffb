//! JSON bodies, parsed with our errors: 415 for another media type, 400 for text that is not
//! JSON, 422 naming the field for JSON of the wrong shape.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use timesheet_domain::{Problem, ProblemType};

use crate::error::ApiError;

/// A JSON body of type `T`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let text = read_json_body(req, state).await?;
        parse(&text).map(JsonBody)
    }
}

/// Checks the content type and reads the body as UTF-8 text (bounded by the body limit layer).
pub async fn read_json_body<S: Send + Sync>(req: Request, state: &S) -> Result<String, ApiError> {
    if !is_json(req.headers()) {
        return Err(ApiError::with_detail(
            ProblemType::UnsupportedMediaType,
            "send Content-Type: application/json",
        ));
    }
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        let status = rejection.status();
        if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::with_detail(
                ProblemType::PayloadTooLarge,
                "the request body is too large",
            )
        } else {
            ApiError::with_detail(ProblemType::MalformedRequest, rejection.body_text())
        }
    })?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError::with_detail(ProblemType::MalformedRequest, "the body is not UTF-8"))
}

/// Parses JSON text: syntax errors are 400, shape errors 422 with the field's pointer.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    if let Err(err) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(ApiError::problem(
            Problem::new(ProblemType::MalformedRequest)
                .with_detail(format!("the body is not valid JSON: {err}")),
        ));
    }
    timesheet_domain::api::parse_json(text).map_err(ApiError::from)
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}
