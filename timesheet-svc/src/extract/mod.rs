//! Request extractors: each turns part of a request into a typed value or a problem response.

mod caller;
mod headers;
mod json;
mod query;

pub use caller::{authenticate, Caller};
pub use headers::{IdempotencyKey, IfMatch};
pub use json::{parse as parse_json_text, read_json_body, JsonBody};
pub use query::QueryPairs;
