//! Query strings as ordered pairs, so each route can refuse unknown parameters by name.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use timesheet_domain::ValidationError;

use crate::error::ApiError;

/// The query's `name=value` pairs, decoded, in order.
#[derive(Debug, Clone, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    /// Refuses any parameter not in `known`, and any given twice.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        let mut seen = std::collections::HashSet::new();
        for (name, _) in &self.0 {
            if !known.contains(&name.as_str()) {
                return Err(ValidationError::new(
                    name.clone(),
                    format!("unknown query parameter; known: {}", known.join(", ")),
                )
                .into());
            }
            if !seen.insert(name.as_str()) {
                return Err(ValidationError::new(name.clone(), "given more than once").into());
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parses parameter `name` with `parse`, naming it in the error.
    pub fn parse<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Result<T, ValidationError>,
    ) -> Result<Option<T>, ApiError> {
        self.get(name)
            .map(|raw| parse(raw).map_err(|e| ApiError::from(e.within(name))))
            .transpose()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::from(ValidationError::new("query", e.body_text())))?;
        Ok(Self(pairs))
    }
}
