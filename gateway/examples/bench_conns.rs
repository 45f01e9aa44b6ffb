//! Connection holder for `bench/gateway`'s memory check: opens `--connections` TLS keep-alive
//! connections (HTTP/1.1) to `--url`, sends one request on each (all in flight at once, so N
//! requests open N distinct connections) so that every connection is past its handshake and
//! idle in the server's keep-alive state, then holds them open, idle, for `--hold-secs` while
//! the script reads the server's RSS.
//!
//! ```text
//! cargo run --release -p gateway --example bench_conns -- \
//!     --url https://127.0.0.1:8443/v1/openapi.json --connections 1000 --hold-secs 10
//! ```
//!
//! Prints `open <n>` when the connections are up (n = requests answered with a 2xx), `done`
//! when the hold ends; exits non-zero if any request failed.

use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::Parser;

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
    // The benchmark's certificate comes from a throwaway CA; the connections are to loopback.
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .danger_accept_invalid_certs(true)
        .http1_only()
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(None)
        .tcp_keepalive(Duration::from_secs(30))
        .timeout(Duration::from_secs(30))
        .build()
        .context("building the client")?;
    // No task reads its body before every task has its response headers: until then each
    // connection carries an unfinished response, so none is idle in the client's pool for
    // another request to reuse, and N requests open N connections however fast the server is.
    let headers_in = std::sync::Arc::new(tokio::sync::Barrier::new(args.connections));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.connections {
        let client = client.clone();
        let url = args.url.clone();
        let headers_in = std::sync::Arc::clone(&headers_in);
        tasks.spawn(async move {
            let sent = client.get(&url).send().await;
            // Every task reaches the barrier, a failed one too (the client's timeout bounds it).
            headers_in.wait().await;
            let response = sent?;
            let ok = response.status().is_success();
            response.bytes().await?;
            Ok::<_, reqwest::Error>(ok)
        });
    }
    let (mut ok, mut failed) = (0usize, 0usize);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(true)) => ok += 1,
            Ok(Ok(false)) | Ok(Err(_)) | Err(_) => failed += 1,
        }
    }
    println!("open {ok}");
    if failed > 0 {
        bail!("{failed} of {} requests failed", args.connections);
    }
    tokio::time::sleep(Duration::from_secs(args.hold_secs)).await;
    println!("done");
    drop(client);
    Ok(())
}
