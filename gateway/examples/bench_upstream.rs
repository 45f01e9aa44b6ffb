//! The tiny upstream of `bench/gateway`: answers every request (any method, any path) with the
//! same small `200 application/json` body, over plain HTTP/1.1 with keep-alive. All four
//! measurements of the benchmark (direct, gateway with auth, gateway auth-free, HAProxy) hit one
//! instance of it, so the upstream's cost is the same in each.
//!
//! With `--jwks <file>` it serves that file at `/.well-known/jwks.json` instead (the benchmark
//! runs a second instance as the tenant's JWKS endpoint).
//!
//! ```text
//! cargo run --release -p gateway --example bench_upstream -- --listen 127.0.0.1:0 --threads 1
//! ```
//!
//! Prints one line, `listening on <addr>`, once the socket is bound, then serves until killed.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use clap::Parser;

/// The fixed answer: small, like an API's JSON reply.
const BODY: &str = r#"{"ok":true,"service":"bench-upstream","items":[]}"#;

#[derive(Debug, Parser)]
#[command(about = "Fixed 200 JSON on every path (the benchmark's upstream), or a JWKS file")]
struct Args {
    /// Address to bind (port 0: a free port, printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Serve this JSON file at /.well-known/jwks.json (and 404 elsewhere) instead.
    #[arg(long)]
    jwks: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let app = match &args.jwks {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Router::new().route(
                "/.well-known/jwks.json",
                get(move || {
                    let text = text.clone();
                    async move { ([(CONTENT_TYPE, "application/json")], text) }
                }),
            )
        }
        None => Router::new().fallback(fixed),
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            println!("listening on {}", listener.local_addr()?);
            axum::serve(listener, app).await.context("serving")
        })
}

async fn fixed() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], BODY)
}
