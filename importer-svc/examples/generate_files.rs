//! Writes a large, valid CSV for the `files` source, for benchmarks and load tests.
//!
//! ```sh
//! cargo run -p importer-svc --example generate_files -- --rows 100000 --out /tmp/bulk
//! cargo run -p importer-svc --example generate_files -- --rows 5000 --out /tmp/small --workers 20 --seed 7
//! ```
//!
//! Every row is valid for the API: distinct external ids (`gen-<seed>-<n>`), dates within the
//! last 300 days (never today, so a run near midnight stays inside the service's window), and
//! each worker's day totalling less than 24 hours. The same seed gives the same file.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Parser;
use time::{Duration, OffsetDateTime};

/// How many days back the dates go.
const DAYS: u64 = 300;
/// The most minutes one worker logs on one day, well under the API's 1,440.
const DAY_BUDGET: u64 = 23 * 60;
const PROJECTS: [&str; 6] = [
    "STOREZERO",
    "MOBILEAPP",
    "DATAPLAT",
    "PAYMENTS",
    "INFRA-OPS",
    "SEARCH.V2",
];
const NOTES: [&str; 5] = [
    "feature work",
    "code review",
    "incident follow-up",
    "planning, estimates",
    "",
];

/// Write a CSV of valid entries for the importer's files source.
#[derive(Debug, Parser)]
struct Args {
    /// How many rows to write.
    #[arg(long)]
    rows: u64,
    /// The directory to write `generated.csv` into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// How many distinct workers the rows belong to.
    #[arg(long, default_value_t = 200)]
    workers: u64,
    /// Seeds the pseudo-random choices, and the external ids.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.workers == 0 {
        bail!("--workers must be at least 1");
    }
    // Rows go round-robin over workers, then days: each worker-day holds `per_day` rows at most.
    let per_day = args.rows.div_ceil(args.workers * DAYS).max(1);
    let max_minutes = (DAY_BUDGET / per_day).min(8 * 60);
    if max_minutes < 15 {
        bail!(
            "{} rows over {} workers would need more than 24 h per worker and day; add --workers",
            args.rows,
            args.workers
        );
    }

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let path = args.out.join("generated.csv");
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut csv = csv::Writer::from_writer(BufWriter::new(file));
    csv.write_record([
        "external_id",
        "worker_external_id",
        "worker_kind",
        "worker_name",
        "worker_email",
        "date",
        "project",
        "minutes",
        "hours",
        "notes",
        "billable",
    ])?;

    let today = OffsetDateTime::now_utc().date();
    let mut random = SplitMix64(args.seed);
    for n in 0..args.rows {
        let worker = n % args.workers;
        let day = 1 + (n / args.workers) % DAYS;
        let date = today - Duration::days(i64::try_from(day)?);
        // Quarter hours from 15 minutes up to the per-row share of the day.
        let minutes = 15 * (1 + random.below(max_minutes / 15));
        let (minutes_cell, hours_cell) = if random.below(2) == 0 {
            (minutes.to_string(), String::new())
        } else {
            // Quarter hours are exact in two decimals: "1.25", "0.50".
            (
                String::new(),
                format!("{}.{:02}", minutes / 60, minutes % 60 * 100 / 60),
            )
        };
        csv.write_record([
            format!("gen-{}-{n}", args.seed),
            format!("w-{worker:04}"),
            "contractor".to_owned(),
            format!("Worker {worker}"),
            format!("worker{worker}@example.org"),
            date.to_string(),
            PROJECTS[usize::try_from(random.below(PROJECTS.len() as u64))?].to_owned(),
            minutes_cell,
            hours_cell,
            NOTES[usize::try_from(random.below(NOTES.len() as u64))?].to_owned(),
            (random.below(5) != 0).to_string(),
        ])?;
    }
    csv.flush()?;
    eprintln!("wrote {} rows to {}", args.rows, path.display());
    Ok(())
}

/// A small, seedable generator (SplitMix64): reproducible files without another dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
