//! Where an HTTP/1 connection waits between requests.
//!
//! Pingora's HTTP/1 loop hands a kept-alive connection straight back to the proxy, whose
//! per-request future (the whole request state machine: header read, our hooks' context, the
//! upstream exchange) is allocated before the next request's first byte is read, and stays
//! allocated for as long as the client keeps the connection idle. A gateway holds many idle
//! keep-alive connections, so that memory multiplies: bench/gateway measured a lower RSS with
//! 1,000 idle TLS connections with this loop than with Pingora's (figures in
//! docs/benchmarks.md).
//!
//! [`ParkIdle`] runs that loop itself and makes each connection wait for its next request in a
//! future of a few hundred bytes: it reads the first bytes of the request into a small buffer,
//! and only then starts the proxy's session, handing those bytes over as the session's
//! already-read prefix (the mechanism Pingora has for pipelined bytes). The reuse limit is
//! Pingora's; HTTP/2, h2c and custom protocols go to Pingora's own loop unchanged.
//!
//! Two things differ from Pingora, on purpose:
//! - Time limits. Pingora bounds only the wait for a connection's first request (60 s); once an
//!   HTTP/1.1 request has been parsed, the connection's next wait, and the reads of the next
//!   request's header, have no limit, so idle connections accumulate for as long as clients
//!   keep them. Here every wait for a request, and every read of a request's header, is bounded
//!   by `[server] keepalive_timeout_secs`.
//! - Shutdown. An idle connection is closed when the server starts shutting down, as Pingora
//!   does; a request whose bytes have already arrived is still read and served (Pingora's
//!   proxy then answers it with `Connection: close`).
//!
//! The handed-over prefix relies on HTTP/1 pipelining staying off (Pingora's default, which
//! the gateway never changes): with it off, a finished session is only reused when nothing
//! was read past its end, so no pipelined bytes are carried over to clash with ours. A session
//! that has it on is refused loudly rather than served wrongly.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::BytesMut;
use futures_util::FutureExt as _;
use pingora::apps::{HttpPersistentSettings, HttpServerApp, ServerApp};
use pingora::protocols::http::ServerSession;
use pingora::protocols::{Stream, ALPN};
use pingora::server::ShutdownWatch;
use tokio::io::AsyncReadExt;

/// How many bytes the idle wait reads. Enough to make the wait cheap; the proxy's session
/// reads the rest of the request into its own header buffer.
const FIRST_READ: usize = 64;

/// The header buffer handed to the session: Pingora's initial header buffer size, so that the
/// session does not grow a small one in steps.
const HEADER_BUFFER: usize = 4096;

/// A [`ServerApp`] that serves HTTP/1 connections through `A` but parks them between requests.
pub struct ParkIdle<A> {
    app: Arc<A>,
    /// The longest wait for a request, and for each read of its header.
    keepalive: Duration,
}

impl<A> ParkIdle<A> {
    pub fn new(app: A, keepalive: Duration) -> Self {
        Self {
            app: Arc::new(app),
            keepalive,
        }
    }
}

/// How a connection's wait for its next request ended.
#[derive(Debug, PartialEq, Eq)]
enum Idle {
    /// The first bytes of a request, read from the connection.
    Request(BytesMut),
    /// The client closed the connection, or it failed.
    Closed,
    /// Nothing arrived within the keep-alive timeout.
    TimedOut,
    /// The server is shutting down.
    ShuttingDown,
}

/// Waits for the first bytes of the next request on `stream`, at most `keepalive`, or until
/// the server starts shutting down.
///
/// `shutdown` is the connection's own receiver, cloned once per connection rather than per
/// request.
async fn next_request(
    stream: &mut Stream,
    shutdown: &mut ShutdownWatch,
    keepalive: Duration,
) -> Idle {
    let stopping = async {
        if !*shutdown.borrow_and_update() {
            // A sender dropped without a shutdown means the server is gone: stop as well.
            let _ = shutdown.changed().await;
        }
    };
    let mut first = [0u8; FIRST_READ];
    // Pingora's own timer for reads (10 ms ticks, one shared timer per deadline), armed only
    // if the read does not complete at once. The read is polled first, so bytes that have
    // already arrived are served even when shutdown has begun.
    let read = tokio::select! {
        biased;
        read = pingora::time::timeout(keepalive, stream.read(&mut first)) => read,
        () = stopping => return Idle::ShuttingDown,
    };
    let n = match read {
        Err(_elapsed) => return Idle::TimedOut,
        Ok(Ok(0) | Err(_)) => return Idle::Closed,
        Ok(Ok(n)) => n,
    };
    let mut prefix = BytesMut::with_capacity(HEADER_BUFFER);
    prefix.extend_from_slice(&first[..n]);
    // The rest of what arrived (TLS decrypts a whole record at once) is taken now, so the
    // session can usually parse the header without another read. A read that would wait is
    // dropped before it takes anything.
    if let Some(Err(_)) = stream.read_buf(&mut prefix).now_or_never() {
        return Idle::Closed;
    }
    Idle::Request(prefix)
}

/// Whether Pingora's loop would serve `stream` as HTTP/1: neither h2 by ALPN, nor h2c or a
/// custom protocol by the server options. Those are left to Pingora.
fn is_http1<A: HttpServerApp>(app: &A, stream: &Stream) -> bool {
    let options = app.server_options();
    let h2c = options.is_some_and(|o| o.h2c) && stream.get_ssl_digest().is_none();
    let custom = options.is_some_and(|o| o.force_custom);
    !h2c && !custom && matches!(stream.selected_alpn_proto(), None | Some(ALPN::H1))
}

#[async_trait]
impl<A> ServerApp for ParkIdle<A>
where
    A: HttpServerApp + Send + Sync + 'static,
{
    async fn process_new(
        self: &Arc<Self>,
        mut stream: Stream,
        shutdown: &ShutdownWatch,
    ) -> Option<Stream> {
        if !is_http1(self.app.as_ref(), &stream) {
            return self.app.process_new(stream, shutdown).await;
        }
        let keepalive_secs = self.keepalive.as_secs().max(1);
        let mut watch = shutdown.clone();
        let mut settings: Option<HttpPersistentSettings> = None;
        let mut first = true;
        loop {
            let prefix = match next_request(&mut stream, &mut watch, self.keepalive).await {
                Idle::Request(prefix) => prefix,
                Idle::Closed | Idle::TimedOut | Idle::ShuttingDown => return None,
            };
            let mut session = ServerSession::new_http1(stream);
            if first {
                session.set_keepalive_reuses_remaining(
                    self.app
                        .server_options()
                        .and_then(|o| o.keepalive_request_limit),
                );
            } else if let Some(settings) = settings.take() {
                settings.apply_to_session(&mut session);
            }
            if session.pipelining_enabled() {
                tracing::error!(
                    "HTTP/1 pipelining is on for a kept-alive connection; closing it (see keepalive)"
                );
                return None;
            }
            // Bounds the reads of this request's header; once it is parsed, Pingora sets the
            // connection's keep-alive from the request (`Connection`, HTTP version).
            session.set_keepalive(Some(keepalive_secs));
            session.set_pipelined_prefix(prefix);
            let reused = self.app.process_new_http(session, shutdown).await?;
            let (next, next_settings) = reused.consume();
            stream = next;
            settings = next_settings;
            first = false;
        }
    }

    async fn cleanup(&self) {
        self.app.http_cleanup().await;
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::sync::Mutex;

    use super::*;
    use pingora::apps::ReusedHttpStream;
    use pingora::http::ResponseHeader;
    use tokio::io::{AsyncWriteExt, DuplexStream};

    /// A keep-alive timeout no test waits for.
    const LONG: Duration = Duration::from_secs(60);

    fn duplex() -> (Stream, DuplexStream) {
        let (server, client) = tokio::io::duplex(4096);
        (Box::new(server), client)
    }

    /// An open connection (the client's end, to write to or drop) and a shutdown watch, already
    /// set when `shutting_down`; keep the sender to keep the watch open.
    fn connection(
        shutting_down: bool,
    ) -> (
        Stream,
        DuplexStream,
        tokio::sync::watch::Sender<bool>,
        ShutdownWatch,
    ) {
        let (server, client) = duplex();
        let (tx, watch) = tokio::sync::watch::channel(shutting_down);
        (server, client, tx, watch)
    }

    /// The prefix `next_request` hands over; fails the test if the wait ends any other way.
    async fn prefix_of_next_request(server: &mut Stream, watch: &mut ShutdownWatch) -> BytesMut {
        match within(next_request(server, watch, LONG)).await {
            Idle::Request(prefix) => prefix,
            other => panic!("no request read: {other:?}"),
        }
    }

    /// `future`'s output, or a failed test if it hangs (a regression here is a wait).
    async fn within<F: Future>(future: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(10), future)
            .await
            .expect("hung")
    }

    #[tokio::test]
    async fn the_first_bytes_of_a_request_become_the_prefix_in_a_full_header_buffer() {
        let (mut server, mut client, _tx, mut watch) = connection(false);
        let request = b"GET /v1/timesheets/entries HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer x\r\n\r\n";
        client.write_all(request).await.unwrap();
        let prefix = prefix_of_next_request(&mut server, &mut watch).await;
        assert!(request.len() > FIRST_READ);
        assert_eq!(&prefix[..], &request[..]);
        assert!(prefix.capacity() >= HEADER_BUFFER);
    }

    #[tokio::test]
    async fn bytes_that_arrive_later_stay_in_the_stream_for_the_session() {
        let (mut server, mut client, _tx, mut watch) = connection(false);
        client.write_all(b"GET / HT").await.unwrap();
        let prefix = prefix_of_next_request(&mut server, &mut watch).await;
        assert_eq!(&prefix[..], b"GET / HT");
        client.write_all(b"TP/1.1\r\n\r\n").await.unwrap();
        drop(client);
        let mut rest = Vec::new();
        within(server.read_to_end(&mut rest)).await.unwrap();
        assert_eq!(&rest[..], b"TP/1.1\r\n\r\n");
    }

    #[tokio::test]
    async fn a_client_closing_an_idle_connection_ends_it() {
        let (mut server, client, _tx, mut watch) = connection(false);
        drop(client);
        assert_eq!(
            within(next_request(&mut server, &mut watch, LONG)).await,
            Idle::Closed
        );
    }

    #[tokio::test]
    async fn shutdown_closes_idle_connections_whether_it_comes_before_or_during_the_wait() {
        let (mut server, _client, _tx, mut watch) = connection(true);
        assert_eq!(
            within(next_request(&mut server, &mut watch, LONG)).await,
            Idle::ShuttingDown
        );

        let (tx, mut watch) = tokio::sync::watch::channel(false);
        let waiting =
            tokio::spawn(async move { next_request(&mut server, &mut watch, LONG).await });
        tokio::task::yield_now().await;
        tx.send(true).unwrap();
        assert_eq!(within(waiting).await.unwrap(), Idle::ShuttingDown);
    }

    #[tokio::test]
    async fn a_request_that_has_arrived_is_still_read_when_shutdown_has_begun() {
        let (mut server, mut client, _tx, mut watch) = connection(true);
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let prefix = prefix_of_next_request(&mut server, &mut watch).await;
        assert_eq!(&prefix[..], b"GET / HTTP/1.1\r\n\r\n");
    }

    #[tokio::test]
    async fn an_idle_connection_times_out_after_the_keepalive() {
        let (mut server, _client, _tx, mut watch) = connection(false);
        let keepalive = Duration::from_millis(200);
        let started = std::time::Instant::now();
        assert_eq!(
            within(next_request(&mut server, &mut watch, keepalive)).await,
            Idle::TimedOut
        );
        // Pingora's timer works in 10 ms ticks of its own clock, so the deadline is only
        // approximately the keep-alive; half of it tells a timeout from anything else.
        let waited = started.elapsed();
        assert!(waited >= keepalive / 2, "{waited:?}");
    }

    /// An HTTP/1 app that answers every request with `200 ok` and records its path.
    #[derive(Default)]
    struct Echo {
        paths: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl HttpServerApp for Echo {
        async fn process_new_http(
            self: &Arc<Self>,
            mut session: ServerSession,
            _shutdown: &ShutdownWatch,
        ) -> Option<ReusedHttpStream> {
            if !session.read_request().await.ok()? {
                return None;
            }
            let path = session.req_header().uri.path().to_owned();
            self.paths.lock().unwrap().push(path);
            let mut response = ResponseHeader::build(200, None).ok()?;
            response.insert_header("content-length", "2").ok()?;
            session
                .write_response_header(Box::new(response))
                .await
                .ok()?;
            session
                .write_response_body(bytes::Bytes::from_static(b"ok"), true)
                .await
                .ok()?;
            let settings = HttpPersistentSettings::for_session(&session);
            let reusable = session.finish().await.ok()??;
            Some(ReusedHttpStream::from_reusable_stream(reusable, settings))
        }
    }

    /// A connection served by `ParkIdle` over [`Echo`]: the app (for its record of paths), the
    /// serving task (its result is what `process_new` returns) and the client's end.
    fn serve_echo(
        keepalive: Duration,
    ) -> (
        Arc<ParkIdle<Echo>>,
        tokio::task::JoinHandle<Option<Stream>>,
        DuplexStream,
    ) {
        let app = Arc::new(ParkIdle::new(Echo::default(), keepalive));
        let (server, client) = duplex();
        let serving = {
            let app = Arc::clone(&app);
            tokio::spawn(async move {
                // The sender lives as long as the task: the watch stays open, never set.
                let (_tx, watch) = tokio::sync::watch::channel(false);
                app.process_new(server, &watch).await
            })
        };
        (app, serving, client)
    }

    /// Reads one `200 ok` response (headers, then the 2-byte body) off `client`.
    async fn read_ok(client: &mut DuplexStream) {
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        while !got.ends_with(b"\r\n\r\nok") {
            let n = within(client.read(&mut buf)).await.unwrap();
            assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.starts_with(b"HTTP/1.1 200"), "{got:?}");
    }

    #[tokio::test]
    async fn a_connection_serves_request_after_request_each_started_from_its_first_bytes() {
        let (app, serving, mut client) = serve_echo(LONG);
        client
            .write_all(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        read_ok(&mut client).await;
        // The next request in two pieces, the first shorter than the idle read.
        client.write_all(b"GET /t").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        client
            .write_all(b"wo HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        read_ok(&mut client).await;
        drop(client);
        assert!(
            within(serving).await.unwrap().is_none(),
            "the connection was not closed"
        );
        assert_eq!(*app.app.paths.lock().unwrap(), ["/one", "/two"]);
    }

    #[tokio::test]
    async fn a_request_header_that_stalls_is_cut_off_at_the_keepalive() {
        let keepalive = Duration::from_secs(1);
        let (app, serving, mut client) = serve_echo(keepalive);
        client
            .write_all(b"GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
            .await
            .unwrap();
        read_ok(&mut client).await;
        // A reused connection: Pingora alone would wait for the rest of this header for ever.
        let started = std::time::Instant::now();
        client.write_all(b"GET /stall").await.unwrap();
        within(serving).await.unwrap();
        // Cut off by the timeout (approximate: Pingora's timer ticks), not at once.
        assert!(
            started.elapsed() >= keepalive / 2,
            "{:?}",
            started.elapsed()
        );
        assert_eq!(*app.app.paths.lock().unwrap(), ["/one"]);
    }
}
