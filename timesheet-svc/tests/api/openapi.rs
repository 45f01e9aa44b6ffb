//! The OpenAPI document.

use serde_json::Value;

use crate::helpers::TestApp;

async fn openapi_json_is_an_openapi_3_1_document_of_the_v1_paths(app: TestApp) {
    // Act
    let response = app.get_public("/v1/openapi.json").await;

    // Assert
    response.assert_status(200);
    let content_type = response.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "content-type {content_type:?}"
    );
    let doc = response.json();
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.1"), "openapi {version:?}");
    let paths = doc["paths"].as_object().expect("a paths object");
    for path in [
        "/v1/timesheets/upload",
        "/v1/timesheets/entries",
        "/v1/approvals",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} is missing; paths: {:?}",
            paths.keys().collect::<Vec<_>>()
        );
    }
    let has = |prefix: &str, suffix: &str| {
        paths
            .keys()
            .any(|p| p.starts_with(prefix) && p.ends_with(suffix))
    };
    assert!(
        has("/v1/timesheets/entries/{", "}"),
        "the single-entry path is missing"
    );
    for action in ["/submit", "/approve", "/reject"] {
        assert!(
            has("/v1/timesheets/weeks/", action),
            "the week {action} path is missing"
        );
    }
    let entries = &paths["/v1/timesheets/entries"];
    assert!(entries.get("get").is_some() && entries.get("post").is_some());
    let single = paths
        .iter()
        .find(|(p, _)| p.starts_with("/v1/timesheets/entries/{"))
        .map(|(_, v)| v)
        .expect("single");
    for method in ["get", "patch", "delete"] {
        assert!(
            single.get(method).is_some(),
            "{method} of a single entry is missing"
        );
    }
    assert!(
        doc["components"]["schemas"]
            .as_object()
            .is_some_and(|s| !s.is_empty()),
        "no schemas"
    );
    assert!(doc
        .get("info")
        .and_then(|i| i.get("title"))
        .is_some_and(Value::is_string));
}
api_test!(openapi_json_is_an_openapi_3_1_document_of_the_v1_paths);
