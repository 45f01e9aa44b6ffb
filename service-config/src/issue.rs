//! What is wrong with a configuration: [`ConfigIssue`]s, each naming its key, gathered in
//! [`Issues`] and returned as one [`ConfigError`].

use std::fmt;
use std::path::PathBuf;

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named on the command line cannot be read.
    #[error("reading configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The values are unusable; every issue found, in the order found.
    #[error("{}", Issues::joined(.0))]
    Invalid(Vec<ConfigIssue>),
}

impl ConfigError {
    /// The issues, or the read failure as one issue keyed by the file.
    pub fn issues(&self) -> Vec<ConfigIssue> {
        match self {
            ConfigError::Read { path, source } => vec![ConfigIssue::new(
                path.display().to_string(),
                format!("cannot be read ({source})"),
            )],
            ConfigError::Invalid(issues) => issues.clone(),
        }
    }

    /// Whether some issue names `key` exactly.
    pub fn names(&self, key: &str) -> bool {
        matches!(self, ConfigError::Invalid(issues) if issues.iter().any(|i| i.key == key))
    }
}

/// One unusable key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigIssue {
    /// The key as an operator writes it: `tenant[1].issuer`, `jwks.fetch_timeout`.
    pub key: String,
    pub message: String,
}

impl ConfigIssue {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Issues gathered while checking; [`Settings::check`](crate::Settings::check) adds to it.
#[derive(Debug, Default)]
pub struct Issues(Vec<ConfigIssue>);

impl Issues {
    /// Records that `key` is unusable.
    pub fn push(&mut self, key: impl Into<String>, message: impl fmt::Display) {
        self.0.push(ConfigIssue::new(key, message.to_string()));
    }

    /// Records issues found elsewhere (a registry built from the sections).
    pub fn extend(&mut self, more: impl IntoIterator<Item = ConfigIssue>) {
        self.0.extend(more);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `Ok(value)` when nothing was recorded, else every issue.
    pub fn into_result<T>(self, value: T) -> Result<T, ConfigError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(ConfigError::Invalid(self.0))
        }
    }

    pub(crate) fn into_vec(self) -> Vec<ConfigIssue> {
        self.0
    }

    fn joined(issues: &[ConfigIssue]) -> String {
        issues
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// `["tenant", "1", "issuer"]` → `tenant[1].issuer`; the empty path is the file's root.
pub(crate) fn key_path<S: AsRef<str>>(path: &[S]) -> String {
    let mut key = String::new();
    for part in path {
        let part = part.as_ref();
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            key.push('[');
            key.push_str(part);
            key.push(']');
        } else {
            if !key.is_empty() {
                key.push('.');
            }
            key.push_str(part);
        }
    }
    if key.is_empty() {
        key.push_str("(root)");
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_read_as_an_operator_writes_them() {
        assert_eq!(key_path(&["tenant", "1", "issuer"]), "tenant[1].issuer");
        assert_eq!(key_path(&["jwks", "fetch_timeout"]), "jwks.fetch_timeout");
        assert_eq!(key_path::<&str>(&[]), "(root)");
    }

    #[test]
    fn issues_become_one_error_listing_each_key() {
        let mut issues = Issues::default();
        assert!(issues.is_empty());
        issues.push("a.b", "must be at least 1");
        issues.push("c", "unknown key");
        let err = issues.into_result(()).unwrap_err();
        assert_eq!(err.to_string(), "a.b: must be at least 1; c: unknown key");
        assert!(err.names("c"));
        assert!(!err.names("a"));
    }
}
