use timesheet_domain::{PrincipalKind, ScopeSet, TenantId};

use super::*;

fn rule(method: &str, path: &str, scopes: &[&str], mode: ScopeMode, public: bool) -> RouteRule {
    RouteRule {
        method: method.to_owned(),
        path: PathPattern::parse(path).unwrap(),
        scopes: scopes.iter().map(|s| Scope::parse(s).unwrap()).collect(),
        mode,
        public,
    }
}

fn table() -> RouteTable {
    RouteTable {
        routes: vec![
            rule("GET", "/v1/openapi.json", &[], ScopeMode::Any, true),
            rule(
                "GET",
                "/v1/timesheets/entries",
                &["read:timesheets"],
                ScopeMode::Any,
                false,
            ),
            rule(
                "GET",
                "/v1/timesheets/entries/{id}",
                &["read:timesheets"],
                ScopeMode::Any,
                false,
            ),
            rule(
                "POST",
                "/v1/timesheets/weeks/{worker}/{week}/approve",
                &["approve:timesheets", "read:timesheets"],
                ScopeMode::All,
                false,
            ),
            rule(
                "POST",
                "/v1/timesheets/upload",
                &["batch:upload", "create:timesheets"],
                ScopeMode::Any,
                false,
            ),
            rule(
                "GET",
                "/v1/reports/*",
                &["read:timesheets"],
                ScopeMode::Any,
                false,
            ),
        ],
    }
}

fn principal(scopes: &str) -> Principal {
    Principal {
        tenant: TenantId::parse("exampleco").unwrap(),
        subject: "svc@clients".to_owned(),
        client_id: Some("svc".to_owned()),
        kind: PrincipalKind::Machine,
        scopes: ScopeSet::from_scope_str(scopes),
        token_id: None,
        token_expires_at: 0,
    }
}

#[test]
fn listed_routes_match_with_params_and_queries() {
    let t = table();
    assert_eq!(
        t.find("GET", "/v1/timesheets/entries/0193abc")
            .map(|(_, rule)| rule.label()),
        Some("/v1/timesheets/entries/{id}")
    );
    assert_eq!(
        t.find("GET", "/v1/timesheets/entries?limit=10")
            .map(|(_, rule)| rule.label()),
        Some("/v1/timesheets/entries")
    );
    assert!(t
        .find("POST", "/v1/timesheets/weeks/w-1/2026-W48/approve")
        .is_some());
    assert!(t.find("GET", "/v1/reports").is_some());
    assert!(t.find("GET", "/v1/reports/2026/q1").is_some());
}

#[test]
fn a_found_route_is_read_again_by_its_id() {
    let t = table();
    let (id, rule) = t.find("GET", "/v1/reports/2026/q1").unwrap();
    assert_eq!(t.get(id), Some(rule));
    assert_eq!(rule.label(), "/v1/reports/*");
}

#[test]
fn unlisted_routes_and_methods_are_not_found() {
    let t = table();
    assert!(t.find("DELETE", "/v1/timesheets/entries/1").is_none());
    assert!(t.find("GET", "/v1/admin").is_none());
    assert!(t.find("GET", "/v1/timesheets/entries/1/extra").is_none());
    assert!(t.find("get", "/v1/timesheets/entries").is_none());
    assert!(t.find("GET", "v1/timesheets/entries").is_none());
}

#[test]
fn dot_and_empty_segments_never_match() {
    let t = table();
    for path in [
        "/v1/timesheets/entries/..",
        "/v1/timesheets/entries/.",
        "/v1/timesheets/entries/%2e%2E",
        "/v1/timesheets/entries/.%2e",
        "/v1//timesheets/entries",
        "/v1/timesheets/entries/",
        "/v1/reports/../../admin",
    ] {
        assert!(t.find("GET", path).is_none(), "{path} matched");
    }
}

#[test]
fn every_spelling_of_dot_and_dot_dot_is_a_dot_segment_and_nothing_else_is() {
    for part in [".", "..", "%2e", "%2E", ".%2e", "%2E.", "%2e%2E", "%2E%2E"] {
        assert!(is_dot_segment(part), "{part:?} is a dot segment");
    }
    for part in [
        "",
        "...",
        "%2e%2e%2e",
        "%2",
        "%2f",
        "%2e%2",
        "a.",
        ".a",
        "%2ea",
        "%3e",
        "entries",
        "%2e%2e.",
        "timesheets..",
    ] {
        assert!(!is_dot_segment(part), "{part:?} is not a dot segment");
    }
}

#[test]
fn any_mode_needs_one_scope_and_names_all_alternatives() {
    let t = table();
    let (_, rule) = t.find("POST", "/v1/timesheets/upload").unwrap();
    assert!(authorize(&principal("create:timesheets"), rule).is_ok());
    let denied = authorize(&principal("read:timesheets"), rule).unwrap_err();
    assert_eq!(
        denied.missing_scope,
        [Scope::BatchUpload, Scope::CreateTimesheets]
    );
}

#[test]
fn all_mode_needs_every_scope_and_names_the_missing_ones() {
    let t = table();
    let (_, rule) = t
        .find("POST", "/v1/timesheets/weeks/w/2026-W01/approve")
        .unwrap();
    assert!(authorize(&principal("approve:timesheets read:timesheets"), rule).is_ok());
    let denied = authorize(&principal("read:timesheets"), rule).unwrap_err();
    assert_eq!(denied.missing_scope, [Scope::ApproveTimesheets]);
}

#[test]
fn public_routes_need_no_scope() {
    let t = table();
    let (_, rule) = t.find("GET", "/v1/openapi.json").unwrap();
    assert!(rule.public);
    assert!(authorize(&principal(""), rule).is_ok());
}

#[test]
fn patterns_that_could_match_what_they_do_not_say_are_refused() {
    assert!(PathPattern::parse("a").is_err());
    assert!(PathPattern::parse("/e/x*").is_err());
    assert!(PathPattern::parse("/a//b").is_err());
    assert!(PathPattern::parse("/a/{}").is_err());
    assert!(PathPattern::parse("/a/{id}/*").is_ok());
}
