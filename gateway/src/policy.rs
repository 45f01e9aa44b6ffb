//! Route authorization: the [`RouteTable`] (method + path pattern → [`RouteRule`]), read from the
//! `[[route]]` sections, and [`authorize`], which checks a principal's scopes against a rule.
//!
//! Routes not listed are denied: [`RouteTable::find`] returns `None` and the proxy refuses the
//! request before any token work. Paths with dot segments (`.`, `..`, or their percent-encoded
//! forms) or empty segments never match, so a path the upstream would normalise differently cannot
//! slip past a rule.
//!
//! What it does not hold: token validation (`auth`) and the rendering of refusals (`respond`).

use serde::{Deserialize, Deserializer};
use service_config::Issues;
use timesheet_domain::{Principal, Scope};

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Whether a route needs any one of its scopes or all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeMode {
    #[default]
    Any,
    All,
}

/// `[[route]]`: one route and what it requires.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, garde::Validate)]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct RouteRule {
    /// Upper-case HTTP method (any case in the file), matched exactly.
    #[serde(deserialize_with = "uppercase")]
    #[garde(custom(listed_method))]
    pub method: String,
    pub path: PathPattern,
    #[serde(default)]
    pub scopes: Vec<Scope>,
    #[serde(default)]
    pub mode: ScopeMode,
    /// Served without a token (the OpenAPI document).
    #[serde(default)]
    pub public: bool,
}

impl RouteRule {
    /// The pattern as configured: a low-cardinality label for metrics and logs.
    pub fn label(&self) -> &str {
        self.path.as_str()
    }
}

fn uppercase<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    String::deserialize(deserializer).map(|m| m.to_ascii_uppercase())
}

fn listed_method(method: &str, _: &()) -> garde::Result {
    if METHODS.contains(&method) {
        return Ok(());
    }
    Err(garde::Error::new(format!(
        "{method:?} is not one of {}",
        METHODS.join(", ")
    )))
}

/// A route found by [`RouteTable::find`]: what a request carries from its one lookup to the
/// hooks that name its route, without copying the rule or its pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteId(usize);

/// The routes (`[[route]]`), matched in configuration order; the first match wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, garde::Validate)]
#[serde(transparent)]
#[garde(transparent)]
pub struct RouteTable {
    #[garde(dive)]
    routes: Vec<RouteRule>,
}

impl RouteTable {
    /// The rules across a route's fields and across routes: a public route takes no scopes,
    /// any other at least one, and no method and path are listed twice.
    pub fn check(&self, issues: &mut Issues) {
        for (i, route) in self.routes.iter().enumerate() {
            let scopes = match (route.public, route.scopes.is_empty()) {
                (true, false) => Some("a public route takes no scopes"),
                // An empty list would admit any valid token; say `public` or name the scopes.
                (false, true) => Some("a non-public route needs at least one scope"),
                _ => None,
            };
            if let Some(why) = scopes {
                issues.push(format!("route[{i}].scopes"), why);
            }
            let same = |r: &RouteRule| r.method == route.method && r.path == route.path;
            if let Some(j) = self.routes[..i].iter().position(same) {
                issues.push(format!("route[{i}].path"), format!("duplicates route[{j}]"));
            }
        }
    }

    /// The route of a request and its rule; `None` means the route is not listed and must be
    /// denied. `path` may carry a query string, which is ignored. The one lookup of a request:
    /// what comes after it reads the rule again through [`RouteTable::get`].
    pub fn find(&self, method: &str, path: &str) -> Option<(RouteId, &RouteRule)> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        self.routes
            .iter()
            .enumerate()
            .find(|(_, r)| r.method == method && r.path.matches(path))
            .map(|(i, rule)| (RouteId(i), rule))
    }

    /// The rule `id` names, when `id` was found in this table.
    pub fn get(&self, id: RouteId) -> Option<&RouteRule> {
        self.routes.get(id.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &RouteRule> {
        self.routes.iter()
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// A path pattern: literal segments, `{param}` segments (one non-empty segment each) and an
/// optional trailing `/*` (zero or more further segments).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PathPattern {
    raw: String,
    segments: Vec<Segment>,
    wildcard: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

impl TryFrom<String> for PathPattern {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw)
    }
}

impl PathPattern {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let Some(rest) = raw.strip_prefix('/') else {
            return Err("must start with /".to_owned());
        };
        let mut parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        let wildcard = parts.last() == Some(&"*");
        if wildcard {
            parts.pop();
        }
        let mut segments = Vec::with_capacity(parts.len());
        for part in parts {
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(format!("{part:?} is not a valid {{param}} segment"));
                }
                segments.push(Segment::Param);
            } else if part.is_empty() || is_dot_segment(part) {
                return Err("has an empty or dot segment".to_owned());
            } else if part.contains(['{', '}', '*', '?', '#', '%']) {
                return Err(format!(
                    "segment {part:?} mixes literal text with {{}}, *, ?, # or %; a wildcard \
                     is only allowed as a trailing /*"
                ));
            } else {
                segments.push(Segment::Literal(part.to_owned()));
            }
        }
        Ok(Self {
            raw: raw.to_owned(),
            segments,
            wildcard,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether `path` (no query) matches. Dot segments and empty segments never match.
    pub fn matches(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix('/') else {
            return false;
        };
        let mut parts = if rest.is_empty() {
            None
        } else {
            Some(rest.split('/'))
        }
        .into_iter()
        .flatten();
        for segment in &self.segments {
            match parts.next() {
                Some(part) if part.is_empty() || is_dot_segment(part) => return false,
                Some(part) => {
                    if let Segment::Literal(lit) = segment {
                        if lit != part {
                            return false;
                        }
                    }
                }
                None => return false,
            }
        }
        if self.wildcard {
            parts.all(|part| !is_dot_segment(part))
        } else {
            parts.next().is_none()
        }
    }
}

/// `.`/`..` including percent-encoded spellings (`%2e`, `.%2E`), which some upstreams decode
/// before normalising.
fn is_dot_segment(part: &str) -> bool {
    // Runs on every segment of every request path: no allocation, and anything longer than the
    // longest spelling (`%2e%2e`) is out after one comparison.
    if part.len() > 6 {
        return false;
    }
    let mut rest = part.as_bytes();
    let mut dots = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', e, tail @ ..] if e.eq_ignore_ascii_case(&b'e') => tail,
            _ => return false,
        };
        dots += 1;
    }
    dots == 1 || dots == 2
}

/// A principal lacks the scopes a route needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing scope")]
pub struct Denied {
    /// For `any`, every scope that would do; for `all`, the ones not held. This is the `scope`
    /// parameter of the 403 challenge.
    pub missing_scope: Vec<Scope>,
}

/// Checks `principal` against `rule`. Public rules always pass.
pub fn authorize(principal: &Principal, rule: &RouteRule) -> Result<(), Denied> {
    if rule.public {
        return Ok(());
    }
    let ok = match rule.mode {
        ScopeMode::Any => rule.scopes.iter().any(|s| principal.has(*s)),
        ScopeMode::All => rule.scopes.iter().all(|s| principal.has(*s)),
    };
    if ok {
        return Ok(());
    }
    let missing_scope = match rule.mode {
        ScopeMode::Any => rule.scopes.clone(),
        ScopeMode::All => rule
            .scopes
            .iter()
            .copied()
            .filter(|s| !principal.has(*s))
            .collect(),
    };
    Err(Denied { missing_scope })
}

#[cfg(test)]
mod tests;
