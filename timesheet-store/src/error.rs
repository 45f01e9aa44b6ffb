/// Why the store could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached, or is not answering in time. Temporary: the service maps
    /// it to 503 and the caller may retry.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// A named constraint refused the write (the name is one of the constants of this crate).
    #[error("constraint {0} violated")]
    Conflict(&'static str),
    /// The database URL cannot be used: a scheme no backend serves, or a URL its driver cannot
    /// parse (the driver's error is the source).
    #[error("store configuration: {reason}")]
    Config {
        reason: String,
        #[source]
        source: Option<sqlx::Error>,
    },
    /// Migrations failed.
    #[error("migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// Anything else: a bug or corrupt data. Logged with its cause, shown as a generic 500.
    #[error("database error")]
    Internal(#[source] sqlx::Error),
    /// A stored value no longer parses as its domain type (data written by something else):
    /// `what` names the value, the source says why.
    #[error("stored data is invalid: {what}")]
    Corrupt {
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// A failed migration run: `Unavailable` when the database could not be reached (so a caller
/// can tell "retry later" from "this migration is broken"), `Migrate` otherwise.
pub(crate) fn from_migrate(
    err: sqlx::migrate::MigrateError,
    is_unavailable: fn(&sqlx::Error) -> bool,
) -> StoreError {
    match err {
        sqlx::migrate::MigrateError::Execute(inner) if is_unavailable(&inner) => {
            StoreError::Unavailable(inner)
        }
        other => StoreError::Migrate(other),
    }
}
