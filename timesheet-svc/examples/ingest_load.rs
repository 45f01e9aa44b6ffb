//! Load client for `bench/ingest`: uploads synthetic entries to `POST /v1/timesheets/upload`
//! straight to timesheet-svc (as the gateway would, with one signed assertion per request), and
//! writes the same rows as CSV so that the script can `COPY` them into a scratch table.
//!
//! ```text
//! cargo run --release -p timesheet-svc --example ingest_load -- \
//!     --url http://127.0.0.1:8081 --private-key gateway.key.pem --csv rows.csv
//! ```
//!
//! Data: `--workers` contractors; entry `i` belongs to worker `i % workers` on the day
//! `1 + i / workers` days before today (UTC), 60 to 120 minutes, so that no worker-day holds
//! more than one entry and every date lies well inside the service's default window. A batch of
//! 500 with 500 workers is one day of every worker, the shape of a daily sync.
//!
//! Prints one JSON line (`entries`, `seconds`, `rate`, `rejected`, plus request latencies) and
//! exits non-zero if any item was rejected or any request failed. Only the uploads are timed:
//! request bodies are built before the clock starts and the CSV is written after it stops.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use identity_assertion::{AssertionSigner, RequestBinding};
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};
use timesheet_domain::api::UploadResponse;
use timesheet_domain::{Principal, PrincipalKind, Scope, ScopeSet, TenantId};
use uuid::Uuid;

const UPLOAD_PATH: &str = "/v1/timesheets/upload";
const SOURCE: &str = "bench-ingest";
const SUBJECT: &str = "bench-ingest@clients";
const PROJECTS: usize = 20;

/// The columns of the CSV (its header line), in order: those of `time_entry`, so that
/// `COPY scratch(<header>) FROM ... (FORMAT csv, HEADER true)` loads the same rows.
const CSV_COLUMNS: &str = "entry_id,tenant_id,worker_id,work_date,project_code,minutes,notes,\
billable,source,external_id,status,version,created_at,created_by,updated_at,updated_by,deleted_at";

#[derive(Parser, Debug)]
#[command(about = "Upload synthetic time entries to timesheet-svc and report the rate")]
struct Args {
    /// Base URL of timesheet-svc (not the gateway), e.g. http://127.0.0.1:8081.
    #[arg(long)]
    url: String,
    /// The gateway's private key (PKCS#8 PEM) that the service trusts.
    #[arg(long)]
    private_key: PathBuf,
    #[arg(long, default_value_t = 100_000)]
    entries: usize,
    /// Entries per upload (the service accepts at most 1,000).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Uploads in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    #[arg(long, default_value = "bench")]
    tenant: String,
    /// Distinct workers the entries are spread over.
    #[arg(long, default_value_t = 500)]
    workers: usize,
    /// Write the uploaded rows here as CSV: a header line naming the columns of time_entry,
    /// then one line per uploaded entry.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Per-request timeout.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
}

/// One synthetic entry.
struct Row {
    external_id: String,
    worker: usize,
    date: Date,
    project: String,
    minutes: u32,
    notes: String,
    billable: bool,
}

/// What one request reported.
struct Outcome {
    batch: usize,
    elapsed: Duration,
    ids: Vec<Option<Uuid>>,
    rejected: usize,
    sent_at: OffsetDateTime,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.batch == 0 || args.concurrency == 0 || args.workers == 0 || args.entries == 0 {
        bail!("--entries, --batch, --concurrency and --workers must be at least 1");
    }
    let days = args.entries.div_ceil(args.workers);
    if days > 390 {
        bail!(
            "{} entries over {} workers need {days} days; the service accepts at most 400 \
             days back: raise --workers",
            args.entries,
            args.workers
        );
    }
    let pem = std::fs::read_to_string(&args.private_key)
        .with_context(|| format!("reading {}", args.private_key.display()))?;
    let signer =
        AssertionSigner::from_pem(&pem, None, identity_assertion::AUDIENCE_TIMESHEET_SVC, 60)
            .with_context(|| format!("loading {}", args.private_key.display()))?;
    let tenant = TenantId::parse(&args.tenant).context("--tenant")?;

    let today = OffsetDateTime::now_utc().date();
    let rows: Vec<Row> = (0..args.entries)
        .map(|i| make_row(i, args.workers, today))
        .collect::<anyhow::Result<_>>()?;
    let bodies: Vec<String> = rows
        .chunks(args.batch)
        .map(upload_body)
        .collect::<anyhow::Result<_>>()?;

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout_secs))
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .context("building the HTTP client")?;
    let url = format!("{}{UPLOAD_PATH}", args.url.trim_end_matches('/'));

    let shared = Arc::new(Shared {
        client,
        url,
        signer,
        tenant,
        bodies,
        next: AtomicUsize::new(0),
        failed: AtomicBool::new(false),
    });

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let shared = Arc::clone(&shared);
        tasks.spawn(async move { shared.work().await });
    }
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(shared.bodies.len());
    let mut errors: Vec<String> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((done, error)) => {
                outcomes.extend(done);
                errors.extend(error);
            }
            Err(err) => errors.push(format!("a worker task failed: {err}")),
        }
    }
    let seconds = started.elapsed().as_secs_f64();

    outcomes.sort_by_key(|o| o.batch);
    let uploaded: usize = outcomes.iter().map(|o| o.ids.len()).sum();
    let rejected: usize = outcomes.iter().map(|o| o.rejected).sum();
    let mut latencies: Vec<f64> = outcomes
        .iter()
        .map(|o| o.elapsed.as_secs_f64() * 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let rate = if seconds > 0.0 {
        uploaded as f64 / seconds
    } else {
        0.0
    };
    println!(
        "{}",
        json!({
            "entries": uploaded,
            "seconds": round3(seconds),
            "rate": round3(rate),
            "rejected": rejected,
            "requests": outcomes.len(),
            "failed_requests": errors.len(),
            "batch": args.batch,
            "concurrency": args.concurrency,
            "workers": args.workers,
            "latency_ms": {
                "p50": round3(percentile(&latencies, 0.50)),
                "p95": round3(percentile(&latencies, 0.95)),
                "max": round3(latencies.last().copied().unwrap_or(0.0)),
            },
        })
    );

    if let Some(path) = &args.csv {
        write_csv(path, &args, &rows, &outcomes)
            .with_context(|| format!("writing {}", path.display()))?;
    }

    for err in errors.iter().take(5) {
        eprintln!("ingest_load: {err}");
    }
    if !errors.is_empty() {
        bail!("{} request(s) failed", errors.len());
    }
    if rejected > 0 {
        bail!("{rejected} item(s) rejected");
    }
    if uploaded != args.entries {
        bail!("{uploaded} of {} entries uploaded", args.entries);
    }
    Ok(())
}

struct Shared {
    client: reqwest::Client,
    url: String,
    signer: AssertionSigner,
    tenant: TenantId,
    bodies: Vec<String>,
    next: AtomicUsize,
    failed: AtomicBool,
}

impl Shared {
    /// Takes batches until none is left or a request failed; returns what it did and the first
    /// error it met.
    async fn work(&self) -> (Vec<Outcome>, Option<String>) {
        let mut done = Vec::new();
        loop {
            if self.failed.load(Ordering::Relaxed) {
                return (done, None);
            }
            let batch = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(body) = self.bodies.get(batch) else {
                return (done, None);
            };
            match self.send(batch, body).await {
                Ok(outcome) => done.push(outcome),
                Err(err) => {
                    self.failed.store(true, Ordering::Relaxed);
                    return (done, Some(format!("batch {batch}: {err:#}")));
                }
            }
        }
    }

    async fn send(&self, batch: usize, body: &str) -> anyhow::Result<Outcome> {
        let sent_at = OffsetDateTime::now_utc();
        let now = sent_at.unix_timestamp();
        let request_id = Uuid::now_v7().to_string();
        let principal = Principal {
            tenant: self.tenant.clone(),
            subject: SUBJECT.to_owned(),
            client_id: Some(SUBJECT.trim_end_matches("@clients").to_owned()),
            kind: PrincipalKind::Machine,
            scopes: ScopeSet::from_iter([Scope::BatchUpload]),
            token_id: None,
            token_expires_at: now + 3600,
        };
        let binding = RequestBinding {
            method: "POST".to_owned(),
            path_and_query: UPLOAD_PATH.to_owned(),
            request_id: request_id.clone(),
        };
        let assertion = self
            .signer
            .sign(&principal, &binding, now)
            .context("signing the assertion")?;

        let started = Instant::now();
        let response = self
            .client
            .post(&self.url)
            .header(identity_assertion::HEADER, assertion)
            .header("x-request-id", &request_id)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .send()
            .await
            .context("sending the upload")?;
        let status = response.status();
        let text = response.text().await.context("reading the response")?;
        let elapsed = started.elapsed();
        if !status.is_success() {
            bail!(
                "HTTP {status} (request id {request_id}): {}",
                text.chars().take(500).collect::<String>()
            );
        }
        let parsed: UploadResponse = serde_json::from_str(&text)
            .with_context(|| format!("parsing the response of request {request_id}"))?;
        if let Some(first) = parsed.results.iter().find(|r| r.problem.is_some()) {
            eprintln!(
                "ingest_load: batch {batch}: {} rejected, first: {}",
                parsed.rejected,
                serde_json::to_string(first).unwrap_or_default()
            );
        }
        Ok(Outcome {
            batch,
            elapsed,
            ids: parsed.results.iter().map(|r| r.id).collect(),
            rejected: parsed.rejected,
            sent_at,
        })
    }
}

fn make_row(i: usize, workers: usize, today: Date) -> anyhow::Result<Row> {
    let worker = i % workers;
    let days_back = 1 + i / workers;
    let date = today
        .checked_sub(time::Duration::days(i64::try_from(days_back)?))
        .context("date out of range")?;
    Ok(Row {
        external_id: format!("bench-{i:07}"),
        worker,
        date,
        project: format!("BENCH-{:02}", (i / 7 + worker) % PROJECTS),
        // 60 to 120 minutes: at most 200 * 120 per worker in all, far below a day's 1,440.
        minutes: 60 + u32::try_from((i * 37) % 61)?,
        notes: format!("synthetic entry {i}, ingest benchmark"),
        billable: i % 3 < 2,
    })
}

fn worker_external_id(worker: usize) -> String {
    format!("bench-w{worker:05}")
}

fn upload_body(rows: &[Row]) -> anyhow::Result<String> {
    let entries: Vec<serde_json::Value> = rows
        .iter()
        .map(|row| {
            json!({
                "external_id": row.external_id,
                "worker": {
                    "external_id": worker_external_id(row.worker),
                    "kind": "contractor",
                    "name": format!("Bench Worker {}", row.worker),
                },
                "date": row.date.to_string(),
                "project": row.project,
                "minutes": row.minutes,
                "notes": row.notes,
                "billable": row.billable,
            })
        })
        .collect();
    serde_json::to_string(&json!({"source": SOURCE, "entries": entries}))
        .context("serializing an upload")
}

/// The rows as the service stores them: the entry ids it returned, a stable made-up worker id
/// (the upload response does not carry the service's), the send time as created/updated time.
fn write_csv(
    path: &std::path::Path,
    args: &Args,
    rows: &[Row],
    outcomes: &[Outcome],
) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::new(file);
    writeln!(out, "{CSV_COLUMNS}")?;
    for outcome in outcomes {
        let start = outcome.batch * args.batch;
        let stamp = outcome.sent_at.format(&Rfc3339)?;
        for (offset, id) in outcome.ids.iter().enumerate() {
            let Some(row) = rows.get(start + offset) else {
                bail!(
                    "the service answered more results than batch {} had",
                    outcome.batch
                );
            };
            let entry_id = id.unwrap_or_else(Uuid::now_v7);
            let worker_id =
                Uuid::from_u128(0xbe0c_0000_0000_7000_8000_0000_0000_0000 | row.worker as u128);
            writeln!(
                out,
                "{entry_id},{tenant},{worker_id},{date},{project},{minutes},{notes},{billable},\
                 {source},{external_id},open,1,{stamp},{actor},{stamp},{actor},",
                tenant = csv_field(&args.tenant),
                date = row.date,
                project = csv_field(&row.project),
                minutes = row.minutes,
                notes = csv_field(&row.notes),
                billable = row.billable,
                source = csv_field(SOURCE),
                external_id = csv_field(&row.external_id),
                actor = csv_field(SUBJECT),
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

/// A CSV field (PostgreSQL's CSV format): quoted when it holds a delimiter, quote or newline, or
/// is empty (an unquoted empty field is NULL).
fn csv_field(value: &str) -> String {
    if value.is_empty() || value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(rank).copied().unwrap_or(0.0)
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
