//! The filters of `GET /v1/timesheets/entries`, typed with the domain's value types so that a
//! filter the service would refuse (422) cannot be built.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use timesheet_domain::{ExternalId, ProjectCode, SourceName, WeekStatus, WorkDate};

/// Which entries to list; every field is optional. With `updated_since` the list is ordered by
/// change time and holds tombstones of deleted entries too: what a sync needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// The worker's external id.
    pub worker: Option<ExternalId>,
    pub project: Option<ProjectCode>,
    /// The status of the entries' weeks.
    pub status: Option<WeekStatus>,
    /// First date, inclusive.
    pub from: Option<WorkDate>,
    /// Last date, inclusive.
    pub to: Option<WorkDate>,
    pub source: Option<SourceName>,
    pub external_id: Option<ExternalId>,
    pub updated_since: Option<OffsetDateTime>,
    /// Page size, 1 to 1,000 (the service's default is 100).
    pub limit: Option<u32>,
}

impl ListQuery {
    /// The query parameters, in a stable order.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        let mut push = |name: &'static str, value: Option<String>| {
            if let Some(value) = value {
                pairs.push((name, value));
            }
        };
        push("worker", self.worker.as_ref().map(ToString::to_string));
        push("project", self.project.as_ref().map(ToString::to_string));
        push("status", self.status.map(|s| s.as_str().to_owned()));
        push("from", self.from.map(|d| d.to_string()));
        push("to", self.to.map(|d| d.to_string()));
        push("source", self.source.as_ref().map(ToString::to_string));
        push(
            "external_id",
            self.external_id.as_ref().map(ToString::to_string),
        );
        push(
            "updated_since",
            self.updated_since.and_then(|t| t.format(&Rfc3339).ok()),
        );
        push("limit", self.limit.map(|n| n.to_string()));
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_filters_set_become_parameters() {
        let query = ListQuery {
            source: Some(SourceName::parse("contractor-tracker").unwrap()),
            from: Some(WorkDate::parse("2026-11-23").unwrap()),
            updated_since: Some(OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()),
            limit: Some(50),
            ..ListQuery::default()
        };
        assert_eq!(
            query.pairs(),
            [
                ("from", "2026-11-23".to_owned()),
                ("source", "contractor-tracker".to_owned()),
                ("updated_since", "2027-01-15T08:00:00Z".to_owned()),
                ("limit", "50".to_owned()),
            ]
        );
        assert!(ListQuery::default().pairs().is_empty());
    }
}
