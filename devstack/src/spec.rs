//! What to start, where, and on which ports.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use crate::StackError;

/// The TCP ports of the stack, all on 127.0.0.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports {
    pub gateway: u16,
    pub gateway_admin: u16,
    pub svc: u16,
    pub idp: u16,
    pub importer_metrics: u16,
}

impl Ports {
    /// The ports `make up` uses, as the brief lists them.
    pub const DEFAULT: Ports = Ports {
        gateway: 8443,
        gateway_admin: 9464,
        svc: 8081,
        idp: 8090,
        importer_metrics: 9466,
    };

    /// Ports free right now, for tests that run several stacks at once. The listeners are
    /// closed before the components bind, so another process could take one in between; on a
    /// test machine that is rare, and a clash shows as a component that fails to start.
    pub fn free() -> Result<Self, StackError> {
        let mut held = Vec::new();
        let mut next = || -> Result<u16, StackError> {
            let listener = TcpListener::bind("127.0.0.1:0")
                .map_err(|e| StackError::io("reserving a port", "127.0.0.1:0", e))?;
            let port = listener
                .local_addr()
                .map_err(|e| StackError::io("reserving a port", "127.0.0.1:0", e))?
                .port();
            held.push(listener);
            Ok(port)
        };
        Ok(Ports {
            gateway: next()?,
            gateway_admin: next()?,
            svc: next()?,
            idp: next()?,
            importer_metrics: next()?,
        })
    }
}

/// Where timesheet-svc keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `<dir>/data/timesheets.db`, the embedded default.
    Sqlite,
    /// A PostgreSQL database URL (the database must exist; the service migrates it).
    Postgres(String),
}

/// How the importer runs in the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImporterMode {
    /// Not started; tests run `importer-svc run` themselves.
    Off,
    /// `importer-svc daemon --schedule <cron>`.
    Daemon { schedule: String },
}

/// Everything that decides what [`crate::Stack::start`] does.
#[derive(Debug, Clone)]
pub struct StackSpec {
    /// Holds configuration, keys, certificates, data and logs. Reused when it exists, so a
    /// second `make up` finds its data and certificates again.
    pub dir: PathBuf,
    /// Where the workspace's binaries are (`target/debug`).
    pub bin_dir: PathBuf,
    /// The repository root, for the gateway's route table and the sample data.
    pub repo_root: PathBuf,
    pub ports: Ports,
    pub database: Database,
    pub importer: ImporterMode,
    /// The files the importer reads; defaults to the repository's sample data.
    pub importer_inbox: PathBuf,
    /// Lifetime of dev-idp's access tokens.
    pub token_lifetime_secs: u64,
    /// `json` or `pretty`, for every component's log.
    pub log_format: String,
    /// Requests per second a client may send through the gateway (burst twice that).
    pub client_rate_limit: u32,
    /// OTLP/HTTP base URL (`http://127.0.0.1:4318`) that timesheet-svc, the gateway and the
    /// importer export spans to, every trace sampled. `None`, the default: tracing off.
    pub otlp_endpoint: Option<String>,
}

impl StackSpec {
    /// A spec with the defaults of `make up`, rooted at `dir`.
    pub fn new(
        dir: impl Into<PathBuf>,
        repo_root: impl Into<PathBuf>,
        bin_dir: impl Into<PathBuf>,
    ) -> Self {
        let repo_root = repo_root.into();
        Self {
            dir: dir.into(),
            bin_dir: bin_dir.into(),
            importer_inbox: repo_root.join("importer-svc/samples/contractor-tracker"),
            repo_root,
            ports: Ports::DEFAULT,
            database: Database::Sqlite,
            importer: ImporterMode::Off,
            token_lifetime_secs: 86_400,
            log_format: "json".to_owned(),
            client_rate_limit: 200,
            otlp_endpoint: None,
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    pub fn binary(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }
}

/// `target/debug` as seen from a test binary (`target/debug/deps/<test>`), or from a binary in
/// `target/debug` itself.
pub fn bin_dir_of_current_exe() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().map(Path::to_path_buf)
    } else {
        Some(dir.to_path_buf())
    }
}
