//! `GET /metrics`: the Prometheus exposition reflects the requests the service answered.

use uuid::Uuid;

use crate::helpers::{admin, days_ago, item, TestApp};

/// The value of the series written exactly as `series` (name and labels), or 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().expect("a number"))
}

async fn metrics_count_requests_by_route_template_and_uploads_by_outcome(app: TestApp) {
    // Arrange: one upload with a good and a bad item, one read of an unknown id.
    let entries = vec![
        item("m-1", "w-1", &days_ago(1), 60),
        item("m-2", "w-1", &days_ago(1), 0),
    ];
    app.given_upload("metrics", entries).await;
    app.get_entry(&admin(), &Uuid::now_v7().to_string())
        .await
        .assert_status(404);

    // Act
    let response = app.get_public("/metrics").await;

    // Assert
    response.assert_status(200);
    let text = &response.body;
    assert_eq!(
        sample(
            text,
            r#"timesheet_http_requests_total{method="POST",route="/v1/timesheets/upload",status="200"}"#
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sample(
            text,
            r#"timesheet_http_requests_total{method="GET",route="/v1/timesheets/entries/{id}",status="404"}"#
        ),
        1.0,
        "the route label is the template, never the id: {text}"
    );
    assert_eq!(
        sample(text, r#"timesheet_upload_items_total{outcome="created"}"#),
        1.0
    );
    assert_eq!(
        sample(text, r#"timesheet_upload_items_total{outcome="rejected"}"#),
        1.0
    );
    assert_eq!(sample(text, "timesheet_upload_batch_size_sum"), 2.0);
    assert!(
        sample(text, "timesheet_db_pool_max_connections") >= 1.0,
        "{text}"
    );
    assert!(!text.contains(&days_ago(1)), "no entry data in labels");
}
api_test!(metrics_count_requests_by_route_template_and_uploads_by_outcome);

async fn unknown_paths_are_counted_under_one_label(app: TestApp) {
    // Arrange
    for n in 0..3 {
        app.get_public(&format!("/no/such/path/{n}")).await;
    }

    // Act
    let text = app.get_public("/metrics").await.body;

    // Assert
    assert!(!text.contains("/no/such/path"), "{text}");
    assert_eq!(
        sample(
            &text,
            r#"timesheet_http_requests_total{method="GET",route="unmatched",status="401"}"#
        ),
        3.0,
        "{text}"
    );
}
api_test!(unknown_paths_are_counted_under_one_label);
