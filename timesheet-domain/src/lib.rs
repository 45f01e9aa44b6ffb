//! The timesheet domain shared by the service, the importer and every future client.
//!
//! What it is: value types that can only hold valid values (`Minutes`, `WorkDate`, `ExternalId`,
//! ...), the entry and week workflow rules, the batch planner that decides what an upload does,
//! the principal the gateway asserts, and the JSON wire types of the public API.
//!
//! What it is not: it does no I/O (its one impurity is [`unix_now`], the reading of the wall
//! clock every crate shares) and knows nothing of HTTP status codes beyond the problem types it
//! names; storage and transport live in `timesheet-store` and `timesheet-svc`.
//!
//! Parsing is validation: every constructor that takes outside input is `parse`/`TryFrom` and
//! returns a [`ValidationError`] naming the field.

pub mod api;
mod batch_plan;
mod clock;
mod entry;
mod error;
mod ids;
mod minutes;
mod principal;
mod problem;
mod text;
mod week;
mod work_date;
mod worker;

pub use batch_plan::{
    check_change, plan_batch, BatchItem, BatchPlan, Change, DayKey, ExistingEntry, ItemDecision,
    PlanContext, Rejection,
};
pub use clock::unix_now;
pub use entry::{Entry, EntryPatch, EntryStatus, EntryWorker, NewEntry, Notes};
pub use error::ValidationError;
pub use ids::{EntryId, ExternalId, ProjectCode, SourceName, TenantId, WorkerId};
pub use minutes::{Minutes, MAX_MINUTES_PER_DAY};
pub use principal::{Principal, PrincipalKind, Scope, ScopeSet};
pub use problem::{FieldError, Problem, ProblemType};
pub use week::{IsoWeek, WeekStatus, WeekTransitionError};
pub use work_date::{DateWindow, WorkDate};
pub use worker::{Email, WorkerKind, WorkerName, WorkerRef};
