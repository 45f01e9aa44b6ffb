//! The token request's parameters, from either body Auth0 accepts: form-urlencoded (RFC 6749) or
//! a JSON object.

use std::collections::HashMap;

use axum::http::{header, HeaderMap};

use crate::error::OAuthError;

/// Request parameters by name. Empty values count as absent (RFC 6749 section 3.2: "parameters
/// sent without a value MUST be treated as if they were omitted").
#[derive(Default)]
pub struct TokenParams(HashMap<String, String>);

// Values include client secrets and assertions: never print them.
impl std::fmt::Debug for TokenParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl TokenParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Parses `body` according to its `Content-Type`.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        match content_type.as_str() {
            "application/x-www-form-urlencoded" => Self::from_form(body),
            "application/json" => Self::from_json(body),
            _ => Err(OAuthError::invalid_request(
                "Content-Type must be application/x-www-form-urlencoded or application/json",
            )),
        }
    }

    fn from_form(body: &[u8]) -> Result<Self, OAuthError> {
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::invalid_request(format!(
                    "Parameter must not be repeated: {name}"
                )));
            }
        }
        Ok(Self(params))
    }

    fn from_json(body: &[u8]) -> Result<Self, OAuthError> {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body)
            .map_err(|_| OAuthError::invalid_request("The body must be a JSON object"))?;
        let mut params = HashMap::new();
        for (name, value) in object {
            let value = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => continue,
                // Auth0 accepts `scope` as an array of strings as well as a string.
                serde_json::Value::Array(items) if name == "scope" => items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| {
                        OAuthError::invalid_request("Scope must be an array or a string")
                    })?
                    .join(" "),
                _ => {
                    return Err(OAuthError::invalid_request(format!(
                        "Parameter must be a string: {name}"
                    )))
                }
            };
            params.insert(name, value);
        }
        Ok(Self(params))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        headers
    }

    #[test]
    fn form_and_json_bodies_give_the_same_parameters() {
        let form = TokenParams::parse(
            &headers("application/x-www-form-urlencoded; charset=utf-8"),
            b"grant_type=client_credentials&scope=a+b&audience=",
        )
        .unwrap();
        let json = TokenParams::parse(
            &headers("application/json"),
            br#"{"grant_type":"client_credentials","scope":["a","b"]}"#,
        )
        .unwrap();
        for params in [form, json] {
            assert_eq!(params.get("grant_type"), Some("client_credentials"));
            assert_eq!(params.get("scope"), Some("a b"));
            assert_eq!(params.get("audience"), None);
        }
    }

    #[test]
    fn a_repeated_form_parameter_is_refused() {
        let err = TokenParams::parse(
            &headers("application/x-www-form-urlencoded"),
            b"audience=a&audience=b",
        )
        .unwrap_err();
        assert_eq!(err.error, "invalid_request");
    }

    #[test]
    fn debug_output_has_no_values() {
        let params = TokenParams::parse(
            &headers("application/x-www-form-urlencoded"),
            b"client_secret=hunter2",
        )
        .unwrap();
        assert!(!format!("{params:?}").contains("hunter2"));
    }
}
