//! The baseline of the end-to-end benchmark: merely parse a claims CSV with
//! the `csv` crate into records and sum `allowed_amount`. The engine's time
//! is reported as a ratio to this, the least any reader of the same bytes
//! must spend.
//!
//! Usage: `cargo run --release --example parse_only -- FILE...`

use std::process::ExitCode;

use episode_recon::money::Money;

fn main() -> ExitCode {
    let mut rows = 0u64;
    let mut total = Money::ZERO;
    for path in std::env::args().skip(1) {
        let mut reader = match csv::ReaderBuilder::new().flexible(true).from_path(&path) {
            Ok(reader) => reader,
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let column = reader
            .byte_headers()
            .ok()
            .and_then(|h| h.iter().position(|name| name == b"allowed_amount"));
        let Some(column) = column else {
            eprintln!("{path}: no allowed_amount column");
            return ExitCode::FAILURE;
        };
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).unwrap_or(false) {
            rows += 1;
            if let Some(amount) = record.get(column).and_then(Money::parse) {
                total += amount;
            }
        }
    }
    println!("{rows} rows, {total} allowed");
    ExitCode::SUCCESS
}
