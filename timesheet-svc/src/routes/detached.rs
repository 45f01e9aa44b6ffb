//! Writes run to their end even when the client goes away.
//!
//! hyper drops a handler's future as soon as its connection closes. Dropped inside a store
//! transaction, that cuts a write off between two statements: on SQLite's single writer
//! connection sqlx did not always recover from it and answered every later write with a 500
//! (seen after a SIGKILLed importer with two uploads in flight). So every request that may
//! write runs in a task of its own, which the closed connection cannot cancel; reads stay in the
//! connection's future, where cancelling them is the point.
//!
//! Finishing a write nobody waits for is what would have happened had the client vanished a
//! moment later: each write is one transaction, and the client finds the outcome by reading or
//! by re-sending (uploads and `Idempotency-Key` requests are idempotent).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use timesheet_domain::ProblemType;
use tracing::Instrument as _;

use crate::error::ApiError;

/// Middleware: `next` in a task of its own unless the method is safe (GET, HEAD, OPTIONS, TRACE).
pub async fn run_writes_to_their_end(request: Request, next: Next) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    match tokio::spawn(next.run(request).in_current_span()).await {
        Ok(response) => response,
        Err(err) => {
            // A panic in the handler (the task's only way to fail): the same answer the panic
            // layer gives one that stays in the connection's future.
            tracing::error!(error = %err, "the request's task failed");
            ApiError::of(ProblemType::Internal).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use axum::routing::any;
    use axum::Router;
    use tokio::io::AsyncWriteExt as _;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::Notify;

    use super::*;

    /// A handler that says when it started, then takes a while, then notes that it finished.
    #[derive(Clone, Default)]
    struct Probe {
        started: Arc<Notify>,
        finished: Arc<AtomicBool>,
    }

    /// Serves the probe behind the middleware on loopback, sends `method /` and closes the
    /// connection as soon as the handler has started; true when the handler still finished.
    async fn handler_finishes_after_the_client_left(method: &str) -> bool {
        let probe = Probe::default();
        let handler = {
            let probe = probe.clone();
            move || async move {
                probe.started.notify_one();
                tokio::time::sleep(Duration::from_millis(300)).await;
                probe.finished.store(true, Ordering::SeqCst);
                "done"
            }
        };
        let app = Router::new()
            .route("/", any(handler))
            .layer(axum::middleware::from_fn(run_writes_to_their_end));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });

        let mut client = TcpStream::connect(addr).await.unwrap();
        let request = format!("{method} / HTTP/1.1\r\nhost: test\r\ncontent-length: 0\r\n\r\n");
        client.write_all(request.as_bytes()).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), probe.started.notified())
            .await
            .unwrap();
        drop(client);

        tokio::time::sleep(Duration::from_millis(900)).await;
        server.abort();
        probe.finished.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn a_write_runs_to_its_end_after_its_client_has_gone() {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            assert!(
                handler_finishes_after_the_client_left(method).await,
                "{method} was cut off"
            );
        }
    }

    #[tokio::test]
    async fn a_read_is_cancelled_when_its_client_goes() {
        // Without this, the test above could pass only because the server never cancels.
        assert!(!handler_finishes_after_the_client_left("GET").await);
    }
}
