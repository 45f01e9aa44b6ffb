//! A TCP proxy in front of PostgreSQL that a test can cut and restore, to play a database server
//! that goes away and comes back while the service runs.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

pub struct CuttableProxy {
    pub addr: SocketAddr,
    upstream: String,
    accept: Option<JoinHandle<()>>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl CuttableProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`.
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the proxy");
        let addr = listener.local_addr().expect("the proxy address");
        let mut proxy = Self {
            addr,
            upstream,
            accept: None,
            links: Arc::new(Mutex::new(Vec::new())),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let links = self.links.clone();
        let upstream = self.upstream.clone();
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                links.lock().await.push(link);
            }
        }));
    }

    /// Stops accepting (new connections are refused) and drops every open connection.
    pub async fn cut(&self) {
        if let Some(accept) = &self.accept {
            accept.abort();
        }
        for link in self.links.lock().await.drain(..) {
            link.abort();
        }
    }

    /// Accepts again on the same address, as a database server that came back.
    pub async fn restore(&mut self) {
        // The aborted accept task releases the listener asynchronously: retry the bind briefly.
        for _ in 0..50 {
            if let Ok(listener) = TcpListener::bind(self.addr).await {
                self.serve(listener);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("could not listen on {} again", self.addr);
    }
}

/// The `host:port` of the PostgreSQL server the tests use.
pub fn postgres_authority() -> String {
    let url = test_postgres::server_url();
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(&url);
    let rest = rest.rsplit_once('@').map(|(_, r)| r).unwrap_or(rest);
    rest.split(['/', '?']).next().unwrap_or(rest).to_owned()
}
