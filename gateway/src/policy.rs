//! Route authorization: the [`RouteTable`] (method + path pattern → [`RouteRule`]) and
//! [`authorize`], which checks a principal's scopes against a rule.
//!
//! Routes not listed are denied: [`RouteTable::find`] returns `None` and the proxy refuses the
//! request before any token work. Paths with dot segments (`.`, `..`, or their percent-encoded
//! forms) or empty segments never match, so a path the upstream would normalise differently cannot
//! slip past a rule.
//!
//! What it does not hold: token validation (`auth`) and the rendering of refusals (`respond`).

use serde::Deserialize;
use timesheet_domain::{Principal, Scope};

use crate::config::{route_key, ConfigIssue};

/// Name of the route array in the config file (`[[route]]`).
pub(crate) const RAW_ROUTE_KEY: &str = "route";

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// `[[route]]` as written in the file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    method: String,
    path: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    mode: ScopeMode,
    #[serde(default)]
    public: bool,
}

/// Whether a route needs any one of its scopes or all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeMode {
    #[default]
    Any,
    All,
}

/// One route and what it requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    /// Upper-case HTTP method, matched exactly.
    pub method: String,
    pub pattern: PathPattern,
    pub scopes: Vec<Scope>,
    pub mode: ScopeMode,
    /// Served without a token (the OpenAPI document).
    pub public: bool,
}

impl RouteRule {
    /// The pattern as configured: a low-cardinality label for metrics and logs.
    pub fn label(&self) -> &str {
        self.pattern.as_str()
    }
}

/// The routes, matched in configuration order; the first match wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<RouteRule>,
}

impl RouteTable {
    pub(crate) fn from_raw(raw: Vec<RawRoute>) -> Result<Self, Vec<ConfigIssue>> {
        let mut issues = Vec::new();
        let mut routes: Vec<RouteRule> = Vec::with_capacity(raw.len());
        for (i, route) in raw.into_iter().enumerate() {
            let before = issues.len();
            let method = route.method.to_ascii_uppercase();
            if !METHODS.contains(&method.as_str()) {
                issues.push(ConfigIssue::new(
                    route_key(i, "method"),
                    format!("{:?} is not one of {}", route.method, METHODS.join(", ")),
                ));
            }
            let pattern = PathPattern::parse(&route.path)
                .map_err(|why| issues.push(ConfigIssue::new(route_key(i, "path"), why)))
                .ok();
            let mut scopes = Vec::with_capacity(route.scopes.len());
            for (s, raw_scope) in route.scopes.iter().enumerate() {
                match Scope::parse(raw_scope) {
                    Some(scope) => scopes.push(scope),
                    None => issues.push(ConfigIssue::new(
                        route_key(i, &format!("scopes[{s}]")),
                        format!("{raw_scope:?} is not a scope of this API"),
                    )),
                }
            }
            if route.public && !route.scopes.is_empty() {
                issues.push(ConfigIssue::new(
                    route_key(i, "scopes"),
                    "a public route takes no scopes",
                ));
            }
            if !route.public && route.scopes.is_empty() {
                // An empty list would admit any valid token; say `public` or name the scopes.
                issues.push(ConfigIssue::new(
                    route_key(i, "scopes"),
                    "a non-public route needs at least one scope",
                ));
            }
            let Some(pattern) = pattern else { continue };
            if issues.len() != before {
                continue;
            }
            if let Some(j) = routes
                .iter()
                .position(|r| r.method == method && r.pattern == pattern)
            {
                issues.push(ConfigIssue::new(
                    route_key(i, "path"),
                    format!("duplicates route[{j}]"),
                ));
                continue;
            }
            routes.push(RouteRule {
                method,
                pattern,
                scopes,
                mode: route.mode,
                public: route.public,
            });
        }
        if issues.is_empty() {
            Ok(Self { routes })
        } else {
            Err(issues)
        }
    }

    /// The rule for a request; `None` means the route is not listed and must be denied.
    /// `path` may carry a query string, which is ignored.
    pub fn find(&self, method: &str, path: &str) -> Option<&RouteRule> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        self.routes
            .iter()
            .find(|r| r.method == method && r.pattern.matches(path))
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
