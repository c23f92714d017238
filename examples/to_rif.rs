//! Writes a canonical claims CSV as a RIF file, for benchmarking the RIF
//! reader against the canonical one on the same claims.
//!
//! Usage: `cargo run --release --example to_rif -- CLAIMS.csv OUT.rif`

use std::path::Path;
use std::process::ExitCode;

use episode_recon::input::formats::{ClaimsFormat, rif};
use episode_recon::model::outcome::RowOutcome;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: to_rif CLAIMS.csv OUT.rif");
        return ExitCode::from(2);
    };
    let mut lines = Vec::new();
    if let Err(e) = ClaimsFormat::Canonical.read_file(Path::new(input), 0, None, |outcome| {
        if let RowOutcome::Line(line) = outcome {
            lines.push(line);
        }
    }) {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::write(output, rif::write(&lines)) {
        eprintln!("{output}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
