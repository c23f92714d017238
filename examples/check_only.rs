//! A rung between the end-to-end benchmark's two ends: read a claims file
//! with the engine's own reader and run every row-level check of the
//! contract (section 5) on every row, then keep nothing: no routing, no
//! encoding, no episodes (nor the version checks, which need a claim's
//! rows together and so belong to building). `benches/e2e.sh` times it beside `parse_only` and the full
//! run, so the share of a run the row checks take, which no faster
//! engine can skip, is measured rather than guessed.
//!
//! It reads in the engine's chunks on a pool of `--threads` (default 1)
//! and prints the rows read, each kind of outcome, and the amount read.
//!
//! Usage: `cargo run --release --example check_only -- [--threads N] FILE...`

use std::process::ExitCode;

use episode_recon::input::claims::{self, Chunking, Reading};
use episode_recon::input::formats::ClaimsFormat;
use episode_recon::input::source::Source;
use episode_recon::model::money::Money;
use episode_recon::model::outcome::RowOutcome;

/// What the rows of a chunk, and then of the whole input, came to.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    lines: u64,
    rejected: u64,
    after_cutoff: u64,
    amount: Money,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.lines += other.lines;
        self.rejected += other.rejected;
        self.after_cutoff += other.after_cutoff;
        self.amount = self.amount.add_claim(other.amount);
    }
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = 1;
    if let Some(at) = args.iter().position(|a| a == "--threads") {
        let value = args.get(at + 1).and_then(|v| v.parse().ok());
        let Some(value) = value.filter(|&n: &usize| n > 0) else {
            eprintln!("--threads needs a positive number");
            return ExitCode::FAILURE;
        };
        threads = value;
        args.drain(at..at + 2);
    }
    let pool = match rayon::ThreadPoolBuilder::new().num_threads(threads).build() {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("cannot start {threads} threads: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut total = Tally::default();
    for (file, path) in args.iter().enumerate() {
        let read = pool.install(|| -> Result<(), String> {
            let source = Source::open(path.as_ref(), None).map_err(|e| format!("{path}: {e}"))?;
            let reading = Reading {
                file: file as u32,
                as_of: None,
                chunking: Chunking::default(),
            };
            ClaimsFormat::Auto
                .read_chunked(
                    source,
                    reading,
                    Tally::default,
                    |tally, outcome| match outcome {
                        RowOutcome::Line(line) => {
                            tally.lines += 1;
                            tally.amount = tally.amount.add_claim(line.allowed);
                        }
                        RowOutcome::Rejected(row) => {
                            tally.rejected += 1;
                            tally.amount = tally.amount.add_claim(row.amount);
                        }
                        RowOutcome::AfterCutoff { amount } => {
                            tally.after_cutoff += 1;
                            tally.amount = tally.amount.add_claim(amount);
                        }
                    },
                    |chunk, _bytes| {
                        total.add(chunk);
                        Ok::<(), claims::Error>(())
                    },
                )
                .map_err(|e| e.to_string())
        });
        // A reading error names the file already.
        if let Err(e) = read {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    }
    let rows = total.lines + total.rejected + total.after_cutoff;
    println!(
        "{rows} rows ({} lines, {} rejected, {} after the cutoff), {} read",
        total.lines, total.rejected, total.after_cutoff, total.amount
    );
    ExitCode::SUCCESS
}
