//! Bad input, and how it is reported: RFC 9457 problems with the right status and type, and a
//! pointer at the field at fault.

use reqwest::Method;
use serde_json::{json, Map, Value};
use timesheet_domain::ProblemType;

use crate::helpers::{admin, days_ago, entry_body, item, TestApp, TestResponse};

mod mutation;

/// `POST /v1/timesheets/entries` with a valid body changed by `edit`.
async fn create_with(app: &TestApp, edit: impl FnOnce(&mut Map<String, Value>)) -> TestResponse {
    let mut body = entry_body("w-p", &days_ago(3), 60);
    body["external_id"] = json!("p-1");
    edit(body.as_object_mut().expect("an object"));
    app.create_entry(&admin(), body).await
}

async fn malformed_json_is_400_malformed_request(app: TestApp) {
    for raw in [r#"{"date": "2026-11-23", "#, "not json", "", "[1, 2"] {
        // Act
        let entries = app
            .call(Method::POST, "/v1/timesheets/entries", &admin())
            .raw("application/json", raw)
            .send()
            .await;
        let upload = app
            .call(Method::POST, "/v1/timesheets/upload", &admin())
            .raw("application/json", raw)
            .send()
            .await;

        // Assert
        entries.assert_problem(ProblemType::MalformedRequest);
        upload.assert_problem(ProblemType::MalformedRequest);
    }
}
api_test!(malformed_json_is_400_malformed_request);

async fn a_body_that_is_not_json_content_is_415(app: TestApp) {
    let body = serde_json::to_vec(&entry_body("w-p", &days_ago(3), 60)).expect("json");
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
        // Act
        let entries = app
            .call(Method::POST, "/v1/timesheets/entries", &admin())
            .raw(content_type, body.clone())
            .send()
            .await;
        let upload = app
            .call(Method::POST, "/v1/timesheets/upload", &admin())
            .raw(content_type, br#"{"source":"s","entries":[]}"#.to_vec())
            .send()
            .await;

        // Assert
        entries.assert_problem(ProblemType::UnsupportedMediaType);
        upload.assert_problem(ProblemType::UnsupportedMediaType);
    }
    assert!(app.all_entries("worker=w-p").await.is_empty());
}
api_test!(a_body_that_is_not_json_content_is_415);

async fn json_with_a_charset_parameter_is_accepted(app: TestApp) {
    // Arrange
    let body = serde_json::to_vec(&entry_body("w-p", &days_ago(3), 60)).expect("json");

    // Act
    let response = app
        .call(Method::POST, "/v1/timesheets/entries", &admin())
        .raw("application/json; charset=utf-8", body)
        .send()
        .await;

    // Assert
    response.assert_status(201);
}
api_test!(json_with_a_charset_parameter_is_accepted);

async fn wrong_types_are_422_naming_the_field(app: TestApp) {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("minutes", json!("sixty"), "/minutes"),
        ("minutes", json!(7.5), "/minutes"),
        ("billable", json!("yes"), "/billable"),
        ("date", json!(20261123), "/date"),
        ("project", json!(["P"]), "/project"),
        ("worker", json!("w-p"), "/worker"),
        ("notes", json!({"text": "x"}), "/notes"),
    ];
    for (field, value, pointer) in cases {
        // Act
        let response = create_with(&app, |b| {
            b.insert(field.to_owned(), value);
        })
        .await;

        // Assert
        response.assert_invalid_field(pointer);
    }
    let nested = create_with(&app, |b| {
        b.insert(
            "worker".into(),
            json!({"external_id": "w-p", "kind": "intern"}),
        );
    })
    .await;
    nested.assert_invalid_field("/worker/kind");
}
api_test!(wrong_types_are_422_naming_the_field);

async fn unknown_fields_are_422_naming_the_field(app: TestApp) {
    // Act
    let top = create_with(&app, |b| {
        b.insert("colour".into(), json!("red"));
    })
    .await;
    let nested = create_with(&app, |b| {
        b.insert(
            "worker".into(),
            json!({"external_id": "w-p", "kind": "employee", "age": 3}),
        );
    })
    .await;

    // Assert
    top.assert_invalid_field("/colour");
    nested.assert_invalid_field("/worker/age");
}
api_test!(unknown_fields_are_422_naming_the_field);

async fn missing_required_fields_are_422_naming_the_field(app: TestApp) {
    for (field, pointer) in [
        ("date", "/date"),
        ("project", "/project"),
        ("minutes", "/minutes"),
    ] {
        // Act
        let response = create_with(&app, |b| {
            b.remove(field);
        })
        .await;

        // Assert
        response.assert_invalid_field(pointer);
    }
    let no_worker_id = create_with(&app, |b| {
        b.insert("worker".into(), json!({"kind": "employee"}));
    })
    .await;
    no_worker_id.assert_invalid_field("/worker/external_id");
}
api_test!(missing_required_fields_are_422_naming_the_field);

async fn minutes_must_be_between_1_and_1440(app: TestApp) {
    for minutes in [json!(0), json!(-1), json!(1441), json!(100_000)] {
        // Act
        let response = create_with(&app, |b| {
            b.insert("minutes".into(), minutes);
        })
        .await;

        // Assert
        response.assert_invalid_field("/minutes");
    }
    let both = create_with(&app, |b| {
        b.insert("hours".into(), json!("1"));
    })
    .await;
    both.assert_problem(ProblemType::ValidationError);
    let odd_hours = create_with(&app, |b| {
        b.remove("minutes");
        b.insert("hours".into(), json!("7.51"));
    })
    .await;
    odd_hours.assert_invalid_field("/hours");
    let max = create_with(&app, |b| {
        b.insert("minutes".into(), json!(1440));
    })
    .await;
    max.assert_status(201);
    assert_eq!(app.all_entries("worker=w-p").await.len(), 1);
}
api_test!(minutes_must_be_between_1_and_1440);

async fn over_long_strings_are_422_naming_the_field(app: TestApp) {
    // Act
    let notes = create_with(&app, |b| {
        b.insert("notes".into(), json!("n".repeat(2001)));
    })
    .await;
    let external_id = create_with(&app, |b| {
        b.insert("external_id".into(), json!("x".repeat(129)));
    })
    .await;
    let worker_id = create_with(&app, |b| {
        b.insert(
            "worker".into(),
            json!({"external_id": "w".repeat(129), "kind": "employee"}),
        );
    })
    .await;
    let longest = create_with(&app, |b| {
        b.insert("notes".into(), json!("n".repeat(2000)));
        b.insert("external_id".into(), json!("x".repeat(128)));
    })
    .await;

    // Assert
    notes.assert_invalid_field("/notes");
    external_id.assert_invalid_field("/external_id");
    worker_id.assert_invalid_field("/worker/external_id");
    longest.assert_status(201);
}
api_test!(over_long_strings_are_422_naming_the_field);

async fn invalid_and_out_of_window_dates_are_422_naming_the_date(app: TestApp) {
    let dates = [
        "2026-02-30".to_owned(),
        "2026-13-01".to_owned(),
        "23/11/2026".to_owned(),
        "2026-11-23T10:00:00Z".to_owned(),
        days_ago(-400),
        days_ago(1000),
    ];
    for date in dates {
        // Act
        let response = create_with(&app, |b| {
            b.insert("date".into(), json!(date));
        })
        .await;

        // Assert
        response.assert_invalid_field("/date");
    }
    assert!(app.all_entries("worker=w-p").await.is_empty());
}
api_test!(invalid_and_out_of_window_dates_are_422_naming_the_date);

async fn upload_bodies_of_the_wrong_shape_are_422(app: TestApp) {
    // Act
    let no_source = app
        .request(
            Method::POST,
            "/v1/timesheets/upload",
            &admin(),
            Some(json!({"entries": [item("a", "w", &days_ago(2), 5)]})),
        )
        .await;
    let not_a_list = app
        .request(
            Method::POST,
            "/v1/timesheets/upload",
            &admin(),
            Some(json!({"source": "s", "entries": {"a": 1}})),
        )
        .await;
    let extra = app
        .request(
            Method::POST,
            "/v1/timesheets/upload",
            &admin(),
            Some(json!({"source": "s", "entries": [], "dry_run": true})),
        )
        .await;

    // Assert
    no_source.assert_invalid_field("/source");
    not_a_list.assert_invalid_field("/entries");
    extra.assert_invalid_field("/dry_run");
}
api_test!(upload_bodies_of_the_wrong_shape_are_422);

async fn unknown_or_invalid_query_parameters_are_422_naming_them(app: TestApp) {
    let cases = [
        ("colour=red", "colour"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=abc", "limit"),
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
        ("updated_since=2026-11-23", "updated_since"),
        ("status=bogus", "status"),
        ("cursor=garbage", "cursor"),
        ("worker=", "worker"),
    ];
    for (query, param) in cases {
        // Act
        let response = app.list_entries(&admin(), query).await;

        // Assert
        let problem = response.assert_problem(ProblemType::ValidationError);
        let named = problem.errors.iter().any(|e| e.pointer.contains(param))
            || problem.detail.as_deref().is_some_and(|d| d.contains(param));
        assert!(
            named,
            "{query}: the problem does not name {param}: {}",
            response.body
        );
    }
    let limits = app.list_entries(&admin(), "limit=1&limit=1000").await;
    assert!(
        limits.status == 200 || limits.status == 422,
        "{}",
        limits.body
    );
    app.list_entries(&admin(), "limit=1000")
        .await
        .assert_status(200);
    app.list_entries(&admin(), "limit=1")
        .await
        .assert_status(200);
}
api_test!(unknown_or_invalid_query_parameters_are_422_naming_them);

async fn unknown_routes_are_404_problems(app: TestApp) {
    // Act
    let response = app
        .request(Method::GET, "/v1/timesheets/nothing-here", &admin(), None)
        .await;

    // Assert
    response.assert_problem(ProblemType::NotFound);
}
api_test!(unknown_routes_are_404_problems);

async fn the_date_window_bounds_are_inclusive(app: TestApp) {
    // Arrange
    let window = crate::helpers::DATE_WINDOW;
    let past = i64::from(window.past_days);
    let future = i64::from(window.future_days);

    // Act
    let earliest = create_with(&app, |b| {
        b.insert("date".into(), json!(days_ago(past)));
        b.insert("external_id".into(), json!("earliest"));
    })
    .await;
    let latest = create_with(&app, |b| {
        b.insert("date".into(), json!(days_ago(-future)));
        b.insert("external_id".into(), json!("latest"));
    })
    .await;
    let too_old = create_with(&app, |b| {
        b.insert("date".into(), json!(days_ago(past + 1)));
    })
    .await;
    let too_new = create_with(&app, |b| {
        b.insert("date".into(), json!(days_ago(-future - 1)));
    })
    .await;

    // Assert
    earliest.assert_status(201);
    latest.assert_status(201);
    too_old.assert_invalid_field("/date");
    too_new.assert_invalid_field("/date");
}
api_test!(the_date_window_bounds_are_inclusive);

async fn bad_values_inside_strings_are_422_naming_the_field(app: TestApp) {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("notes", json!("bell\u{7}"), "/notes"),
        ("project", json!(""), "/project"),
        ("project", json!("P".repeat(33)), "/project"),
        ("external_id", json!(" padded"), "/external_id"),
        (
            "worker",
            json!({"external_id": "w-p", "kind": "employee", "email": "not-an-email"}),
            "/worker/email",
        ),
        (
            "worker",
            json!({"external_id": "w-p", "kind": "employee", "name": "n".repeat(201)}),
            "/worker/name",
        ),
        (
            "worker",
            json!({"external_id": "", "kind": "employee"}),
            "/worker/external_id",
        ),
    ];
    for (field, value, pointer) in cases {
        // Act
        let response = create_with(&app, |b| {
            b.insert(field.to_owned(), value);
        })
        .await;

        // Assert
        response.assert_invalid_field(pointer);
    }
    let newline = create_with(&app, |b| {
        b.insert("notes".into(), json!("line one\n\tline two"));
    })
    .await;
    newline.assert_status(201);
}
api_test!(bad_values_inside_strings_are_422_naming_the_field);

async fn an_oversized_body_is_413_payload_too_large(app: TestApp) {
    // Arrange: 20 MB, far past any sensible body limit.
    let body = format!(
        r#"{{"source":"s","entries":[{{"notes":"{}"}}]}}"#,
        "n".repeat(20_000_000)
    );

    // Act
    let upload = app
        .call(Method::POST, "/v1/timesheets/upload", &admin())
        .raw("application/json", body.clone())
        .send()
        .await;
    let single = app
        .call(Method::POST, "/v1/timesheets/entries", &admin())
        .raw("application/json", body)
        .send()
        .await;

    // Assert
    upload.assert_problem(ProblemType::PayloadTooLarge);
    single.assert_problem(ProblemType::PayloadTooLarge);
}
api_test!(an_oversized_body_is_413_payload_too_large);

async fn bodies_that_are_not_utf8_are_400_malformed_request(app: TestApp) {
    // Arrange
    let body = vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}'];

    // Act
    let response = app
        .call(Method::POST, "/v1/timesheets/entries", &admin())
        .raw("application/json", body)
        .send()
        .await;

    // Assert
    response.assert_problem(ProblemType::MalformedRequest);
}
api_test!(bodies_that_are_not_utf8_are_400_malformed_request);

async fn odd_but_well_formed_json_is_a_4xx_problem(app: TestApp) {
    // Arrange
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let bodies = [
        deep.clone(),
        format!(r#"{{"source":"s","entries":[{deep}]}}"#),
        "null".to_owned(),
        r#"{"date":"2026-11-20","project":"P","minutes":5,"minutes":6}"#.to_owned(),
        "\u{feff}{}".to_owned(),
    ];

    for body in bodies {
        for path in ["/v1/timesheets/entries", "/v1/timesheets/upload"] {
            // Act
            let response = app
                .call(Method::POST, path, &admin())
                .raw("application/json", body.clone())
                .send()
                .await;

            // Assert
            let shown: String = body.chars().take(60).collect();
            assert!(
                (400..500).contains(&response.status) || response.status == 200,
                "{path} {shown}: {} {}",
                response.status,
                response.body
            );
            if response.status == 200 {
                assert_eq!(response.upload().rejected, 1, "{path} {shown}");
            } else {
                response.problem();
            }
        }
    }
    assert!(app.all_entries("").await.is_empty());
}
api_test!(odd_but_well_formed_json_is_a_4xx_problem);
