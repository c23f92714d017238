//! Reading other formats through the whole engine: `--claims-format`,
//! `auto` detection, `convert`, and a RIF round trip that must reconcile to
//! the same bytes as the canonical claims it came from.

use episode_recon::model::Text;
use std::collections::BTreeMap;
use std::path::Path;

use episode_recon::model::money::Money;
use episode_recon::model::outcome::{RowOutcome, keep_owned};
use episode_recon::model::{ClaimLine, ClaimType, Date, RecordType};
use episode_recon::tools::convert;
use episode_recon::tools::generate::generate;

use crate::support::{Outputs, SAMPLE_TEAM_FILES, cli_in, generated_enrollment, sample_team_files};
use episode_recon::input::formats::{ClaimsFormat, rif};
use episode_recon::input::source::Source;

/// Generated canonical lines with each institutional version's amount moved
/// to its first line, the form in which RIF carries claim-level amounts.
fn institutional_totals_on_first_lines(mut lines: Vec<ClaimLine>) -> Vec<ClaimLine> {
    type Version = (Text, Text, RecordType, Date);
    lines.sort_by(|a, b| {
        (
            &a.beneficiary_id,
            &a.claim_id,
            a.record_type,
            a.processed_date,
            a.line_number,
        )
            .cmp(&(
                &b.beneficiary_id,
                &b.claim_id,
                b.record_type,
                b.processed_date,
                b.line_number,
            ))
    });
    let mut totals: BTreeMap<Version, Money> = BTreeMap::new();
    for l in &lines {
        let key = (
            l.beneficiary_id.clone(),
            l.claim_id.clone(),
            l.record_type,
            l.processed_date,
        );
        let total = totals.entry(key).or_default();
        *total = total.add_claim(l.allowed);
    }
    let mut seen: BTreeMap<Version, ()> = BTreeMap::new();
    for l in &mut lines {
        if matches!(l.claim_type, ClaimType::Pb | ClaimType::Dme) {
            continue;
        }
        let key = (
            l.beneficiary_id.clone(),
            l.claim_id.clone(),
            l.record_type,
            l.processed_date,
        );
        l.allowed = if seen.insert(key.clone(), ()).is_none() {
            totals[&key]
        } else {
            Money::ZERO
        };
    }
    lines
}

/// The canonical CSV of lines, every column the engine reads, as `convert`
/// writes it.
fn canonical_csv(lines: &[ClaimLine]) -> String {
    let mut out = convert::COLUMNS.join(",");
    out.push('\n');
    for line in lines {
        out.push_str(&convert::fields(line).join(","));
        out.push('\n');
    }
    out
}

/// The claim lines of `beneficiaries` generated beneficiaries, with the
/// generated definitions and prices under `dir/data`.
fn generated_lines(dir: &Path, beneficiaries: u64, seed: u64) -> Vec<ClaimLine> {
    generate(beneficiaries, seed, &dir.join("data")).expect("generate claims");
    let mut lines = Vec::new();
    ClaimsFormat::Canonical
        .read_file(&dir.join("data/claims/claims.csv"), 0, None, |outcome| {
            if let RowOutcome::Line(line) = outcome {
                lines.push(line);
            }
        })
        .expect("generated claims read");
    lines
}

fn reconcile(dir: &Path, claims: &str, format: &str, out: &str) -> Outputs {
    let enrollment = generated_enrollment("data/");
    let mut args = vec![
        "reconcile",
        "--claims-format",
        format,
        "--claims",
        claims,
        "--definitions",
        "data/definitions",
        "--target-prices",
        "data/target_prices.csv",
        "--out",
        out,
    ];
    args.extend(enrollment.iter().map(String::as_str));
    let run = cli_in(dir, &args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    Outputs::read(&dir.join(out))
}

/// Generated claims written as RIF and read back reconcile to exactly the
/// outputs of the same claims as canonical CSV, whether the format is named
/// or detected.
#[test]
fn a_rif_round_trip_reconciles_to_the_same_bytes() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let lines = generated_lines(dir.path(), 300, 11);
    let lines = institutional_totals_on_first_lines(lines);
    std::fs::write(dir.path().join("canonical.csv"), canonical_csv(&lines)).expect("write");
    std::fs::write(dir.path().join("claims.rif"), rif::write(&lines)).expect("write");

    let canonical = reconcile(dir.path(), "canonical.csv", "canonical", "out-canonical");
    assert!(
        canonical.episodes.lines().count() > 10,
        "the generated set has episodes"
    );
    let rif = reconcile(dir.path(), "claims.rif", "rif", "out-rif");
    let auto = reconcile(dir.path(), "claims.rif", "auto", "out-auto");
    assert_eq!(rif, canonical);
    assert_eq!(auto, canonical);
}

/// `convert` writes what the engine reads: reconciling the converted file
/// gives the outputs of reconciling the RIF file itself.
#[test]
fn convert_writes_what_the_engine_sees() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let lines = generated_lines(dir.path(), 120, 5);
    let mut rif_text = rif::write(&institutional_totals_on_first_lines(lines));
    // One row that cannot be mapped: an unknown claim type code.
    let bad = "INSERT|B9|C9|F|99|01-JAN-2026|01-JAN-2026|05-JAN-2026||||1.00|||||1||||";
    rif_text.push_str(bad);
    rif_text.push('\n');
    std::fs::write(dir.path().join("claims.rif"), &rif_text).expect("write");

    let run = cli_in(
        dir.path(),
        &[
            "convert",
            "--claims",
            "claims.rif",
            "--out",
            "converted/claims.csv",
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("1 row(s) could not be mapped"), "{stdout}");
    let rejects =
        std::fs::read_to_string(dir.path().join("converted/claims.rejects.csv")).expect("rejects");
    let rows = rif_text.lines().count();
    assert_eq!(
        rejects,
        format!("file,row,reason,record\nclaims.rif,{rows},bad_claim_type,{bad}\n")
    );

    let from_rif = reconcile(dir.path(), "claims.rif", "rif", "out-rif");
    let from_converted = reconcile(
        dir.path(),
        "converted/claims.csv",
        "canonical",
        "out-converted",
    );
    assert_eq!(from_converted.episodes, from_rif.episodes);
    assert_eq!(from_converted.ledger, from_rif.ledger);
    assert_eq!(from_converted.providers, from_rif.providers);
}

/// A bad row takes the rest of its version with it in `convert` as in a
/// run (here the bad row comes first in example 01 and second in the
/// sample): reconciling the converted claims gives the committed outputs of
/// reconciling the originals.
#[test]
fn converted_claims_never_count_half_a_claim() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (claims, definitions, prices, expected, held, team) in [
        (
            "tests/golden/01-one-episode/claims/claims.csv",
            "tests/golden/01-one-episode/definitions",
            "tests/golden/01-one-episode/target_prices.csv",
            "tests/golden/01-one-episode/expected",
            "claims.csv,17,claim_has_rejected_row,",
            &[][..],
        ),
        (
            "sample-claims/claims",
            "episode-definitions",
            "sample-claims/target_prices.csv",
            "tests/golden/sample/expected",
            ",claim_has_rejected_row,",
            &SAMPLE_TEAM_FILES[..],
        ),
    ] {
        let dir = tempfile::tempdir().expect("temporary folder");
        let converted = dir.path().join("converted.csv");
        let convert = cli_in(
            root,
            &[
                "convert",
                "--claims",
                claims,
                "--out",
                converted.to_str().expect("UTF-8"),
            ],
        );
        assert!(
            convert.status.success(),
            "{}",
            String::from_utf8_lossy(&convert.stderr)
        );
        let rejects =
            std::fs::read_to_string(dir.path().join("converted.rejects.csv")).expect("rejects");
        assert!(rejects.contains(held), "{claims}: {rejects}");
        let out = dir.path().join("out");
        let mut args = vec![
            "reconcile",
            "--claims",
            converted.to_str().expect("UTF-8"),
            "--definitions",
            definitions,
            "--target-prices",
            prices,
            "--out",
            out.to_str().expect("UTF-8"),
        ];
        args.extend_from_slice(team);
        let run = cli_in(root, &args);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let (actual, expected) = (Outputs::read(&out), Outputs::read(&root.join(expected)));
        assert_eq!(actual.episodes, expected.episodes, "{claims}");
        assert_eq!(actual.ledger, expected.ledger, "{claims}");
        assert_eq!(actual.providers, expected.providers, "{claims}");
    }
}

/// A conversion that fails part way (the second file does not exist)
/// leaves neither output file behind, and an existing one untouched.
#[test]
fn a_failed_conversion_leaves_no_half_written_file() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let carrier = root.join("tests/fixtures/rif/episode/carrier.txt");
    let carrier = carrier.to_str().expect("UTF-8 path");
    std::fs::create_dir(dir.path().join("kept")).expect("folder");
    std::fs::write(dir.path().join("kept/claims.csv"), "earlier\n").expect("write");
    for out in ["fresh/claims.csv", "kept/claims.csv"] {
        let run = cli_in(
            dir.path(),
            &[
                "convert",
                "--claims-format",
                "rif",
                "--claims",
                carrier,
                "missing.rif",
                "--out",
                out,
                "--force",
            ],
        );
        assert_eq!(run.status.code(), Some(1), "{out}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(stderr.contains("missing.rif"), "{stderr}");
    }
    let fresh: Vec<_> = std::fs::read_dir(dir.path().join("fresh"))
        .expect("the folder was made")
        .collect();
    assert!(fresh.is_empty(), "{fresh:?}");
    let kept: Vec<_> = std::fs::read_dir(dir.path().join("kept"))
        .expect("folder")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(kept, ["claims.csv"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("kept/claims.csv")).expect("read"),
        "earlier\n"
    );
    // Converting a file onto itself is refused, and the file is kept.
    let input = dir.path().join("input.rif");
    std::fs::copy(root.join("tests/fixtures/rif/episode/carrier.txt"), &input).expect("copy");
    let before = std::fs::read(&input).expect("read");
    let run = cli_in(
        dir.path(),
        &[
            "convert",
            "--claims-format",
            "rif",
            "--claims",
            "input.rif",
            "--out",
            "input.rif",
            "--force",
        ],
    );
    // A usage error (exit 2), as an --out folder holding an input is.
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("this is the input"), "{stderr}");
    assert!(!stderr.contains("cannot write"), "{stderr}");
    assert_eq!(std::fs::read(&input).expect("read"), before);
}

/// `convert` refuses an `--out` file (or its rejects file) that exists, as
/// the other commands refuse an `--out` folder that is not empty: same
/// words, same exit status 2; `--force` replaces both.
#[test]
fn convert_refuses_an_existing_out_unless_forced() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let carrier = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rif/episode/carrier.txt"
    );
    let convert = |out: &str, force: bool| {
        let mut args = vec!["convert", "--claims-format", "rif", "--claims", carrier];
        args.extend(["--out", out]);
        if force {
            args.push("--force");
        }
        cli_in(dir.path(), &args)
    };
    let first = convert("claims.csv", false);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let written = std::fs::read(dir.path().join("claims.csv")).expect("read");
    std::fs::write(dir.path().join("claims.csv"), "earlier\n").expect("write");

    let again = convert("claims.csv", false);
    assert_eq!(again.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(
        stderr,
        "error: claims.csv: output file exists; expected a new file (use --force to replace it)\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("claims.csv")).expect("read"),
        "earlier\n"
    );
    // The rejects file alone is enough to refuse: it would be replaced.
    std::fs::write(dir.path().join("other.rejects.csv"), "mine\n").expect("write");
    let beside = convert("other.csv", false);
    assert_eq!(beside.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&beside.stderr);
    assert!(
        stderr.contains("other.rejects.csv: output file exists"),
        "{stderr}"
    );
    assert!(!dir.path().join("other.csv").exists());

    let forced = convert("claims.csv", true);
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert_eq!(
        std::fs::read(dir.path().join("claims.csv")).expect("read"),
        written
    );
}

/// `--claims-format` takes only the formats the engine reads.
#[test]
fn an_unknown_claims_format_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let run = cli_in(
        dir.path(),
        &[
            "convert",
            "--claims-format",
            "cclf9",
            "--claims",
            "x",
            "--out",
            "y.csv",
        ],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("cclf9"));
}

/// `auto` names each file's format from its header: RIF by its pipes and
/// `BENE_ID`, DE-SynPUF by `DESYNPUF_ID`, anything else canonical.
#[test]
fn auto_detects_each_file_from_its_header() {
    use episode_recon::input::formats::ClaimsFormat;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let detected = |relative: &str| {
        ClaimsFormat::Auto
            .of_file(&root.join(relative))
            .expect("readable")
    };
    assert_eq!(
        detected("tests/fixtures/rif/sample-a-inpatient.txt"),
        ClaimsFormat::Rif
    );
    assert_eq!(
        detected("tests/fixtures/rif/synthea/carrier.csv"),
        ClaimsFormat::Rif
    );
    for kind in [
        "Inpatient_Claims_Sample_0",
        "Outpatient_Claims_Sample_0",
        "Carrier_Claims_Sample_0A",
    ] {
        let file = format!("tests/fixtures/synpuf/DE1_0_2008_to_2010_{kind}.csv");
        assert_eq!(detected(&file), ClaimsFormat::Synpuf, "{kind}");
    }
    assert_eq!(
        detected("sample-claims/claims/2025-claims.csv"),
        ClaimsFormat::Canonical
    );
    // A named format is used as given.
    assert_eq!(
        ClaimsFormat::Rif
            .of_file(&root.join("sample-claims/claims/2025-claims.csv"))
            .expect("readable"),
        ClaimsFormat::Rif
    );
}

/// Files of different formats given together are one input: the summary
/// of the mixed run adds up to the rows of each file.
#[test]
fn files_of_several_formats_reconcile_together() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().expect("temporary folder");
    let out = out.path().join("out");
    let mut args = vec![
        "reconcile",
        "--claims-format",
        "auto",
        "--claims",
        "tests/fixtures/rif/sample-a-inpatient.txt",
        "tests/fixtures/synpuf/DE1_0_2008_to_2010_Inpatient_Claims_Sample_0.csv",
        "sample-claims/claims/2025-claims.csv",
        "--definitions",
        "episode-definitions",
        "--target-prices",
        "sample-claims/target_prices.csv",
        "--out",
        out.to_str().expect("UTF-8"),
    ];
    args.extend(SAMPLE_TEAM_FILES);
    let run = cli_in(root, &args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("from 3 claims file(s)"), "{stdout}");
    assert!(
        stdout.contains("Every row and dollar is accounted for"),
        "{stdout}"
    );
}

/// A CCLF file given with `--claims-format auto` is read as CCLF, through
/// the whole engine.
#[test]
fn auto_reads_a_cclf_file_through_the_engine() {
    use crate::cclf::{CCLF1_HEADER, cclf1_row};
    use episode_recon::input::formats::ClaimsFormat;
    let dir = tempfile::tempdir().expect("temporary folder");
    let text = format!(
        "{CCLF1_HEADER}\n{}\n{}\n",
        cclf1_row("1001", "5000.00", "0", "2026-02-01"),
        cclf1_row("1001", "5200.00", "2", "2026-03-01")
    );
    std::fs::write(dir.path().join("cclf1.txt"), text).expect("write");
    let detected = ClaimsFormat::Auto
        .of_file(&dir.path().join("cclf1.txt"))
        .expect("readable");
    assert_eq!(detected, ClaimsFormat::Cclf);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let team = sample_team_files();
    let definitions = root.join("episode-definitions");
    let prices = root.join("sample-claims/target_prices.csv");
    let mut args = vec![
        "reconcile",
        "--claims-format",
        "auto",
        "--claims",
        "cclf1.txt",
        "--definitions",
        definitions.to_str().expect("UTF-8"),
        "--target-prices",
        prices.to_str().expect("UTF-8"),
        "--out",
        "out",
    ];
    args.extend(team.iter().map(String::as_str));
    let run = cli_in(dir.path(), &args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary = Outputs::read(&dir.path().join("out")).summary_json();
    assert_eq!(summary["rows"]["read"], 2);
    assert_eq!(summary["rows"]["superseded"], 1);
    assert_eq!(summary["amounts"]["final_action"], "5200.00");
}

/// Reading a RIF file in parallel chunks gives every row the outcome the
/// sequential reader gives it, whatever the chunk size, batch and threads:
/// in particular the claim amount stays on the first row of each version in
/// the file when a version's rows straddle chunks. The reference reads from
/// a stream, remembering every version from the start; the file readers
/// remember only the current claim's while the file is in claim order, and
/// re-read the rows before the first disorder (here at the start, in the
/// middle, or only at the last row, a far repeat of an inpatient row).
#[test]
fn rif_chunks_give_the_sequential_outcomes() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let lines = generated_lines(dir.path(), 40, 3);
    let text = rif::write(&lines);
    let (header, rows) = text.split_once('\n').expect("a header");
    let rows: Vec<&str> = rows.lines().collect();
    let in_order = rows.clone();
    let halves_swapped = [&rows[rows.len() / 2..], &rows[..rows.len() / 2]].concat();
    // Every 7th row, then every 7th from the second, ...: a claim's rows
    // far apart.
    let interleaved: Vec<&str> = (0..7)
        .flat_map(|start| rows.iter().skip(start).step_by(7).copied())
        .collect();
    // An institutional row (claim-level amount) to repeat at the end.
    let institutional = *rows
        .iter()
        .find(|row| {
            row.split('|')
                .nth(4)
                .is_some_and(|code| code.starts_with('6'))
        })
        .expect("an inpatient row");
    for (name, rows) in [
        ("in order", in_order),
        ("halves swapped", halves_swapped),
        ("interleaved", interleaved),
    ] {
        let mut text = format!("{header}\n{}\n", rows.join("\n"));
        // A bad row, a blank line and a row of a version seen far earlier.
        text.push_str(
            "INSERT|B9|C9|F|99|01-JAN-2026|01-JAN-2026|05-JAN-2026||||1.00|||||1||||\n\n",
        );
        text.push_str(institutional);
        text.push('\n');
        let path = dir.path().join("claims.rif");
        std::fs::write(&path, &text).expect("write");
        rif_chunks_match_the_stream(&path, name);
    }
}

fn rif_chunks_match_the_stream(path: &Path, name: &str) {
    use episode_recon::input::claims::{Chunking, Reading};
    use proptest::prelude::*;
    for as_of in [None, Some("2026-06-30")] {
        let as_of = as_of.map(|d| episode_recon::model::parse_date(d.as_bytes()).expect("date"));
        let mut sequential = Vec::new();
        // Bytes that cannot be read again: every version is remembered.
        let stream = Source::from_bytes(path, std::fs::read(path).expect("read"));
        ClaimsFormat::Rif
            .read(stream, 0, as_of, |o| sequential.push(o))
            .expect("readable");
        let mut from_file = Vec::new();
        ClaimsFormat::Rif
            .read_file(path, 0, as_of, |o| from_file.push(o))
            .expect("readable");
        assert_eq!(from_file, sequential, "{name}");
        proptest!(ProptestConfig::with_cases(16), |(chunk_bytes in 1usize..600, batch in 1usize..4, threads in 1usize..4)| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("pool");
            let mut chunked = Vec::new();
            pool.install(|| {
                ClaimsFormat::Rif.read_chunked(
                    Source::open(path, None).expect("open"),
                    Reading { file: 0, as_of, chunking: Chunking { chunk_bytes, batch } },
                    Vec::new,
                    keep_owned,
                    |rows, _| -> Result<(), episode_recon::input::claims::Error> {
                        chunked.extend(rows);
                        Ok(())
                    },
                )
            })
            .expect("readable");
            prop_assert_eq!(&chunked, &sequential, "{}", name);
        });
    }
}

/// A RIF file out of claim order read from a pipe, which cannot be read a
/// second time: the reader remembers every version from the start instead
/// of re-reading, and gives the outcomes it gives the same bytes as a file.
#[cfg(unix)]
#[test]
fn an_unsorted_rif_file_reads_from_a_pipe() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let text = "BENE_ID|CLM_ID|NCH_CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT|CLM_PMT_AMT|CLM_LINE_NUM\n\
                B2|C2|60|01-JAN-2026|05-JAN-2026|100.00|1\n\
                B1|C1|60|01-JAN-2026|05-JAN-2026|200.00|1\n\
                B2|C2|60|01-JAN-2026|05-JAN-2026|100.00|2\n";
    let file = dir.path().join("claims.rif");
    std::fs::write(&file, text).expect("write");
    let mut from_file = Vec::new();
    ClaimsFormat::Rif
        .read_file(&file, 0, None, |o| from_file.push(o))
        .expect("readable");
    let allowed: Vec<_> = from_file
        .iter()
        .map(|o| match o {
            RowOutcome::Line(l) => l.allowed.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(allowed, ["100.00", "200.00", "0.00"]);

    let fifo = dir.path().join("claims.pipe");
    let writer = crate::support::fifo_fed_with(&fifo, text.as_bytes().to_vec());
    let mut from_pipe = Vec::new();
    ClaimsFormat::Rif
        .read_file(&fifo, 0, None, |o| from_pipe.push(o))
        .expect("a pipe is readable");
    writer.join().expect("writer");
    assert_eq!(from_pipe, from_file);
}

/// `convert` writes a rejected row's text as the file had it, bytes that
/// are not UTF-8 included, as `rejects.csv` does (RULES 3).
#[test]
fn convert_keeps_the_raw_bytes_of_a_rejected_row() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut bytes =
        b"claim_id,line_number,beneficiary_id,claim_type,from_date,thru_date,allowed_amount\n"
            .to_vec();
    bytes.extend_from_slice(b"C1,1,B\xff1,PB,2026-03-02,2026-03-02,10.00\n");
    std::fs::write(dir.path().join("claims.csv"), &bytes).expect("write");
    let run = cli_in(
        dir.path(),
        &["convert", "--claims", "claims.csv", "--out", "c.csv"],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let rejects = std::fs::read(dir.path().join("c.rejects.csv")).expect("rejects");
    let expected = b"file,row,reason,record\nclaims.csv,2,bad_encoding,\"C1,1,B\xff1,PB,2026-03-02,2026-03-02,10.00\"\n";
    assert_eq!(rejects, expected.to_vec());
}

/// Regression (issue #16): `--claims-format auto` on a CMS extract's
/// folder stopped at its beneficiary summary with "missing required column
/// claim_id", and picked up only `*.csv`. Now the folder's `.txt` files are
/// read, the files that are not claims are skipped with a notice naming
/// each, the format of each claims file is said at the default verbosity,
/// and a file that fits no format is refused with its first bytes.
#[test]
fn auto_on_a_cms_folder_skips_what_is_not_claims() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let episode = root.join("tests/fixtures/rif/episode");
    let extract = dir.path().join("extract");
    std::fs::create_dir(&extract).expect("folder");
    for name in [
        "inpatient.txt",
        "snf.txt",
        "carrier.txt",
        "beneficiary_2024.txt",
    ] {
        std::fs::copy(episode.join(name), extract.join(name)).expect("copy");
    }
    std::fs::write(
        extract.join("pde.csv"),
        "DML_IND|PDE_ID|CLM_GRP_ID|FINAL_ACTION|BENE_ID|SRVC_DT\nI|P1|G1|Y|B1|01-JAN-2024\n",
    )
    .expect("write");
    std::fs::write(
        extract.join("export_summary.csv"),
        "BENE_ID,CARRIER_CLAIMS,DME_CLAIMS\nB1,3,0\n",
    )
    .expect("write");
    let run = |out: &str| {
        cli_in(
            dir.path(),
            &[
                "reconcile",
                "--claims-format",
                "auto",
                "--claims",
                "extract",
                "--definitions",
                &root
                    .join("episode-definitions/bpci-advanced")
                    .display()
                    .to_string(),
                "--target-prices",
                &episode.join("target_prices.csv").display().to_string(),
                "--out",
                out,
            ],
        )
    };
    let output = run("out");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    for skipped in ["beneficiary_2024.txt", "pde.csv", "export_summary.csv"] {
        let line = stderr
            .lines()
            .find(|l| l.contains("skipping") && l.contains(skipped))
            .unwrap_or_else(|| panic!("no notice for {skipped}: {stderr}"));
        assert!(
            line.contains("holds no claims") || line.contains("this is"),
            "{line}"
        );
    }
    for read in ["inpatient.txt", "snf.txt", "carrier.txt"] {
        assert!(
            stderr.contains(&format!("{read} as rif claims")),
            "{read}: {stderr}"
        );
    }
    // The same claims given file by file give the same episodes.
    let direct = Outputs::read(&dir.path().join("out"));
    assert!(direct.episodes.lines().count() > 1, "{}", direct.episodes);

    std::fs::write(extract.join("notes.csv"), "hello,world\n").expect("write");
    let output = run("out-2");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("notes.csv: format not recognised (the first line starts \"hello,world\")"),
        "{stderr}"
    );
}

/// `convert` writes the same bytes whatever the threads and chunks: its
/// lines are formatted chunk by chunk in parallel and written in file
/// order, and its two passes (a rejected row holds back its version) read
/// the same chunks. The inputs hold rows rejected for themselves and rows
/// held back, in canonical and RIF files, and a file that is not claims.
#[test]
fn convert_gives_the_same_bytes_on_any_threads_and_chunks() {
    use episode_recon::input::claims::Chunking;
    use episode_recon::output::report::CsvView;
    use episode_recon::runtime::progress::Progress;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temporary folder");
    // A version whose bad row comes after three good ones, and ids a
    // spreadsheet would take for formulas, one of them quoted.
    let own = dir.path().join("own.csv");
    std::fs::write(
        &own,
        "claim_id,line_number,beneficiary_id,claim_type,from_date,thru_date,allowed_amount,provider_id\n\
         H1,1,B7,PB,2026-04-03,2026-04-03,10.00,P1\n\
         H1,2,B7,PB,2026-04-03,2026-04-03,11.00,P1\n\
         =H2,1,B7,PB,2026-04-03,2026-04-03,-3.00,\"@P,2\"\n\
         H1,3,B7,PB,2026-04-03,2026-04-03,12.00,P1\n\
         H1,4,B7,PB,2026-04-03,2026-04-03,x,P1\n\
         H3,1,-B8,PB,2026-04-03,2026-04-03,13.00,P1\n",
    )
    .expect("write");
    let mut files: Vec<_> = [
        "sample-claims/claims/2025-claims.csv",
        "sample-claims/claims/2026-claims.csv",
        "tests/fixtures/rif/episode/beneficiary_2024.txt",
        "tests/fixtures/rif/episode/carrier.txt",
        "tests/fixtures/rif/episode/inpatient.txt",
        "tests/fixtures/rif/episode/snf.txt",
    ]
    .iter()
    .map(|file| root.join(file))
    .collect();
    files.push(own);
    let progress = Progress::new(false, 0);
    let run = |threads: usize, chunking: Chunking, view: CsvView, name: &str| {
        let out = dir.path().join(name);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let how = convert::Converting {
            view,
            chunking,
            progress: &progress,
        };
        let converted = pool
            .install(|| convert::convert(ClaimsFormat::Auto, &files, &out, how))
            .expect("converts");
        let read = |path: &Path| std::fs::read(path).expect("written");
        let (lines, rejects) = (read(&out), read(&converted.rejects_path));
        (converted.lines, converted.rejected, lines, rejects)
    };
    for view in [CsvView::Exact, CsvView::ExcelSafe] {
        let one = run(1, Chunking::sequential(), view, "one.csv");
        let (lines, rejected, text, rejects) = &one;
        let rejects_text = String::from_utf8_lossy(rejects);
        assert!(*lines > 1000 && *rejected >= 6, "{lines} {rejected}");
        assert!(rejects_text.contains(",bad_amount,"), "{rejects_text}");
        assert!(
            rejects_text.contains(",claim_has_rejected_row,"),
            "{rejects_text}"
        );
        // The header and one line a converted line.
        assert_eq!(
            text.iter().filter(|&&b| b == b'\n').count() as u64,
            lines + 1
        );
        for chunk_bytes in [1, 7, 100] {
            let chunking = Chunking {
                chunk_bytes,
                batch: 3,
            };
            let four = run(4, chunking, view, "four.csv");
            assert!(four == one, "{view:?}, chunks of {chunk_bytes} bytes");
        }
    }
}
