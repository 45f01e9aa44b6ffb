//! Key material and tokens for `bench/gateway`: one RSA-2048 key (made with the test kit the
//! integration tests use), its JWKS for the gateway, its public key as PEM for HAProxy's
//! `jwt_verify`, `--count` distinct valid RS256 access tokens (one per line) and one token with a
//! tampered signature for the script's sanity check.
//!
//! ```text
//! cargo run --release -p gateway --example bench_tokens -- --out /tmp/bench --count 1000
//! ```
//!
//! Writes into `--out`: `jwks.json`, `pubkey.pem`, `tokens.txt`, `bad-token.txt`.

#[path = "../src/testkit.rs"]
mod testkit;

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use serde_json::json;

use testkit::TestKey;

#[derive(Debug, Parser)]
#[command(about = "RSA key, JWKS, public PEM and N valid RS256 tokens for the gateway benchmark")]
struct Args {
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Number of distinct valid tokens.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    #[arg(long, default_value = "https://bench.example/")]
    issuer: String,
    #[arg(long, default_value = "https://api.bench.example/timesheets")]
    audience: String,
    #[arg(long, default_value = "bench-1")]
    kid: String,
    /// Scope string of every token.
    #[arg(long, default_value = "read:timesheets")]
    scope: String,
    /// Validity of the tokens from now, in seconds.
    #[arg(long, default_value_t = 6 * 3600)]
    ttl_secs: i64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let write = |name: &str, text: &str| -> anyhow::Result<()> {
        let path = args.out.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };

    let key = TestKey::rsa(0, &args.kid);
    let jwk = key.jwk_with(json!({"alg": "RS256", "use": "sig"}));
    write("jwks.json", &testkit::jwks(&[jwk]).to_string())?;
    write("pubkey.pem", &key.public_pem)?;

    let now = testkit::now();
    let claims = |i: usize| {
        json!({
            "iss": args.issuer,
            "sub": format!("bench-client-{i}@clients"),
            "aud": args.audience,
            "iat": now,
            "exp": now + args.ttl_secs,
            "azp": format!("bench-client-{i}"),
            "gty": "client-credentials",
            "scope": args.scope,
            "jti": format!("bench-{i}"),
        })
    };
    let mut tokens = Vec::with_capacity(args.count * 800);
    for i in 0..args.count {
        writeln!(tokens, "{}", key.sign(&claims(i)))?;
    }
    write("tokens.txt", std::str::from_utf8(&tokens)?)?;

    // A token that is valid in every respect but its signature.
    let good = key.sign(&claims(args.count));
    let (input, signature) = good.rsplit_once('.').context("a JWS has three segments")?;
    write(
        "bad-token.txt",
        &format!("{input}.{}\n", testkit::tamper(signature)),
    )?;
    println!(
        "{}: jwks.json, pubkey.pem, tokens.txt ({} tokens), bad-token.txt",
        args.out.display(),
        args.count
    );
    Ok(())
}
