//! The digest of an entry's content: what lets a run skip a row that has not changed since it
//! was last sent, without asking the API (and so without requesting a token).
//!
//! The digest is taken over the entry as the API will store it (`NewEntry`): hours become
//! minutes, missing notes become empty, a missing `billable` becomes false. A source that
//! switches from `hours = "7.5"` to `minutes = 450` therefore sends nothing, exactly as the API
//! would have answered "unchanged".

use serde::Serialize;
use sha2::{Digest, Sha256};
use timesheet_domain::api::EntryInput;
use timesheet_domain::NewEntry;

/// Bumped when the canonical form changes, so that old digests never match new ones by chance
/// (a change of scheme costs one re-send answered "unchanged", never a missed change).
const SCHEME: &[u8] = b"importer-entry-v1\n";

/// The canonical form: a struct, so field order is fixed by declaration, whatever serde_json's
/// map ordering features the build enables.
#[derive(Serialize)]
struct Canonical<'a> {
    external_id: Option<&'a str>,
    worker: Option<CanonicalWorker<'a>>,
    date: String,
    project: &'a str,
    minutes: u32,
    notes: &'a str,
    billable: bool,
}

#[derive(Serialize)]
struct CanonicalWorker<'a> {
    external_id: &'a str,
    kind: &'static str,
    name: Option<&'a str>,
    email: Option<&'a str>,
}

/// Hex SHA-256 of the entry's canonical form.
pub fn entry_digest(input: &EntryInput) -> String {
    let bytes = match NewEntry::try_from(input.clone()) {
        Ok(entry) => canonical_bytes(&entry),
        // Sources hand over only entries that convert; should one not, the raw input (its
        // struct order is fixed too) still gives a stable digest, and the API will say why.
        Err(_) => serde_json::to_vec(input).unwrap_or_default(),
    };
    let mut hasher = Sha256::new();
    hasher.update(SCHEME);
    hasher.update(&bytes);
    hex(&hasher.finalize())
}

fn canonical_bytes(entry: &NewEntry) -> Vec<u8> {
    let canonical = Canonical {
        external_id: entry.external_id.as_ref().map(AsRef::as_ref),
        worker: entry.worker.as_ref().map(|w| CanonicalWorker {
            external_id: w.external_id.as_ref(),
            kind: w.kind.as_str(),
            name: w.name.as_ref().map(AsRef::as_ref),
            email: w.email.as_ref().map(AsRef::as_ref),
        }),
        date: entry.date.to_string(),
        project: entry.project.as_ref(),
        minutes: entry.minutes.get(),
        notes: entry.notes.as_ref(),
        billable: entry.billable,
    };
    // Serializing plain strings, numbers and booleans cannot fail.
    serde_json::to_vec(&canonical).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> EntryInput {
        serde_json::from_str(json).unwrap()
    }

    const BASE: &str = r#"{"external_id":"ct-1","worker":{"external_id":"c-1","kind":"contractor","name":"Ana"},"date":"2026-11-23","project":"STOREZERO","minutes":450,"notes":"n","billable":true}"#;

    #[test]
    fn equal_content_gives_equal_digests_whatever_its_spelling() {
        let hours = BASE.replace(r#""minutes":450"#, r#""hours":"7.5""#);
        assert_eq!(entry_digest(&input(BASE)), entry_digest(&input(&hours)));

        let plain = r#"{"external_id":"x","date":"2026-11-23","project":"P","minutes":5}"#;
        let explicit = r#"{"external_id":"x","date":"2026-11-23","project":"P","minutes":5,"notes":"","billable":false}"#;
        assert_eq!(entry_digest(&input(plain)), entry_digest(&input(explicit)));
    }

    #[test]
    fn any_change_of_content_changes_the_digest() {
        let base = entry_digest(&input(BASE));
        for (from, to) in [
            (r#""minutes":450"#, r#""minutes":451"#),
            (r#""date":"2026-11-23""#, r#""date":"2026-11-20""#),
            (r#""notes":"n""#, r#""notes":"m""#),
            (r#""billable":true"#, r#""billable":false"#),
            (r#""name":"Ana""#, r#""name":"Ana S""#),
            (r#""project":"STOREZERO""#, r#""project":"MOBILEAPP""#),
        ] {
            let changed = BASE.replace(from, to);
            assert_ne!(entry_digest(&input(&changed)), base, "{to} kept the digest");
        }
    }

    #[test]
    fn digests_are_hex_sha256() {
        let digest = entry_digest(&input(BASE));
        assert_eq!(digest.len(), 64);
        assert!(digest.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
