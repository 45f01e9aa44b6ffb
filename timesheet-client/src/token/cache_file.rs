//! The token kept on disk between runs, so that a job started every few minutes reuses one token
//! for its whole lifetime instead of asking for a new one each run (Auth0 counts issued machine
//! tokens against a monthly quota).
//!
//! The file is JSON: the token, when it was issued and when it expires, and the key it was
//! issued for (token URL, client id, audience, resource, scope), so that a changed configuration
//! never picks up a token meant for another API. It is written to a temporary file in the same
//! directory and renamed over the old one, so a reader sees the old file or the new one, never
//! half of one; it is readable by its owner only. A file that is readable by others, unreadable,
//! corrupt, or for another key is not used (the caller warns and replaces it).

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

const FORMAT_VERSION: u32 = 1;
/// A token file is a few kilobytes; anything much larger is not ours.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// What a cached token was issued for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CacheKey {
    pub token_url: String,
    pub client_id: String,
    pub audience: Option<String>,
    pub resource: Option<String>,
    pub scope: Option<String>,
}

/// A token with its lifetime, as stored.
pub(crate) struct StoredToken {
    pub access_token: SecretString,
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
}

/// Why a cache file was not used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unusable {
    #[error("it is readable by group or others (mode {0:o}); it must be 0600")]
    TooOpen(u32),
    #[error("it is not a regular file of at most 64 KiB")]
    NotAFile,
    #[error("it cannot be read: {0}")]
    Io(#[from] std::io::Error),
    /// The message is serde's, which names the field and position, never a value.
    #[error("it is not a token cache file: {0}")]
    Corrupt(String),
    #[error("it holds a token for another client, audience or scope")]
    OtherKey,
}

#[derive(Serialize)]
struct FileOut<'a> {
    version: u32,
    key: &'a CacheKey,
    access_token: &'a str,
    issued_at: u64,
    expires_at: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    version: u32,
    key: CacheKey,
    access_token: SecretString,
    issued_at: u64,
    expires_at: u64,
}

/// The cache file of one token key.
#[derive(Debug, Clone)]
pub(crate) struct CacheFile {
    path: PathBuf,
    key: CacheKey,
}

impl CacheFile {
    pub fn new(path: PathBuf, key: CacheKey) -> Self {
        Self { path, key }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored token, `Ok(None)` when there is no file, or why the file cannot be used.
    /// Whether the token is still fresh is the caller's to judge.
    pub fn load(&self) -> Result<Option<StoredToken>, Unusable> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        let meta = file.metadata()?;
        if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
            return Err(Unusable::NotAFile);
        }
        check_private(&meta)?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let stored: FileIn =
            serde_json::from_str(&text).map_err(|e| Unusable::Corrupt(e.to_string()))?;
        if stored.version != FORMAT_VERSION {
            return Err(Unusable::Corrupt(format!(
                "format version {}",
                stored.version
            )));
        }
        if stored.key != self.key {
            return Err(Unusable::OtherKey);
        }
        Ok(Some(StoredToken {
            access_token: stored.access_token,
            issued_at: UNIX_EPOCH + Duration::from_secs(stored.issued_at),
            expires_at: UNIX_EPOCH + Duration::from_secs(stored.expires_at),
        }))
    }

    /// Replaces the file atomically with `token`, owner-readable only.
    pub fn store(&self, token: &StoredToken) -> std::io::Result<()> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir)?;
        let body = serde_json::to_vec(&FileOut {
            version: FORMAT_VERSION,
            key: &self.key,
            access_token: token.access_token.expose_secret(),
            issued_at: unix_secs(token.issued_at),
            expires_at: unix_secs(token.expires_at),
        })
        .map_err(std::io::Error::other)?;
        // tempfile creates the file 0600 on Unix, before anything is written to it.
        let mut temp = tempfile::Builder::new()
            .prefix(".token-cache-")
            .tempfile_in(dir)?;
        temp.write_all(&body)?;
        temp.as_file().sync_all()?;
        temp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Deletes the file; a file already gone is fine.
    pub fn remove(&self) -> std::io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }
}

fn unix_secs(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(unix)]
fn check_private(meta: &std::fs::Metadata) -> Result<(), Unusable> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Unusable::TooOpen(mode));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_meta: &std::fs::Metadata) -> Result<(), Unusable> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(client: &str) -> CacheKey {
        CacheKey {
            token_url: "https://tenant.auth0.com/oauth/token".into(),
            client_id: client.into(),
            audience: Some("https://api.exampleco.com/timesheets".into()),
            resource: None,
            scope: None,
        }
    }

    fn token() -> StoredToken {
        StoredToken {
            access_token: SecretString::from("header.payload.signature"),
            issued_at: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            expires_at: UNIX_EPOCH + Duration::from_secs(1_800_086_400),
        }
    }

    #[test]
    fn a_stored_token_reads_back_for_the_same_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/token.json");
        CacheFile::new(path.clone(), key("a"))
            .store(&token())
            .unwrap();
        let loaded = CacheFile::new(path.clone(), key("a"))
            .load()
            .unwrap()
            .unwrap();
        assert_eq!(
            loaded.access_token.expose_secret(),
            "header.payload.signature"
        );
        assert_eq!(loaded.expires_at, token().expires_at);
        let other = CacheFile::new(path, key("b")).load();
        assert!(matches!(other, Err(Unusable::OtherKey)));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private_and_an_open_one_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.json");
        let file = CacheFile::new(path.clone(), key("a"));
        file.store(&token()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(file.load(), Err(Unusable::TooOpen(0o640))));
    }

    #[test]
    fn a_missing_file_is_none_and_garbage_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let file = CacheFile::new(dir.path().join("token.json"), key("a"));
        assert!(matches!(file.load(), Ok(None)));
        file.store(&token()).unwrap();
        std::fs::write(file.path(), b"{\"access_token\": 1").unwrap();
        assert!(matches!(file.load(), Err(Unusable::Corrupt(_))));
        file.remove().unwrap();
        file.remove().unwrap();
        assert!(matches!(file.load(), Ok(None)));
    }
}
