//! dev-idp (placeholder).
#![forbid(unsafe_code)]
fn main() {}
