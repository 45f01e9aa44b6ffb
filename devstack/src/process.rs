//! One running component: a child process whose output goes to `<dir>/logs/<name>.log`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use crate::StackError;

pub struct Component {
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Component {
    /// Starts `binary` with `args` and `envs`, appending both output streams to `log`. The
    /// child is killed if this handle is dropped without [`Component::stop`], so a failing
    /// test leaves nothing behind.
    pub fn spawn(
        name: &str,
        binary: &Path,
        args: &[&str],
        envs: &[(&str, String)],
        log: &Path,
    ) -> Result<Self, StackError> {
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|e| StackError::io("opening the log", log, e))
        };
        let (stdout, stderr) = (open()?, open()?);
        let mut command = Command::new(binary);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true);
        for (key, value) in envs {
            command.env(key, value);
        }
        let child = command.spawn().map_err(|source| StackError::Spawn {
            binary: binary.to_path_buf(),
            source,
        })?;
        Ok(Self {
            name: name.to_owned(),
            child,
            log: log.to_path_buf(),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of the log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(err) => Some(format!("unknown ({err})")),
        }
    }

    /// Polls `url` until it answers 2xx. Fails early if the process exits.
    pub async fn wait_ready(
        &mut self,
        http: &reqwest::Client,
        url: &str,
        timeout: Duration,
    ) -> Result<(), StackError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Err(StackError::Exited {
                    component: self.name.clone(),
                    status,
                    log_tail: self.log_tail(20),
                });
            }
            if let Ok(response) = http.get(url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                return Err(StackError::NotReady {
                    component: self.name.clone(),
                    url: url.to_owned(),
                    secs: timeout.as_secs(),
                    log_tail: self.log_tail(20),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sends `signal` (SIGTERM for a graceful stop, SIGKILL to simulate a crash).
    pub fn signal(&self, signal: Signal) {
        if let Some(pid) = self.child.id().and_then(|id| i32::try_from(id).ok()) {
            // The process may already be gone; that is what we wanted anyway.
            let _ = kill(Pid::from_raw(pid), signal);
        }
    }

    /// SIGTERM, then SIGKILL after `grace`. Returns the exit status.
    pub async fn stop(mut self, grace: Duration) -> String {
        self.signal(Signal::SIGTERM);
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(err)) => format!("unknown ({err})"),
            Err(_) => {
                let _ = self.child.kill().await;
                "killed after the grace period".to_owned()
            }
        }
    }

    /// SIGKILL and reap: the crash case.
    pub async fn crash(mut self) {
        let _ = self.child.kill().await;
    }
}

pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
