//! Graceful stop: SIGTERM or SIGINT asks a run to stop once the uploads in flight are answered,
//! and the daemon to stop after the run in flight. Nothing is cut off half-way, and what was
//! acknowledged is in the state.

use tokio::sync::watch;

/// Asks everything holding the matching [`StopSignal`] to stop.
#[derive(Debug)]
pub struct StopHandle(watch::Sender<bool>);

impl StopHandle {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// Whether a stop was asked for. Cheap to clone.
#[derive(Debug, Clone)]
pub struct StopSignal(watch::Receiver<bool>);

/// A connected pair.
pub fn stop_pair() -> (StopHandle, StopSignal) {
    let (tx, rx) = watch::channel(false);
    (StopHandle(tx), StopSignal(rx))
}

impl StopSignal {
    /// A signal that never fires (for tests and tools).
    pub fn never() -> Self {
        let (_tx, rx) = watch::channel(false);
        Self(rx)
    }

    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once a stop is asked for; never if the handle is gone without asking.
    pub async fn stopped(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// A signal fired by SIGTERM or SIGINT (Ctrl-C). Must be called inside a Tokio runtime.
pub fn on_termination() -> StopSignal {
    let (handle, signal) = stop_pair();
    tokio::spawn(async move {
        service_config::shutdown_signal().await;
        tracing::info!("shutdown requested: stopping after the work in flight");
        handle.stop();
    });
    signal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stop_reaches_every_clone() {
        let (handle, signal) = stop_pair();
        let other = signal.clone();
        assert!(!signal.is_stopped());
        handle.stop();
        other.stopped().await;
        assert!(signal.is_stopped());
    }

    #[tokio::test]
    async fn never_stays_unstopped() {
        let signal = StopSignal::never();
        let waited =
            tokio::time::timeout(std::time::Duration::from_millis(20), signal.stopped()).await;
        assert!(waited.is_err());
    }
}
