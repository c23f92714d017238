//! The invariants every fuzz target checks, beyond "it did not panic".
//!
//! A reader given arbitrary bytes must (RULES 49):
//! - give every data row exactly one outcome (a DE-SynPUF row one per
//!   claim line): rows numbered in increasing order, never more
//!   outcomes than lines;
//! - give the same outcomes however the file is cut into chunks (the
//!   parallel reader and the row-by-row one must agree);
//! - keep accepted amounts exact: an accepted line's amount is a claim
//!   amount, and its canonical text parses back to the same amount, and the
//!   whole line written as canonical CSV reads back as the same line;
//! - keep a rejected row's text findable: its `raw` is the input's bytes at
//!   its offset;
//! - fail, when it fails, with an error naming the file (the position a
//!   user needs), never a panic or an abort.
//!
//! Each check panics with what it found, which libFuzzer reports as a
//! crash with the input that caused it.

use std::path::Path;

use episode_recon::input::formats::ClaimsFormat;
use episode_recon::input::source::Source;
use episode_recon::input::{Chunking, Reading};
use episode_recon::model::money::Money;
use episode_recon::model::outcome::{RowOutcome, keep_owned};

/// The name every in-memory input is given, so that an error can be
/// checked to name it.
pub const NAME: &str = "fuzzed-input.csv";

/// Lines of `data` as a reader could count them: an upper bound on its
/// data rows (a quoted field may hold line ends, so rows can be fewer).
pub fn line_count(data: &[u8]) -> u64 {
    let ends = memchr_count(b'\n', data) + memchr_count(b'\r', data);
    ends as u64 + 1
}

fn memchr_count(byte: u8, data: &[u8]) -> usize {
    data.iter().filter(|&&b| b == byte).count()
}

/// Asserts that a fatal error names the input it is about.
pub fn assert_names_input(error: &dyn std::fmt::Display, name: &str) {
    let message = error.to_string();
    assert!(
        message.contains(name),
        "a fatal error does not name its input {name:?}: {message}"
    );
}

/// Reads `data` as claims of `format`, row by row, returning the outcomes
/// or the error's message (after checking it names the input).
fn read(format: ClaimsFormat, data: &[u8], chunking: Chunking) -> Result<Vec<RowOutcome>, String> {
    let source = Source::from_bytes(Path::new(NAME), data.to_vec());
    let reading = Reading {
        file: 0,
        as_of: None,
        chunking,
    };
    let mut outcomes = Vec::new();
    let result = format.read_chunked(source, reading, Vec::new, keep_owned, |chunk, _| {
        outcomes.extend(chunk);
        Ok::<(), episode_recon::input::claims::Error>(())
    });
    match result {
        Ok(()) => Ok(outcomes),
        Err(e) => {
            assert_names_input(&e, NAME);
            Err(e.to_string())
        }
    }
}

/// Every invariant of a claims reader on one input; `format` may be
/// [`ClaimsFormat::Auto`].
pub fn check_claims(format: ClaimsFormat, data: &[u8]) {
    let whole = read(format, data, Chunking::sequential());
    // Small chunks, several in flight: every cut a real file could get.
    let cut = read(
        format,
        data,
        Chunking {
            chunk_bytes: 61,
            batch: 3,
        },
    );
    assert_eq!(whole, cut, "the outcomes depend on how the input is cut");
    let Ok(outcomes) = whole else { return };
    let mut source = Source::from_bytes(Path::new(NAME), data.to_vec());
    // A DE-SynPUF row is one claim with up to 45 line slots (13 on
    // carrier claims): one outcome per claim line, all of one row. Every
    // other format has one outcome per row.
    let lines_per_row = match format.of_source(&mut source) {
        Ok(ClaimsFormat::Synpuf) => 45,
        _ => 1,
    };
    check_rows(data, &outcomes, lines_per_row);
    check_lines_round_trip(format, &outcomes);
}

/// One outcome per row (per claim line of a row for DE-SynPUF), each
/// where the input has it.
fn check_rows(data: &[u8], outcomes: &[RowOutcome], lines_per_row: u64) {
    let lines = line_count(data);
    assert!(
        outcomes.len() as u64 <= lines * lines_per_row,
        "{} outcomes from {lines} lines",
        outcomes.len()
    );
    let mut previous = 0;
    for outcome in outcomes {
        let source = match outcome {
            RowOutcome::Line(line) => {
                assert!(line.allowed.is_claim_amount(), "{:?}", line.allowed);
                let text = line.allowed.to_string();
                assert_eq!(
                    Money::parse(text.as_bytes()),
                    Some(line.allowed),
                    "an amount does not round-trip through {text:?}"
                );
                line.source
            }
            RowOutcome::Rejected(reject) => {
                let at = usize::try_from(reject.source.offset).expect("offset fits");
                let rest = data.get(at..).unwrap_or_default();
                assert!(
                    rest.starts_with(&reject.raw),
                    "a reject's text is not the input's at offset {at}: {:?}",
                    String::from_utf8_lossy(&reject.raw)
                );
                reject.source
            }
            RowOutcome::AfterCutoff { .. } => continue,
        };
        let repeats = lines_per_row > 1 && source.row == previous;
        assert!(
            source.row > previous || repeats,
            "row {} after row {previous}: a row twice, or out of order",
            source.row
        );
        assert!(source.row <= lines, "row {} of {lines} lines", source.row);
        previous = source.row;
    }
}

/// The accepted lines, written as the canonical CSV (`convert`'s output),
/// read back as the same lines: nothing a reader accepts is changed by
/// being converted.
fn check_lines_round_trip(format: ClaimsFormat, outcomes: &[RowOutcome]) {
    let lines: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            RowOutcome::Line(line) => Some(line),
            _ => None,
        })
        .collect();
    if lines.is_empty() || format == ClaimsFormat::Canonical {
        return;
    }
    let mut csv = episode_recon::tools::convert::COLUMNS.join(",");
    csv.push('\n');
    for line in &lines {
        let fields = episode_recon::tools::convert::fields(line);
        let quoted: Vec<String> = fields
            .iter()
            .map(|f| format!("\"{}\"", f.replace('"', "\"\"")))
            .collect();
        csv.push_str(&quoted.join(","));
        csv.push('\n');
    }
    let again = read(
        ClaimsFormat::Canonical,
        csv.as_bytes(),
        Chunking::sequential(),
    )
    .unwrap_or_else(|e| panic!("converted lines do not read back: {e}\n{csv}"));
    assert_eq!(again.len(), lines.len(), "{csv}");
    for (line, outcome) in lines.iter().zip(&again) {
        match outcome {
            RowOutcome::Line(back) => assert_eq!(
                episode_recon::tools::convert::fields(line),
                episode_recon::tools::convert::fields(back),
                "a converted line reads back changed"
            ),
            other => panic!("a converted line reads back as {other:?}\n{csv}"),
        }
    }
}

/// Writes `data` to a file named `name` in a fresh temporary folder, for
/// the readers that take a path.
pub fn file_with(name: &str, data: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("the input written");
    (dir, path)
}
