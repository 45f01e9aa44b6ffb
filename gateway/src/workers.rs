//! How the proxy's worker threads are laid out, and the public listener of each.
//!
//! With `[server] work_stealing = true` it is Pingora's own layout: one proxy service, one
//! work-stealing runtime over `threads` threads, one listening socket.
//!
//! With `work_stealing = false` (ours) each thread is a worker of its own, as nginx and HAProxy
//! lay theirs out: a proxy service with one thread, its own upstream connection pool and its own
//! listening socket on the shared address (`SO_REUSEPORT`, the kernel spreads connections over
//! them). Pingora's other layout, one service over several single-thread runtimes, hands work
//! between threads on every request: a connection is registered with the reactor of the runtime
//! that accepted it but served on a runtime picked at random, and a pooled upstream connection's
//! idle watch is spawned on another random runtime. Each hand-off is one thread waking another
//! (an eventfd write); bench/gateway measured fewer system calls and less CPU per request
//! without them (figures in docs/benchmarks.md).

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::time::Duration;

use pingora::listeners::TcpSocketOptions;
use serde::Deserialize;
use service_config::rule::within;

/// `[server]`: the public TLS listener and the threads behind it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, garde::Validate)]
#[serde(default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Default certificate chain (PEM), served when SNI names no tenant with its own; with
    /// `key_file`, required by `gateway run`.
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// How long in-flight requests may finish after SIGTERM (whole seconds).
    #[serde(with = "humantime_serde")]
    pub grace_period: Duration,
    /// Proxy worker threads.
    #[garde(range(min = 1, max = 256))]
    pub threads: usize,
    /// `false` (ours): each thread is a worker of its own (see the module docs). `true`:
    /// Pingora's default, one work-stealing runtime over all threads behind one socket.
    pub work_stealing: bool,
    /// Bytes of the read buffer Pingora puts under each client connection's TLS. None by
    /// default: Pingora's own 64 KiB is allocated for every connection, busy or idle, and
    /// rustls already reads up to 4 KiB per `read(2)` into its own buffer, so a buffer under it
    /// only adds a copy. Past one TLS record's worth a bigger one only costs memory.
    #[garde(range(max = 1024 * 1024))]
    pub l4_read_buffer_bytes: usize,
    /// How long an HTTP/1 connection may wait for its next request, or stall within one
    /// request's header, before the gateway closes it (see `keepalive`). An idle connection
    /// holds memory and a descriptor: an hour is already generous.
    #[serde(with = "humantime_serde")]
    #[garde(custom(within(Duration::from_secs(1), Duration::from_secs(3600))))]
    pub keepalive_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            cert_file: None,
            key_file: None,
            grace_period: Duration::from_secs(5),
            threads: 2,
            work_stealing: false,
            l4_read_buffer_bytes: 0,
            // The wait Pingora gives a connection's first request, of the order of nginx's 75 s.
            keepalive_timeout: Duration::from_secs(60),
        }
    }
}

/// The proxy services to start and the threads each one runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerLayout {
    pub services: usize,
    pub threads_per_service: usize,
}

impl WorkerLayout {
    pub fn new(threads: usize, work_stealing: bool) -> Self {
        let threads = threads.max(1);
        if work_stealing {
            Self {
                services: 1,
                threads_per_service: threads,
            }
        } else {
            Self {
                services: threads,
                threads_per_service: 1,
            }
        }
    }

    /// Whether the listening sockets share the address (more than one service).
    pub fn shares_address(&self) -> bool {
        self.services > 1
    }

    /// The name of proxy service `index`, as Pingora logs it.
    pub fn service_name(&self, index: usize) -> String {
        if self.shares_address() {
            format!("proxy worker {index}")
        } else {
            "proxy".to_owned()
        }
    }

    /// Socket options of the public listener: `SO_REUSEPORT` when services share the address.
    pub fn socket_options(&self) -> Option<TcpSocketOptions> {
        self.shares_address().then(|| {
            let mut options = TcpSocketOptions::default();
            options.so_reuseport = Some(true);
            options
        })
    }
}

/// The address string worker `index` listens on.
///
/// Pingora keeps listening sockets in a table keyed by this string (for handing them to a new
/// process on upgrade), and a second service with the same string is given the first one's
/// socket instead of its own. Worker `index` therefore writes its port with `index` leading
/// zeros: the same address to the socket layer (`127.0.0.1:08443` is `127.0.0.1:8443`), a key
/// of its own in the table.
pub fn listen_key(addr: SocketAddr, index: usize) -> String {
    let host = match addr {
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
    };
    format!("{host}:{}{}", "0".repeat(index), addr.port())
}

/// Why the public address cannot be listened on.
#[derive(Debug, thiserror::Error)]
#[error("[server] listen = {addr}: {source}")]
pub struct ListenError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// Checks that nothing listens on `addr` yet. With `SO_REUSEPORT` the kernel would let a second
/// gateway (same user) join the first one's sockets and take half its connections silently; a
/// plain bind fails on any listener there, reuse-port or not. The socket is closed again at
/// once: Pingora binds its own.
pub fn ensure_address_free(addr: SocketAddr) -> Result<(), ListenError> {
    TcpListener::bind(addr)
        .map(drop)
        .map_err(|source| ListenError { addr, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_work_stealing_each_thread_is_a_service_of_one_thread() {
        let layout = WorkerLayout::new(4, false);
        assert_eq!(
            layout,
            WorkerLayout {
                services: 4,
                threads_per_service: 1
            }
        );
        assert!(layout.shares_address());
        assert_eq!(
            layout.socket_options().and_then(|o| o.so_reuseport),
            Some(true)
        );
        assert_eq!(layout.service_name(3), "proxy worker 3");
    }

    #[test]
    fn work_stealing_is_one_service_over_every_thread_on_one_plain_socket() {
        let layout = WorkerLayout::new(4, true);
        assert_eq!(
            layout,
            WorkerLayout {
                services: 1,
                threads_per_service: 4
            }
        );
        assert!(layout.socket_options().is_none());
        assert!(WorkerLayout::new(1, false).socket_options().is_none());
        assert_eq!(WorkerLayout::new(1, false).service_name(0), "proxy");
    }

    #[test]
    fn every_worker_key_is_distinct_and_names_the_same_socket_address() {
        for addr in ["127.0.0.1:8443", "[::1]:443", "0.0.0.0:1"] {
            let addr: SocketAddr = addr.parse().unwrap();
            let keys: Vec<String> = (0..4).map(|i| listen_key(addr, i)).collect();
            assert_eq!(keys[0], addr.to_string());
            for key in &keys {
                assert_eq!(key.parse::<SocketAddr>().unwrap(), addr, "{key}");
                assert_eq!(keys.iter().filter(|k| *k == key).count(), 1, "{key}");
            }
        }
    }

    #[test]
    fn an_address_with_a_listener_is_refused_naming_the_key_and_a_free_one_is_left_free() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let err = ensure_address_free(addr).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("[server] listen = {addr}: ")),
            "{err}"
        );

        drop(taken);
        ensure_address_free(addr).unwrap();
        // The check's own socket is gone: the address can be bound again.
        TcpListener::bind(addr).unwrap();
    }
}
