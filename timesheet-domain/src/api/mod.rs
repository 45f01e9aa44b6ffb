//! The JSON wire types of the public API (`/v1`), shared by the service and every client.
//!
//! Request types parse into domain types while they deserialize; response types are plain data.

mod batch;
mod entry;
mod page;
mod parse;
mod week;

pub use batch::{
    ItemResult, ItemStatus, UploadBatch, UploadRequest, UploadResponse, MAX_BATCH_ITEMS,
};
pub use entry::{EntryInput, EntryResponse, EntryWorkerResponse, Hours, PatchEntryRequest};
pub use page::EntryPage;
pub use parse::parse_json;
pub use week::{ApprovalsResponse, WeekResponse};
