//! `/v1/timesheets/entries` and `/v1/timesheets/upload`.

mod batch;
mod create;
mod delete;
mod get;
mod list;
mod patch;

use axum::routing::{get as get_route, post};
use axum::Router;
use timesheet_domain::{EntryId, ProblemType};

use crate::error::ApiError;
use crate::state::AppState;

pub use batch::__path_upload_entries;
pub use create::__path_create_entry;
pub use delete::__path_delete_entry;
pub use get::__path_get_entry;
pub use list::__path_list_entries;
pub use patch::__path_patch_entry;

pub(crate) use create::create_with_idempotency;
pub(crate) use list::{list_page, ListQuery};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/timesheets/upload", post(batch::upload_entries))
        .route(
            "/v1/timesheets/entries",
            post(create::create_entry).get(list::list_entries),
        )
        .route(
            "/v1/timesheets/entries/{id}",
            get_route(get::get_entry)
                .patch(patch::patch_entry)
                .delete(delete::delete_entry),
        )
}

/// An entry id from the path. Anything that is not a UUID cannot name an entry: 404.
pub(crate) fn parse_entry_id(raw: &str) -> Result<EntryId, ApiError> {
    EntryId::parse(raw).map_err(|_| ApiError::with_detail(ProblemType::NotFound, "no such entry"))
}
