//! Counters that let tests prove token economy ("exactly one token request").

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// What `GET /admin/stats` answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsResponse {
    /// Machine tokens issued by `/oauth/token`, all clients together.
    pub total: u64,
    /// Machine tokens issued, per `client_id`.
    pub per_client: BTreeMap<String, u64>,
    /// User tokens minted by `POST /admin/tokens`.
    pub user_tokens: u64,
    /// Token requests answered with an error (including the fault switch's 503s).
    pub refused: u64,
}

#[derive(Debug, Default)]
pub struct Stats {
    counts: Mutex<StatsResponse>,
}

impl Stats {
    fn update(&self, f: impl FnOnce(&mut StatsResponse)) {
        // A panic while holding this lock cannot leave the counters inconsistent: keep counting.
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut counts);
    }

    pub fn record_issued(&self, client_id: &str) {
        self.update(|c| {
            c.total += 1;
            *c.per_client.entry(client_id.to_owned()).or_default() += 1;
        });
    }

    pub fn record_user_token(&self) {
        self.update(|c| c.user_tokens += 1);
    }

    pub fn record_refused(&self) {
        self.update(|c| c.refused += 1);
    }

    pub fn snapshot(&self) -> StatsResponse {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
