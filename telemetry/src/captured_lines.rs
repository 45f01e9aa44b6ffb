//! [`CapturedLines`]: log lines kept in memory, for tests that assert on what a subscriber
//! writes (feature `test-util`, re-exported from [`crate::testing`]).

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

/// An in-memory sink shared by its clones: give one to [`crate::build_subscriber`] (as
/// `move || lines.clone()`) or to a writer thread, and read the text back from another.
#[derive(Debug, Clone, Default)]
pub struct CapturedLines(Arc<Mutex<Vec<u8>>>);

impl CapturedLines {
    /// Everything written so far (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// How many lines were written so far.
    pub fn count(&self) -> usize {
        self.text().lines().count()
    }
}

impl io::Write for CapturedLines {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
