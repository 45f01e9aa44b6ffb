//! Typed values of the request and response headers the API's write rules rely on.

/// An entry's version tag, from the `ETag` of `GET` (or `PATCH`) and sent back as `If-Match`, so
/// that a change is refused (412) when someone else changed the entry in between.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag(String);

impl ETag {
    /// Takes the header value as the server sent it (quotes included).
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ETag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An `Idempotency-Key`: the same key on a repeated create makes the server replay the first
/// answer instead of creating a second entry. 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    /// Checks the key as the server would; an invalid one fails with the reason.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN || !raw.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(format!(
                "an idempotency key is 1 to {} visible ASCII characters",
                Self::MAX_LEN
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A new random key (128 bits, hex), for a create that has no natural key of its own.
    /// Keep it with the request: a retry must reuse it.
    pub fn generate() -> Self {
        let bytes: [u8; 16] = rand::random();
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_checked_like_the_server_does() {
        assert!(IdempotencyKey::parse("import-2026-11-23-0001").is_ok());
        for bad in ["", "has space", "tab\t", "é", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        let a = IdempotencyKey::generate();
        assert_eq!(a.as_str().len(), 32);
        assert_ne!(a, IdempotencyKey::generate());
    }
}
