use std::path::PathBuf;

/// Why the stack could not be set up or a component misbehaved. Messages name the file, the
/// component and the tail of its log, since the person reading them has only this to go on.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("{what} ({path}): {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start {binary}: {source} (build the workspace first: cargo build --workspace --bins)")]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{command} failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("{component} exited ({status}) before it was ready; last log lines:\n{log_tail}")]
    Exited {
        component: String,
        status: String,
        log_tail: String,
    },
    #[error("{component} was not ready at {url} within {secs} s; last log lines:\n{log_tail}")]
    NotReady {
        component: String,
        url: String,
        secs: u64,
        log_tail: String,
    },
    #[error("{0}")]
    Config(String),
    #[error("HTTP call to {url} failed: {message}")]
    Http { url: String, message: String },
}

impl StackError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
