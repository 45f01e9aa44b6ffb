//! Start-up: from a configuration file to a Pingora `Server` with the TLS proxy, the admin
//! listener and the background services, ready for `run_forever`.
//!
//! Everything that can fail because of the operator's input (file, keys, certificates) fails
//! here, before any port is bound, with an error naming the key. Keys are fetched (JWKS primed)
//! before the listeners start; tenants whose keys failed are logged and answered with 503 until a
//! refresh succeeds.

use std::path::Path;
use std::sync::Arc;

use identity_assertion::{AssertionSigner, AUDIENCE_TIMESHEET_SVC};
use pingora::listeners::{L4BufferSettings, ListenerConfig};
use pingora::proxy::HttpProxy;
use pingora::server::configuration::ServerConf;
use pingora::server::Server;
use pingora::services::background::background_service;
use pingora::services::listening::Service;
use service_config::{ConfigError, ConfigIssue};

use crate::admin::{AdminApp, UpstreamHealth};
use crate::assertion_cache::Assertions;
use crate::background::{ConfigReload, JwksRefresh, UpstreamHealthCheck};
use crate::config::Config;
use crate::keepalive::ParkIdle;
use crate::metrics::Metrics;
use crate::proxy::Gateway;
use crate::ratelimit::RateLimiter;
use crate::state::{Runtime, SharedRuntime};
use crate::tls::{tls_settings, SniCertificates, TlsError};
use crate::workers::{ensure_address_free, listen_key, ListenError, ServerConfig, WorkerLayout};

/// Why the gateway cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Tls(#[from] TlsError),
    #[error("{0}")]
    Listen(#[from] ListenError),
    #[error("{0}")]
    Other(String),
}

/// Loads and checks everything `gateway run` needs, primes the keys, and builds the server.
pub fn build_server(config_path: &Path) -> Result<Server, StartError> {
    build_server_with(Config::load(config_path)?, config_path)
}

/// [`build_server`] from a configuration already loaded from `config_path` (which SIGHUP
/// re-reads), so `main` can set up logs and traces from it before anything else happens.
pub fn build_server_with(config: Config, config_path: &Path) -> Result<Server, StartError> {
    let assertions = load_assertions(&config)?;
    let certs = Arc::new(SniCertificates::new(&config.server, &config.tenant)?);
    for host in certs.hostnames() {
        tracing::info!(host, "tenant certificate loaded");
    }
    let (settings, upstream, admin_listen) = (
        config.server.clone(),
        config.upstream.clone(),
        config.admin.listen,
    );

    let runtime = prime(config)?;
    let shared = Arc::new(SharedRuntime::new(runtime, config_path));
    let metrics = Arc::new(Metrics::new().map_err(|e| StartError::Other(e.to_string()))?);
    let health = Arc::new(UpstreamHealth::default());

    let conf = ServerConf {
        threads: settings.threads,
        work_stealing: settings.work_stealing,
        grace_period_seconds: Some(settings.grace_period.as_secs()),
        graceful_shutdown_timeout_seconds: Some(2),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();

    let gateway = Gateway {
        runtime: Arc::clone(&shared),
        assertions,
        upstream: upstream.clone(),
        limiter: Arc::new(RateLimiter::new()),
        metrics: Arc::clone(&metrics),
    };
    let proxies = proxy_services(&server, &gateway, &settings, &certs)?;

    let admin_app = AdminApp {
        runtime: Arc::clone(&shared),
        metrics,
        upstream: Arc::clone(&health),
    };
    let mut admin = Service::new("admin".to_owned(), admin_app);
    admin.add_tcp(&admin_listen.to_string());

    tracing::info!(
        listen = %settings.listen,
        admin = %admin_listen,
        upstream = %upstream.address,
        "gateway starting"
    );
    for proxy in proxies {
        server.add_service(proxy);
    }
    server.add_service(admin);
    server.add_service(background_service(
        "jwks refresh",
        JwksRefresh {
            runtime: Arc::clone(&shared),
        },
    ));
    server.add_service(background_service(
        "upstream health",
        UpstreamHealthCheck { upstream, health },
    ));
    server.add_service(background_service(
        "config reload",
        ConfigReload { runtime: shared },
    ));
    Ok(server)
}

/// The proxy services `[server]` asks for (see `workers`), each with its own listener on the
/// address and a [`Gateway`] sharing `gateway`'s state. Refuses an address something listens on.
fn proxy_services(
    server: &Server,
    gateway: &Gateway,
    settings: &ServerConfig,
    certs: &Arc<SniCertificates>,
) -> Result<Vec<Service<ParkIdle<HttpProxy<Gateway>>>>, StartError> {
    ensure_address_free(settings.listen)?;
    let layout = WorkerLayout::new(settings.threads, settings.work_stealing);
    (0..layout.services)
        .map(|index| {
            let app = pingora::proxy::http_proxy(&server.configuration, gateway.clone());
            let app = ParkIdle::new(app, settings.keepalive_timeout);
            let mut proxy = Service::new(layout.service_name(index), app);
            proxy.threads = Some(layout.threads_per_service);
            let mut listener = ListenerConfig::tcp(listen_key(settings.listen, index))
                .tls(tls_settings(Arc::clone(certs))?)
                .l4_buffer(L4BufferSettings::default().read(settings.l4_read_buffer_bytes));
            if let Some(options) = layout.socket_options() {
                listener = listener.tcp_socket_options(options);
            }
            proxy.add_listener(listener);
            Ok(proxy)
        })
        .collect()
}

/// The assertion signer from `[assertion]`, behind the cache of reusable assertions.
fn load_assertions(config: &Config) -> Result<Assertions, StartError> {
    let assertion = config.require_proxy()?;
    let invalid = |message: String| {
        StartError::Config(ConfigError::Invalid(vec![ConfigIssue::new(
            "assertion.private_key_file",
            message,
        )]))
    };
    let pem = std::fs::read_to_string(&assertion.private_key_file).map_err(|e| {
        invalid(format!(
            "reading {}: {e}",
            assertion.private_key_file.display()
        ))
    })?;
    let signer = AssertionSigner::from_pem(
        &pem,
        assertion.kid.clone(),
        AUDIENCE_TIMESHEET_SVC,
        i64::try_from(assertion.ttl.as_secs()).unwrap_or(i64::MAX),
    )
    .map_err(|e| invalid(e.to_string()))?;
    Ok(Assertions::new(signer, assertion.cache_entries))
}

/// Primes every tenant's keys on a short-lived runtime, before Pingora's listeners start.
fn prime(config: Config) -> Result<Runtime, StartError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError::Other(format!("starting the priming runtime: {e}")))?;
    rt.block_on(async {
        // Installing a SIGHUP handler now means a SIGHUP that arrives before the reload service
        // starts is ignored instead of killing the process (the default action).
        drop(tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()));
        let (runtime, failures) = Runtime::build(config)
            .await
            .map_err(|e| StartError::Other(e.to_string()))?;
        for (tenant, err) in &failures {
            tracing::warn!(tenant = %tenant.as_ref(), error = %err, "JWKS prime failed; this tenant gets 503 until a refresh succeeds");
        }
        Ok(runtime)
    })
}
