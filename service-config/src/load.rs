//! [`Loader`]: the sources of a configuration, merged and read into a [`Settings`] tree, with
//! every issue found in one pass.
//!
//! serde stops at the first bad value. To report them all, the merged tree is read again after
//! each failure with the offending key taken out (see `prune`), so that the next bad or unknown
//! key surfaces; when the tree finally reads, garde's rules and [`Settings::check`] run on it.
//! A required key that is missing is reported and its section taken out instead, so that the
//! search goes on elsewhere; only issues inside that section are left unseen.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::de::DeserializeOwned;

use crate::issue::key_path;
use crate::prune::{prune, value_at};
use crate::{ConfigError, Issues};

/// Bad keys reported at most per load: past this, a file is not a configuration at all.
const MAX_ISSUES: usize = 64;

/// A binary's configuration tree: serde for shapes and types, garde for the rules declared on
/// fields, [`Settings::check`] for rules across fields.
///
/// Field names are the keys as written in the file (no serde `rename`), so that garde's paths
/// and serde's agree.
pub trait Settings: DeserializeOwned + garde::Validate<Context = ()> {
    /// Rules across fields that no single field's rule can state (`max_stale` at least
    /// `refresh_interval`, ids unique across a list). Each issue names its key.
    fn check(&self, _issues: &mut Issues) {}
}

/// The sources of one configuration, in the order they override each other.
#[derive(Debug, Default)]
pub struct Loader {
    figment: Figment,
    unreadable: Option<ConfigError>,
}

impl Loader {
    /// No sources yet: every key takes its serde default.
    pub fn new() -> Self {
        Self::default()
    }

    /// A TOML file. It must be readable: a path given by an operator that cannot be read is an
    /// error, never an empty configuration.
    pub fn file(mut self, path: &Path) -> Self {
        if let Err(source) = std::fs::File::open(path) {
            self.unreadable.get_or_insert(ConfigError::Read {
                path: PathBuf::from(path),
                source,
            });
        }
        self.figment = self.figment.merge(Toml::file(path));
        self
    }

    /// [`Loader::file`] when a path is given (`--config` is optional for some binaries).
    pub fn optional_file(self, path: Option<&Path>) -> Self {
        match path {
            Some(path) => self.file(path),
            None => self,
        }
    }

    /// TOML text (tests and embedded defaults).
    pub fn toml(mut self, text: &str) -> Self {
        self.figment = self.figment.merge(Toml::string(text));
        self
    }

    /// Environment overrides `PREFIX…`, with `__` between levels: with the prefix `GATEWAY__`,
    /// `GATEWAY__JWKS__FETCH_TIMEOUT=1500ms` sets `[jwks] fetch_timeout`.
    pub fn env(mut self, prefix: &str) -> Self {
        self.figment = self.figment.merge(Env::prefixed(prefix).split("__"));
        self
    }

    /// One variable that sets one key under a name every tool knows (`DATABASE_URL`).
    pub fn env_alias(mut self, var: &'static str, key: &'static str) -> Self {
        self.figment = self
            .figment
            .merge(Env::raw().only(&[var]).map(move |_| key.into()));
        self
    }

    /// Merges the sources and reads them into `T`, reporting every issue found.
    pub fn load<T: Settings>(self) -> Result<T, ConfigError> {
        if let Some(err) = self.unreadable {
            return Err(err);
        }
        let mut issues = Issues::default();
        // A source that does not parse (TOML syntax) fails the merge; figment chains such
        // failures, one per source.
        let mut tree = match self.figment.find_value("") {
            Ok(tree) => tree,
            Err(err) => {
                for e in err {
                    let message = with_source(&e.kind.to_string(), &e, &e.path, None);
                    issues.push(key_path(&e.path), message);
                }
                return issues.into_result_never();
            }
        };
        let mut pruned: Vec<String> = Vec::new();
        while issues.len() < MAX_ISSUES {
            let err =
                match tree.deserialize::<T>() {
                    Ok(settings) => {
                        let mut rules = Issues::default();
                        if let Err(report) = settings.validate() {
                            for (path, error) in report.iter() {
                                let key = path.to_string();
                                let key = if key.is_empty() { "(root)".into() } else { key };
                                rules.push(key, error.message());
                            }
                        }
                        settings.check(&mut rules);
                        // What was taken out above stands at its default now: a rule about it
                        // ("at least one tenant") speaks of the stand-in, not of the file.
                        issues.extend(rules.into_vec().into_iter().filter(|issue| {
                            !pruned.iter().any(|cut| is_at_or_under(&issue.key, cut))
                        }));
                        return issues.into_result(settings);
                    }
                    Err(err) => err,
                };
            let path = error_path(&err);
            let key = key_path(&path);
            let missing = matches!(err.kind, figment::error::Kind::MissingField(_));
            // A missing key that was taken out above is only the echo of an issue already
            // reported.
            if !(missing && pruned.contains(&key)) {
                let origin =
                    value_at(&tree, &path).and_then(|v| self.figment.get_metadata(v.tag()));
                issues.push(
                    key.clone(),
                    with_source(&err.kind.to_string(), &err, &path, origin),
                );
            }
            // Past a bad value: take it out. Past a missing key: take out the section that
            // lacks it, which then takes its default (or is missing in turn, one level up).
            let cut = if missing {
                &path[..path.len().saturating_sub(1)]
            } else {
                &path[..]
            };
            match prune(&mut tree, cut) {
                Some(removed) => pruned.push(key_path(&removed)),
                None => break,
            }
        }
        issues.into_result_never()
    }
}

impl Issues {
    /// The issues as an error; only called once at least one was recorded.
    fn into_result_never<T>(self) -> Result<T, ConfigError> {
        Err(ConfigError::Invalid(self.into_vec()))
    }
}

/// Whether `key` is `cut` or a key inside it (`tenant[0].id` inside `tenant`).
fn is_at_or_under(key: &str, cut: &str) -> bool {
    key.strip_prefix(cut)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// The key an error is about. serde names an unknown or missing field in the error's kind;
/// figment may or may not have put it in the path as well.
fn error_path(err: &figment::Error) -> Vec<String> {
    use figment::error::Kind;
    let mut path = err.path.clone();
    let field = match &err.kind {
        Kind::UnknownField(field, _) => Some(field.clone()),
        Kind::MissingField(field) => Some(field.to_string()),
        _ => None,
    };
    if let Some(field) = field {
        if path.last() != Some(&field) {
            path.push(field);
        }
    }
    path
}

/// `message (in gateway.toml)` or `message (from GATEWAY__JWKS__FETCH_TIMEOUT)`: where the
/// value came from, when known, so an operator knows whether to fix the file or the environment.
fn with_source(
    message: &str,
    err: &figment::Error,
    path: &[String],
    origin: Option<&figment::Metadata>,
) -> String {
    let Some(meta) = origin.or(err.metadata.as_ref()) else {
        return message.to_owned();
    };
    if let Some(source) = &meta.source {
        return format!("{message} (in {source})");
    }
    // figment names an environment provider "`PREFIX` environment variable(s)" and its keys
    // without the prefix; an operator needs the variable as set.
    let prefix = meta
        .name
        .strip_prefix('`')
        .and_then(|rest| rest.split_once('`'))
        .map_or("", |(prefix, _)| prefix);
    let keys: Vec<String> = path.iter().map(|k| k.to_ascii_uppercase()).collect();
    if prefix.ends_with("__") {
        format!("{message} (from {prefix}{})", keys.join("__"))
    } else {
        format!("{message} (from {})", meta.name)
    }
}

#[cfg(test)]
mod tests;
