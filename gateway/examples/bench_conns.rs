//! Connection holder for `bench/gateway`'s memory check: opens `--connections` TLS keep-alive
//! connections (HTTP/1.1) to `--url`, sends one request on each so that every connection is
//! past its handshake and idle in the server's keep-alive state, then holds them open, idle,
//! for `--hold-secs` while the script reads the server's RSS.
//!
//! Each connection belongs to a client of its own, so no request can reuse another's
//! connection, and at most `--concurrency` are being opened at a time: clients arriving at a
//! steady pace, not a burst that would make the server open a connection to its upstream for
//! every one of them at once.
//!
//! ```text
//! cargo run --release -p gateway --example bench_conns -- \
//!     --url https://127.0.0.1:8443/v1/openapi.json --connections 1000 --hold-secs 10
//! ```
//!
//! Prints `open <n>` when the connections are up (n = requests answered with a 2xx), `done`
//! when the hold ends; exits non-zero if any request failed.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Parser;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

#[derive(Debug, Parser)]
#[command(about = "Hold N idle TLS keep-alive connections open to a server")]
struct Args {
    /// An https URL the server answers with 2xx (an auth-free route).
    #[arg(long)]
    url: String,
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    #[arg(long, default_value_t = 10)]
    hold_secs: u64,
    /// Connections being opened (handshake and first request) at a time.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let opening = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for _ in 0..args.connections {
        let url = args.url.clone();
        let opening = Arc::clone(&opening);
        tasks.spawn(async move {
            let _turn = opening.acquire_owned().await?;
            let client = client()?;
            let response = client.get(&url).send().await?;
            let ok = response.status().is_success();
            response.bytes().await?;
            // The client goes back to the caller, keeping its one connection open and idle.
            anyhow::Ok((ok, client))
        });
    }
    let (mut ok, mut failed, mut clients) = (0usize, 0usize, Vec::new());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((true, client))) => {
                ok += 1;
                clients.push(client);
            }
            Ok(Ok((false, _))) | Ok(Err(_)) | Err(_) => failed += 1,
        }
    }
    println!("open {ok}");
    if failed > 0 {
        bail!("{failed} of {} requests failed", args.connections);
    }
    tokio::time::sleep(Duration::from_secs(args.hold_secs)).await;
    println!("done");
    drop(clients);
    Ok(())
}

/// A client holding at most one idle connection, forever.
fn client() -> anyhow::Result<reqwest::Client> {
    // The benchmark's certificate comes from a throwaway CA; the connections are to loopback.
    reqwest::Client::builder()
        .use_rustls_tls()
        .danger_accept_invalid_certs(true)
        .http1_only()
        .pool_max_idle_per_host(1)
        .pool_idle_timeout(None)
        .tcp_keepalive(Duration::from_secs(30))
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the client")
}
