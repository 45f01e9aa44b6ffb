//! What the gateway trusts signing keys from: the algorithms it verifies, and the URLs it
//! fetches keys from. Both the `[[tenant]]` rules (`tenant`) and the verifier and fetcher
//! (`auth`) apply them, so they sit below both.

use jsonwebtoken::Algorithm;

/// Algorithms a tenant may allow. Symmetric ones (HS*) never are: the gateway holds no shared
/// secrets, and an HS* allow-list is the classic "RSA public key as HMAC secret" confusion.
pub const SUPPORTED_ALGORITHMS: [Algorithm; 7] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// An absolute `https://` URL, or `http://` when allowed or on a loopback host (a local IdP).
/// Plain HTTP elsewhere would let anyone on the path substitute signing keys. (An http(s) URL
/// without a host does not parse.)
pub fn check_url(raw: &str, allow_http: bool) -> Result<(), String> {
    let url = reqwest::Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if allow_http || loopback => {}
        "http" => return Err("must be https (or set jwks.allow_http for a dev stack)".to_owned()),
        other => return Err(format!("scheme {other:?} is not http(s)")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_urls_need_a_host_https_and_no_credentials() {
        assert!(check_url("https://idp.example/jwks.json", false).is_ok());
        assert!(check_url("http://127.0.0.1:8090/jwks.json", false).is_ok());
        for bad in [
            "http://",
            "https://:443/jwks.json",
            "http://idp.example/jwks.json",
            "ftp://idp.example/jwks.json",
            "https://user:pw@idp.example/jwks.json",
            "/jwks.json",
        ] {
            assert!(check_url(bad, false).is_err(), "{bad}");
        }
        assert!(check_url("http://idp.example/jwks.json", true).is_ok());
    }
}
