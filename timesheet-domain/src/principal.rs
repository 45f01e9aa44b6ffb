//! Who is calling: the principal the gateway verified and asserts to the service.

use serde::{Deserialize, Serialize};

use crate::TenantId;

/// A permission the API knows. Scopes the API does not know are dropped when a [`ScopeSet`] is
/// built, so a token can carry scopes of other APIs without effect. Read from a configuration
/// by its name (`read:timesheets`); an unknown name is refused there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub enum Scope {
    ReadTimesheets,
    CreateTimesheets,
    UpdateTimesheets,
    DeleteTimesheets,
    ApproveTimesheets,
    BatchUpload,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::ReadTimesheets,
        Scope::CreateTimesheets,
        Scope::UpdateTimesheets,
        Scope::DeleteTimesheets,
        Scope::ApproveTimesheets,
        Scope::BatchUpload,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadTimesheets => "read:timesheets",
            Self::CreateTimesheets => "create:timesheets",
            Self::UpdateTimesheets => "update:timesheets",
            Self::DeleteTimesheets => "delete:timesheets",
            Self::ApproveTimesheets => "approve:timesheets",
            Self::BatchUpload => "batch:upload",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl TryFrom<String> for Scope {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw).ok_or_else(|| format!("{raw:?} is not a scope of this API"))
    }
}

/// A set of [`Scope`]s, as compact as a byte. Serialized as the OAuth space-separated string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct ScopeSet(u8);

impl ScopeSet {
    /// Parses a space-separated scope string; unknown scopes are ignored.
    pub fn from_scope_str(raw: &str) -> Self {
        Self::from_iter(raw.split_ascii_whitespace().filter_map(Scope::parse))
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = Self::default();
        for scope in iter {
            set.insert(scope);
        }
        set
    }
}

impl From<String> for ScopeSet {
    fn from(raw: String) -> Self {
        Self::from_scope_str(&raw)
    }
}

impl From<ScopeSet> for String {
    fn from(set: ScopeSet) -> String {
        set.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }
}

/// A person (a user token) or an application (a client-credentials token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    User,
    Machine,
}

/// The verified caller of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub tenant: TenantId,
    /// The token's `sub`: `CLIENT_ID@clients` for machines, the user id for people.
    pub subject: String,
    /// The OAuth client the token was issued to (`azp`/`client_id`), when the token says.
    pub client_id: Option<String>,
    pub kind: PrincipalKind,
    pub scopes: ScopeSet,
    /// The access token's `jti`, when it has one; for audit trails, not for authorization.
    pub token_id: Option<String>,
    /// When the access token expires (Unix seconds).
    pub token_expires_at: i64,
}

impl Principal {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }

    pub fn is_machine(&self) -> bool {
        self.kind == PrincipalKind::Machine
    }

    /// People see and change only their own entries unless they may approve; machines act for
    /// their whole tenant.
    pub fn sees_whole_tenant(&self) -> bool {
        self.is_machine() || self.has(Scope::ApproveTimesheets)
    }

    /// What audit columns (`created_by`, `updated_by`) record: the subject.
    pub fn actor(&self) -> &str {
        &self.subject
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_strings_keep_known_scopes_only() {
        let set = ScopeSet::from_scope_str("read:timesheets  openid batch:upload read:timesheets");
        assert!(set.contains(Scope::ReadTimesheets));
        assert!(set.contains(Scope::BatchUpload));
        assert!(!set.contains(Scope::ApproveTimesheets));
        assert_eq!(String::from(set), "read:timesheets batch:upload");
    }

    #[test]
    fn a_scope_is_read_by_its_name_and_an_unknown_name_is_refused() {
        let scope: Scope = serde_json::from_str("\"approve:timesheets\"").unwrap();
        assert_eq!(scope, Scope::ApproveTimesheets);
        let err = serde_json::from_str::<Scope>("\"approve:everything\"").unwrap_err();
        assert!(
            err.to_string().contains("is not a scope of this API"),
            "{err}"
        );
    }

    #[test]
    fn an_empty_scope_string_grants_nothing() {
        assert_eq!(ScopeSet::from_scope_str("").iter().count(), 0);
    }
}
