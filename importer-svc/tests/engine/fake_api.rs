//! An in-memory Timesheets API with the upload semantics of the real one: upsert by (source,
//! external id), `created`/`updated`/`unchanged` with stable ids, tombstones on delete (an
//! upload revives a tombstone as `created` with its old id), per-item rejections with an RFC
//! 9457 problem pointing at the field, results in input order. It can be told to reject items,
//! to fail an upload, to lose a response after applying it, or to hold an upload until released.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use importer_svc::sync::destination::{
    Deleted, Destination, DestinationCounters, DestinationError,
};
use timesheet_domain::api::{EntryInput, ItemResult, ItemStatus, UploadResponse};
use timesheet_domain::{FieldError, NewEntry, Problem, ProblemType, SourceName};
use tokio::sync::{Notify, Semaphore};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct Stored {
    pub id: Uuid,
    pub entry: NewEntry,
    pub deleted: bool,
    /// How many times this key was created (must stay 1: no duplicates).
    pub creations: u32,
}

/// What an upload call does besides its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadFault {
    /// Fail with `Unavailable` before applying anything.
    Unavailable,
    /// Apply the batch, then fail as if the response was lost (or the importer killed).
    LoseResponse,
    /// Fail with `Refused` (a 4xx for the whole request).
    Refused,
}

#[derive(Default)]
struct Data {
    entries: HashMap<(String, String), Stored>,
    reject: HashSet<String>,
    /// Fault to inject at the upload call with this (1-based) number.
    faults: HashMap<usize, UploadFault>,
    upload_calls: usize,
    uploaded_items: usize,
    delete_calls: usize,
}

#[derive(Default)]
pub struct FakeApi {
    data: Mutex<Data>,
    /// When set, every upload takes a permit from it before answering.
    gate: Mutex<Option<Arc<Semaphore>>>,
    /// Signalled whenever an upload call starts.
    pub upload_started: Notify,
}

impl FakeApi {
    /// A destination, as one importer process would hold it.
    pub fn destination(self: &Arc<Self>) -> FakeDestination {
        FakeDestination {
            api: self.clone(),
            token_requests: AtomicU64::new(0),
        }
    }

    pub fn reject(&self, external_id: &str) {
        self.data
            .lock()
            .unwrap()
            .reject
            .insert(external_id.to_owned());
    }

    pub fn stop_rejecting(&self, external_id: &str) {
        self.data.lock().unwrap().reject.remove(external_id);
    }

    /// Injects `fault` at the upload call numbered `call` (counting every call so far, from 1).
    pub fn fault_at(&self, call: usize, fault: UploadFault) {
        self.data.lock().unwrap().faults.insert(call, fault);
    }

    /// Makes every upload wait for a permit: `add_permits(n)` lets `n` uploads through.
    pub fn hold_uploads(&self) -> Arc<Semaphore> {
        let gate = Arc::new(Semaphore::new(0));
        *self.gate.lock().unwrap() = Some(gate.clone());
        gate
    }

    pub fn upload_calls(&self) -> usize {
        self.data.lock().unwrap().upload_calls
    }

    pub fn uploaded_items(&self) -> usize {
        self.data.lock().unwrap().uploaded_items
    }

    pub fn delete_calls(&self) -> usize {
        self.data.lock().unwrap().delete_calls
    }

    /// Live (not deleted) entries of `source`.
    pub fn live(&self, source: &str) -> HashMap<String, Stored> {
        self.data
            .lock()
            .unwrap()
            .entries
            .iter()
            .filter(|((s, _), e)| s == source && !e.deleted)
            .map(|((_, x), e)| (x.clone(), e.clone()))
            .collect()
    }

    /// Every key ever created, with how many times (no key may exceed 1).
    pub fn max_creations(&self) -> u32 {
        let data = self.data.lock().unwrap();
        data.entries
            .values()
            .map(|e| e.creations)
            .max()
            .unwrap_or(0)
    }

    fn apply(&self, source: &SourceName, entries: &[EntryInput]) -> UploadResponse {
        let mut data = self.data.lock().unwrap();
        data.uploaded_items += entries.len();
        let mut results = Vec::with_capacity(entries.len());
        for (index, input) in entries.iter().enumerate() {
            let external_id = input.external_id.as_ref().map(ToString::to_string);
            let rejected = |field: &str, detail: String| ItemResult {
                index,
                external_id: external_id.clone(),
                status: ItemStatus::Rejected,
                id: None,
                version: None,
                problem: Some(
                    Problem::new(ProblemType::ValidationError)
                        .with_detail(detail.clone())
                        .with_errors([FieldError {
                            pointer: format!("/entries/{index}/{field}"),
                            detail,
                        }]),
                ),
            };
            let Some(key_id) = external_id.clone() else {
                results.push(rejected("external_id", "external_id is required".into()));
                continue;
            };
            if data.reject.contains(&key_id) {
                results.push(rejected("minutes", "minutes: too many for the day".into()));
                continue;
            }
            let entry = match NewEntry::try_from(input.clone()) {
                Ok(entry) => entry,
                Err(err) => {
                    results.push(rejected(&err.field, err.to_string()));
                    continue;
                }
            };
            let key = (source.to_string(), key_id);
            let (status, id) = match data.entries.get_mut(&key) {
                Some(stored) if stored.deleted => {
                    stored.deleted = false;
                    stored.entry = entry;
                    (ItemStatus::Created, stored.id)
                }
                Some(stored) if stored.entry == entry => (ItemStatus::Unchanged, stored.id),
                Some(stored) => {
                    stored.entry = entry;
                    (ItemStatus::Updated, stored.id)
                }
                None => {
                    let id = Uuid::now_v7();
                    data.entries.insert(
                        key,
                        Stored {
                            id,
                            entry,
                            deleted: false,
                            creations: 1,
                        },
                    );
                    (ItemStatus::Created, id)
                }
            };
            results.push(ItemResult {
                index,
                external_id,
                status,
                id: Some(id),
                version: Some(1),
                problem: None,
            });
        }
        UploadResponse::from_results(results)
    }
}

pub struct FakeDestination {
    api: Arc<FakeApi>,
    token_requests: AtomicU64,
}

impl FakeDestination {
    /// Like the real client: a token is requested by the first call that needs one.
    fn token(&self) {
        let _ = self
            .token_requests
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::SeqCst);
    }
}

#[async_trait]
impl Destination for FakeDestination {
    async fn upload(
        &self,
        source: &SourceName,
        entries: &[EntryInput],
    ) -> Result<UploadResponse, DestinationError> {
        assert!(
            !entries.is_empty() && entries.len() <= 1000,
            "bad batch size"
        );
        self.token();
        let fault = {
            let mut data = self.api.data.lock().unwrap();
            data.upload_calls += 1;
            let call = data.upload_calls;
            data.faults.remove(&call)
        };
        self.api.upload_started.notify_one();
        let gate = self.api.gate.lock().unwrap().clone();
        if let Some(gate) = gate {
            gate.acquire().await.unwrap().forget();
        }
        match fault {
            Some(UploadFault::Unavailable) => Err(DestinationError::Unavailable(
                "503 Service Unavailable after 3 attempts".into(),
            )),
            Some(UploadFault::Refused) => Err(DestinationError::Refused {
                status: 413,
                detail: "too many entries".into(),
            }),
            Some(UploadFault::LoseResponse) => {
                let _ = self.api.apply(source, entries);
                Err(DestinationError::Unavailable("connection reset".into()))
            }
            None => Ok(self.api.apply(source, entries)),
        }
    }

    async fn delete(&self, id: Uuid) -> Result<Deleted, DestinationError> {
        self.token();
        let mut data = self.api.data.lock().unwrap();
        data.delete_calls += 1;
        match data.entries.values_mut().find(|e| e.id == id) {
            Some(stored) if !stored.deleted => {
                stored.deleted = true;
                Ok(Deleted::Now)
            }
            _ => Ok(Deleted::AlreadyGone),
        }
    }

    fn counters(&self) -> DestinationCounters {
        DestinationCounters {
            retries: 0,
            token_requests: self.token_requests.load(Ordering::SeqCst),
        }
    }
}
