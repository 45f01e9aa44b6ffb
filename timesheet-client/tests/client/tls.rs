//! The gateway's certificate, issued by a private CA (the development stack's), is trusted
//! through `ca_cert` and only through it. The server is real TLS on loopback: wiremock has no
//! TLS, so axum serves over tokio-rustls.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use serde_json::json;
use timesheet_client::{ApiClient, ClientError};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{crypto, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::support::*;

/// A CA certificate (PEM) and a server configuration for 127.0.0.1 and localhost signed by it.
fn ca_and_server_config() -> (String, ServerConfig) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().unwrap();
    let leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();

    let server = ServerConfig::builder_with_provider(Arc::new(crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .unwrap();
    (ca_cert.pem(), server)
}

/// Accepts TCP connections and completes the TLS handshake before axum sees them; failed
/// handshakes (a client that does not trust us) are dropped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A TLS "gateway" answering GET /v1/approvals; returns its base URL and the CA's PEM.
async fn spawn_tls_gateway() -> (String, String) {
    let (ca_pem, server_config) = ca_and_server_config();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(server_config)),
    };
    let app = Router::new().route("/v1/approvals", get(|| async { Json(json!({"data": []})) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("https://127.0.0.1:{port}"), ca_pem)
}

#[tokio::test]
async fn the_gateway_is_trusted_through_the_configured_ca_certificate() {
    let idp = spawn_idp(DAY).await;
    let (base, ca_pem) = spawn_tls_gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let mut config = config(&base, &idp);
    config.ca_cert = Some(ca_file);
    let client = ApiClient::new(&config).unwrap();

    let approvals = client.approvals().await.unwrap();

    assert!(approvals.data.is_empty());
}

#[tokio::test]
async fn without_the_ca_certificate_the_gateway_is_not_trusted() {
    let idp = spawn_idp(DAY).await;
    let (base, _ca_pem) = spawn_tls_gateway().await;
    let mut config = config(&base, &idp);
    config.retry.max_attempts = 1;
    let client = ApiClient::new(&config).unwrap();

    let err = client.approvals().await.unwrap_err();

    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn an_unreadable_or_empty_ca_file_is_a_config_error() {
    let idp = spawn_idp(DAY).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = config("https://127.0.0.1:8443", &idp);
    config.ca_cert = Some(dir.path().join("missing.pem"));
    let err = ApiClient::new(&config).unwrap_err();
    assert!(err.to_string().starts_with("ca_cert: cannot read"), "{err}");

    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    config.ca_cert = Some(empty);
    let err = ApiClient::new(&config).unwrap_err();
    assert!(err.to_string().starts_with("ca_cert:"), "{err}");
}
