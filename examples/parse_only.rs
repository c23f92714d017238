//! The baseline of the end-to-end benchmark: merely parse a claims CSV with
//! the `csv` crate into records and sum `allowed_amount`. The engine's time
//! is reported as a ratio to this, the least any reader of the same bytes
//! must spend.
//!
//! A file whose first line holds a `|` is read as pipe-delimited (RIF),
//! summing `LINE_ALOWD_CHRG_AMT`, else `CLM_PMT_AMT`.
//!
//! Usage: `cargo run --release --example parse_only -- FILE...`

use std::process::ExitCode;

use episode_recon::model::money::Money;

fn main() -> ExitCode {
    let mut rows = 0u64;
    let mut total = Money::ZERO;
    for path in std::env::args().skip(1) {
        let pipes = std::fs::File::open(&path)
            .ok()
            .and_then(|f| {
                use std::io::BufRead;
                std::io::BufReader::new(f).lines().next()?.ok()
            })
            .is_some_and(|header| header.contains('|'));
        let delimiter = if pipes { b'|' } else { b',' };
        let mut reader = match csv::ReaderBuilder::new()
            .flexible(true)
            .delimiter(delimiter)
            .from_path(&path)
        {
            Ok(reader) => reader,
            Err(e) => {
                eprintln!("{path}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let column = reader.byte_headers().ok().and_then(|h| {
            ["allowed_amount", "LINE_ALOWD_CHRG_AMT", "CLM_PMT_AMT"]
                .iter()
                .find_map(|wanted| h.iter().position(|name| name == wanted.as_bytes()))
        });
        let Some(column) = column else {
            eprintln!("{path}: no allowed_amount column");
            return ExitCode::FAILURE;
        };
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).unwrap_or(false) {
            rows += 1;
            if let Some(amount) = record.get(column).and_then(Money::parse) {
                // One 24-digit amount per row: bounded by RULES 7a.
                total = total.add_claim(amount);
            }
        }
    }
    println!("{rows} rows, {total} allowed");
    ExitCode::SUCCESS
}
