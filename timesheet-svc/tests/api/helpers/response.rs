//! Responses read to the end, and the assertions every scenario makes on them.

use reqwest::header::HeaderMap;
use serde_json::Value;
use timesheet_domain::api::{
    EntryPage, EntryResponse, ItemResult, ItemStatus, UploadResponse, WeekResponse,
};
use timesheet_domain::{Problem, ProblemType};

/// A response, read to the end.
#[derive(Debug)]
pub struct TestResponse {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl TestResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn describe(&self) -> String {
        format!(
            "{} {} → {}\n{}",
            self.method,
            self.path,
            self.status,
            self.body.chars().take(2000).collect::<String>()
        )
    }

    pub fn assert_status(&self, expected: u16) {
        assert_eq!(
            self.status,
            expected,
            "unexpected status: {}",
            self.describe()
        );
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("the body is not JSON ({err}): {}", self.describe()))
    }

    fn parse<T: serde::de::DeserializeOwned>(&self, what: &str) -> T {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("the body is not {what} ({err}): {}", self.describe()))
    }

    pub fn entry(&self) -> EntryResponse {
        self.parse("an entry")
    }

    pub fn upload(&self) -> UploadResponse {
        self.parse("an upload response")
    }

    pub fn page(&self) -> EntryPage {
        self.parse("a page of entries")
    }

    pub fn week(&self) -> WeekResponse {
        self.parse("a week")
    }

    pub fn problem(&self) -> Problem {
        self.parse("a problem")
    }

    /// Asserts an RFC 9457 problem of `kind` with its status, as `application/problem+json`,
    /// and returns it.
    pub fn assert_problem(&self, kind: ProblemType) -> Problem {
        assert_eq!(
            self.status,
            kind.status(),
            "expected {} ({}): {}",
            kind.slug(),
            kind.status(),
            self.describe()
        );
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/problem+json"),
            "content-type {content_type:?} is not application/problem+json: {}",
            self.describe()
        );
        let problem = self.problem();
        assert_eq!(
            problem.problem_type,
            kind.uri(),
            "wrong problem type: {}",
            self.describe()
        );
        assert_eq!(
            problem.status,
            kind.status(),
            "status in the body: {}",
            self.describe()
        );
        problem
    }

    /// Asserts a 422 validation problem whose first error points at `pointer`.
    pub fn assert_invalid_field(&self, pointer: &str) -> Problem {
        let problem = self.assert_problem(ProblemType::ValidationError);
        let first = problem
            .errors
            .first()
            .unwrap_or_else(|| panic!("no errors[] in the problem: {}", self.describe()));
        assert_eq!(first.pointer, pointer, "wrong pointer: {}", self.describe());
        problem
    }
}

/// An upload's (created, updated, unchanged, rejected) counts.
pub fn counts(upload: &UploadResponse) -> (usize, usize, usize, usize) {
    (
        upload.created,
        upload.updated,
        upload.unchanged,
        upload.rejected,
    )
}

/// Asserts that an upload item was rejected with `kind`, returning its problem.
pub fn assert_item_rejected(result: &ItemResult, kind: ProblemType) -> Problem {
    assert_eq!(
        result.status,
        ItemStatus::Rejected,
        "item {} was not rejected: {result:?}",
        result.index
    );
    let problem = result
        .problem
        .clone()
        .unwrap_or_else(|| panic!("rejected item {} carries no problem", result.index));
    assert_eq!(
        problem.problem_type,
        kind.uri(),
        "item {}: {problem:?}",
        result.index
    );
    problem
}
