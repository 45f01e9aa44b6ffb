//! The key directory: `<kid>.pem` (PKCS#8, mode 0600) per key and `keys.json` naming the signing
//! key and the published ones. Every file is written to a temporary name and renamed, so a crash
//! never leaves half a key or half a state.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{KeyError, SigningKey};

const STATE_FILE: &str = "keys.json";

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct KeyState {
    /// The key that signs new tokens; always among `published`.
    pub current: String,
    /// The keys served in the JWKS.
    pub published: Vec<String>,
}

#[derive(Debug)]
pub(super) struct KeyFiles {
    dir: PathBuf,
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> KeyError + 'a {
    move |source| KeyError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> KeyError {
    KeyError::Corrupt {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// A kid read from `keys.json` becomes a file name: only thumbprint characters are accepted.
fn is_kid(kid: &str) -> bool {
    !kid.is_empty()
        && kid.len() <= 128
        && kid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl KeyFiles {
    /// Creates the directory (mode 0700) if needed.
    pub fn open(dir: &Path) -> Result<Self, KeyError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io("creating", dir))?;
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn key_path(&self, kid: &str) -> PathBuf {
        self.dir.join(format!("{kid}.pem"))
    }

    /// `None` when the directory has no state yet (first start).
    pub fn read_state(&self) -> Result<Option<KeyState>, KeyError> {
        let path = self.dir.join(STATE_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io("reading", &path)(err)),
        };
        let state: KeyState =
            serde_json::from_str(&text).map_err(|err| corrupt(&path, err.to_string()))?;
        if let Some(bad) = state
            .published
            .iter()
            .chain([&state.current])
            .find(|k| !is_kid(k))
        {
            return Err(corrupt(&path, format!("{bad:?} is not a key id")));
        }
        if !state.published.contains(&state.current) {
            return Err(corrupt(&path, "the current key is not published"));
        }
        Ok(Some(state))
    }

    pub fn write_state(&self, state: &KeyState) -> Result<(), KeyError> {
        let path = self.dir.join(STATE_FILE);
        let json =
            serde_json::to_vec_pretty(state).map_err(|err| corrupt(&path, err.to_string()))?;
        self.write_atomically(&path, &json, 0o600)
    }

    /// Reads `<kid>.pem` and checks that it is the key that id names.
    pub fn read_key(&self, kid: &str) -> Result<SigningKey, KeyError> {
        let path = self.key_path(kid);
        let meta = fs::metadata(&path).map_err(io("reading", &path))?;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "signing key file is readable by others; expected mode 0600");
        }
        let pem = SecretString::from(fs::read_to_string(&path).map_err(io("reading", &path))?);
        let key = SigningKey::from_pkcs8_pem(pem.expose_secret()).map_err(|r| corrupt(&path, r))?;
        if key.kid() != kid {
            return Err(corrupt(
                &path,
                format!("holds the key {}, not {kid}", key.kid()),
            ));
        }
        Ok(key)
    }

    pub fn write_key(&self, kid: &str, pem: &SecretString) -> Result<(), KeyError> {
        self.write_atomically(&self.key_path(kid), pem.expose_secret().as_bytes(), 0o600)
    }

    pub fn remove_key(&self, kid: &str) -> Result<(), KeyError> {
        let path = self.key_path(kid);
        match fs::remove_file(&path) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                Err(io("removing", &path)(err))
            }
            _ => Ok(()),
        }
    }

    fn write_atomically(&self, path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
        let tmp = path.with_extension("tmp");
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(io("writing", &tmp))?;
        file.write_all(bytes).map_err(io("writing", &tmp))?;
        file.sync_all().map_err(io("writing", &tmp))?;
        fs::rename(&tmp, path).map_err(io("renaming", path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kids_that_could_escape_the_directory_are_refused() {
        assert!(is_kid("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
        assert!(!is_kid("../etc/passwd"));
        assert!(!is_kid(""));
    }

    #[test]
    fn a_state_whose_current_key_is_not_published_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let files = KeyFiles::open(dir.path()).unwrap();
        files
            .write_state(&KeyState {
                current: "a".into(),
                published: vec!["b".into()],
            })
            .unwrap();
        let err = files.read_state().unwrap_err().to_string();
        assert!(err.contains("not published"), "{err}");
    }
}
