//! Where an HTTP/1 connection waits between requests.
//!
//! Pingora's HTTP/1 loop hands a kept-alive connection straight back to the proxy, whose
//! per-request future (the whole request state machine: header read, our hooks' context, the
//! upstream exchange) is allocated before the next request's first byte is read, and stays
//! allocated for as long as the client keeps the connection idle: with 1,000 idle TLS
//! connections, bench/gateway measured 67.9 MiB of RSS with Pingora's loop and 54.6 MiB with
//! this one (about 13 KiB less per connection).
//!
//! [`ParkIdle`] runs that loop itself and makes each connection wait for its next request in a
//! future of a few hundred bytes: it reads the first bytes of the request into a small buffer,
//! and only then starts the proxy's session, handing those bytes over as the session's
//! already-read prefix (the mechanism Pingora has for pipelined bytes). Everything else is as
//! in Pingora: the 60 s keep-alive timeout, the reuse limit, closing idle connections at
//! shutdown; HTTP/2, h2c and custom protocols go to Pingora's own loop unchanged.
//!
//! The handed-over prefix relies on HTTP/1 pipelining staying off (Pingora's default, which
//! the gateway never changes): with it off, a finished session is only reused when nothing
//! was read past its end, so no pipelined bytes are carried over to clash with ours.

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

/// How long a connection may stay idle before and between requests: Pingora's own default,
/// which its HTTP/1 loop applies to every connection.
pub const KEEPALIVE: Duration = Duration::from_secs(60);

/// How many bytes the idle wait reads. Enough to make the wait cheap; the proxy's session
/// reads the rest of the request into its own header buffer.
const FIRST_READ: usize = 64;

/// The header buffer handed to the session: Pingora's initial header buffer size, so that the
/// session does not grow a small one in steps.
const HEADER_BUFFER: usize = 4096;

/// A [`ServerApp`] that serves HTTP/1 connections through `A` but parks them between requests.
pub struct ParkIdle<A> {
    app: Arc<A>,
}

impl<A> ParkIdle<A> {
    pub fn new(app: A) -> Self {
        Self { app: Arc::new(app) }
    }
}

/// How a connection's wait for its next request ended.
#[derive(Debug, PartialEq, Eq)]
enum Idle {
    /// The first bytes of a request, read from the connection.
    Request(BytesMut),
    /// The client closed the connection, or it failed.
    Closed,
    /// Nothing arrived within [`KEEPALIVE`].
    TimedOut,
    /// The server is shutting down.
    ShuttingDown,
}

/// Waits for the first bytes of the next request on `stream`, at most `keepalive`.
async fn next_request(stream: &mut Stream, shutdown: &ShutdownWatch, keepalive: Duration) -> Idle {
    let mut shutdown = shutdown.clone();
    if *shutdown.borrow_and_update() {
        return Idle::ShuttingDown;
    }
    let mut first = [0u8; FIRST_READ];
    // Pingora's own timer for reads (10 ms ticks, one shared timer per deadline), armed only
    // if the read does not complete at once.
    let read = tokio::select! {
        biased;
        read = pingora::time::timeout(keepalive, stream.read(&mut first)) => read,
        _ = shutdown.changed() => return Idle::ShuttingDown,
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
        let mut settings: Option<HttpPersistentSettings> = None;
        loop {
            let prefix = match next_request(&mut stream, shutdown, KEEPALIVE).await {
                Idle::Request(prefix) => prefix,
                Idle::Closed | Idle::TimedOut | Idle::ShuttingDown => return None,
            };
            let mut session = ServerSession::new_http1(stream);
            match settings.take() {
                Some(settings) => settings.apply_to_session(&mut session),
                None => {
                    session.set_keepalive(Some(KEEPALIVE.as_secs()));
                    session.set_keepalive_reuses_remaining(
                        self.app
                            .server_options()
                            .and_then(|o| o.keepalive_request_limit),
                    );
                }
            }
            session.set_pipelined_prefix(prefix);
            let reused = self.app.process_new_http(session, shutdown).await?;
            let (next, next_settings) = reused.consume();
            stream = next;
            settings = next_settings;
        }
    }

    async fn cleanup(&self) {
        self.app.http_cleanup().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn duplex() -> (Stream, tokio::io::DuplexStream) {
        let (server, client) = tokio::io::duplex(1024);
        (Box::new(server), client)
    }

    #[tokio::test]
    async fn the_first_bytes_of_a_request_become_the_prefix_in_a_full_header_buffer() {
        let (mut server, mut client) = duplex();
        let (_tx, watch) = tokio::sync::watch::channel(false);
        let request = b"GET /v1/timesheets/entries HTTP/1.1\r\nHost: a.example\r\nAuthorization: Bearer x\r\n\r\n";
        client.write_all(request).await.unwrap();
        let Idle::Request(prefix) = next_request(&mut server, &watch, KEEPALIVE).await else {
            panic!("no request read");
        };
        assert!(request.len() > FIRST_READ);
        assert_eq!(&prefix[..], &request[..]);
        assert!(prefix.capacity() >= HEADER_BUFFER);
    }

    #[tokio::test]
    async fn bytes_that_arrive_later_stay_in_the_stream_for_the_session() {
        let (mut server, mut client) = duplex();
        let (_tx, watch) = tokio::sync::watch::channel(false);
        client.write_all(b"GET / HT").await.unwrap();
        let Idle::Request(prefix) = next_request(&mut server, &watch, KEEPALIVE).await else {
            panic!("no request read");
        };
        assert_eq!(&prefix[..], b"GET / HT");
        client.write_all(b"TP/1.1\r\n\r\n").await.unwrap();
        drop(client);
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await.unwrap();
        assert_eq!(&rest[..], b"TP/1.1\r\n\r\n");
    }

    #[tokio::test]
    async fn a_client_closing_an_idle_connection_ends_it() {
        let (mut server, client) = duplex();
        let (_tx, watch) = tokio::sync::watch::channel(false);
        drop(client);
        assert_eq!(
            next_request(&mut server, &watch, KEEPALIVE).await,
            Idle::Closed
        );
    }

    #[tokio::test]
    async fn shutdown_closes_idle_connections_whether_it_comes_before_or_during_the_wait() {
        let (mut server, _client) = duplex();
        let (tx, watch) = tokio::sync::watch::channel(true);
        assert_eq!(
            next_request(&mut server, &watch, KEEPALIVE).await,
            Idle::ShuttingDown
        );

        let (tx2, watch2) = tokio::sync::watch::channel(false);
        let waiting =
            tokio::spawn(async move { next_request(&mut server, &watch2, KEEPALIVE).await });
        tokio::task::yield_now().await;
        tx2.send(true).unwrap();
        assert_eq!(waiting.await.unwrap(), Idle::ShuttingDown);
        drop(tx);
    }

    #[tokio::test]
    async fn an_idle_connection_times_out_after_the_keepalive() {
        let (mut server, _client) = duplex();
        let (_tx, watch) = tokio::sync::watch::channel(false);
        let keepalive = Duration::from_millis(200);
        let started = std::time::Instant::now();
        assert_eq!(
            next_request(&mut server, &watch, keepalive).await,
            Idle::TimedOut
        );
        let waited = started.elapsed();
        // Pingora's timer rounds deadlines up to its 10 ms tick.
        assert!(waited >= keepalive, "{waited:?}");
        assert!(waited < keepalive * 5, "{waited:?}");
    }
}
