//! One place for the rules every bounded text value shares.

use crate::ValidationError;

/// Checks a trimmed, non-empty string of at most `max` characters whose characters all satisfy
/// `allowed`, and returns it owned. `what` names the accepted characters in the message.
pub(crate) fn bounded(
    field: &str,
    raw: &str,
    max: usize,
    allowed: impl Fn(char) -> bool,
    what: &str,
) -> Result<String, ValidationError> {
    if raw.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if raw.trim() != raw {
        return Err(ValidationError::new(
            field,
            "must not start or end with whitespace",
        ));
    }
    let len = raw.chars().count();
    if len > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters, got {len}"),
        ));
    }
    if let Some(bad) = raw.chars().find(|c| !allowed(*c)) {
        return Err(ValidationError::new(
            field,
            format!("contains {bad:?}; allowed: {what}"),
        ));
    }
    Ok(raw.to_owned())
}

/// Printable text: anything but control characters.
pub(crate) fn is_printable(c: char) -> bool {
    !c.is_control()
}

/// Implements the serde and display plumbing shared by the string newtypes: `Display`,
/// `AsRef<str>`, `TryFrom<String>` (so `#[serde(try_from = "String")]` parses) and `Into<String>`.
macro_rules! string_newtype {
    ($name:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = $crate::ValidationError;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(&raw)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
        impl std::str::FromStr for $name {
            type Err = $crate::ValidationError;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw)
            }
        }
    };
}
pub(crate) use string_newtype;
