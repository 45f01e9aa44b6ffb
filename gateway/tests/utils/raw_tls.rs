//! An HTTP/1.1 client at the byte level over the gateway's TLS: for what reqwest never does,
//! such as sending one request in several writes with pauses between them.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use super::stack::Stack;

/// One TLS connection to the gateway (HTTP/1.1: no ALPN is offered).
pub struct RawTls {
    stream: TlsStream<TcpStream>,
    /// Bytes read past the end of the last response.
    pending: Vec<u8>,
}

/// A response as read off the connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawTls {
    /// Connects to the stack's gateway, presenting `host` by SNI.
    pub async fn connect(stack: &Stack, host: &str) -> Self {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(stack.ca_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = TcpStream::connect(stack.https).await.unwrap();
        let name = ServerName::try_from(host.to_owned()).unwrap();
        let stream = TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap();
        Self {
            stream,
            pending: Vec::new(),
        }
    }

    /// Writes `bytes` and flushes them out as their own TLS record.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
        self.stream.flush().await.unwrap();
    }

    /// Reads one response with a `Content-Length` body (what the gateway and the test upstream
    /// send), keeping whatever follows it for the next call.
    pub async fn response(&mut self) -> RawResponse {
        let head_end = loop {
            if let Some(at) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            self.fill().await;
        };
        let head = String::from_utf8(self.pending[..head_end].to_vec()).unwrap();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {head:?}"));
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().unwrap())
            })
            .unwrap_or_else(|| panic!("no content-length in {head:?}"));
        while self.pending.len() < head_end + length {
            self.fill().await;
        }
        let body = self.pending[head_end..head_end + length].to_vec();
        self.pending.drain(..head_end + length);
        RawResponse { status, head, body }
    }

    /// Whether the gateway closes the connection (EOF, or a reset) within `within`, reading
    /// nothing else meanwhile.
    pub async fn closed_within(&mut self, within: Duration) -> bool {
        let mut buf = [0u8; 256];
        match tokio::time::timeout(within, self.stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => true,
            Ok(Ok(n)) => panic!("unexpected bytes: {:?}", &buf[..n]),
            Err(_elapsed) => false,
        }
    }

    async fn fill(&mut self) {
        let mut buf = [0u8; 4096];
        // A response that never comes fails the test instead of hanging it.
        let n = tokio::time::timeout(Duration::from_secs(10), self.stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no response within 10 s: {:?}", self.pending))
            .unwrap();
        assert!(n > 0, "connection closed mid-response: {:?}", self.pending);
        self.pending.extend_from_slice(&buf[..n]);
    }
}
