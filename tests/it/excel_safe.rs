//! `--excel-safe`: ids, codes and rejected rows that a spreadsheet would
//! run as formulas (`tests/fixtures/hostile`), through every command that
//! writes CSV.
//!
//! Without the flag, every command writes the bytes it wrote before the
//! flag existed (the `exact*` folders of the fixture). With it, every text
//! field starting with `=`, `+`, `-`, `@`, TAB or CR gains a leading `'`,
//! and every other field, money, counts and dates above all, is unchanged:
//! both files are parsed and compared column by column, the text columns
//! named here independently of the writers.

use std::path::{Path, PathBuf};

use super::support::cli_in;

/// The fixture folder; every command runs from inside it, so paths in
/// `rejects.csv` are as the committed outputs have them.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile")
}

/// Runs the binary from the fixture folder and insists that it succeeds.
fn run(args: &[&str]) {
    let output = cli_in(&fixture(), args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the binary from the fixture folder and insists that it fails with
/// exit status 1; its stderr.
fn refused(args: &[&str]) -> String {
    let output = cli_in(&fixture(), args);
    assert_eq!(output.status.code(), Some(1), "{args:?} should be refused");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const SETTLE: [&str; 4] = [
    "--participants",
    "participants.csv",
    "--settlement",
    "settlement.toml",
];

/// `reconcile` of the fixture (with `claims`) into `out`.
fn reconcile(claims: &[&str], out: &Path, excel_safe: bool) {
    let mut args = vec!["reconcile", "--claims"];
    args.extend_from_slice(claims);
    args.extend([
        "--definitions",
        "definitions",
        "--target-prices",
        "target_prices.csv",
        "--beneficiaries",
        "beneficiaries.csv",
    ]);
    args.extend(SETTLE);
    args.extend(["--out", path(out)]);
    if excel_safe {
        args.push("--excel-safe");
    }
    run(&args);
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text columns of each CSV file, by file name: what the Excel-safe
/// view may alter. Every other column is a figure and must not change.
fn text_columns(file: &str) -> &'static [&'static str] {
    match file {
        "episodes.csv" => &[
            "episode_id",
            "episode_type",
            "beneficiary_id",
            "provider_id",
            "anchor_claim_id",
            "price_group",
            "period",
            "status",
            "cancel_reason",
            "risk_levels",
        ],
        "providers.csv" | "true_up_providers.csv" => &[
            "provider_id",
            "episode_type",
            "period",
            "limit",
            "previous_limit",
            "current_limit",
        ],
        "ledger.csv" => &[
            "episode_id",
            "claim_id",
            "claim_type",
            "disposition",
            "provider_id",
        ],
        "participants.csv" => &["provider_id", "period", "track", "limit"],
        "rejects.csv" | "claims.rejects.csv" | "beneficiaries.rejects.csv" => {
            &["file", "reason", "record"]
        }
        "true_up_episodes.csv" => &[
            "episode_id",
            "episode_type",
            "beneficiary_id",
            "change",
            "previous_provider_id",
            "current_provider_id",
            "previous_period",
            "current_period",
            "previous_status",
            "current_status",
            "previous_cancel_reason",
            "current_cancel_reason",
        ],
        "true_up_participants.csv" => &["provider_id", "period", "previous_track", "current_track"],
        "scenarios.csv" => &["provider_id", "episode_type", "period"],
        "scenarios_participants.csv" => &["provider_id", "period"],
        "claims.csv" => &[
            "claim_id",
            "beneficiary_id",
            "claim_type",
            "record_type",
            "provider_id",
            "drg",
            "principal_dx",
            "hcpcs",
        ],
        "beneficiaries.csv" => &[
            "beneficiary_id",
            "part_a",
            "part_b",
            "managed_care",
            "esrd",
            "dual",
        ],
        other => panic!("no column kinds for {other}"),
    }
}

/// What the safe view of one exact text field must be (OWASP's list,
/// written out here again rather than taken from the library).
fn neutralized(exact: &[u8]) -> Vec<u8> {
    match exact.first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => [b"'", exact].concat(),
        _ => exact.to_vec(),
    }
}

fn records(bytes: &[u8], name: &str) -> Vec<csv::ByteRecord> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .byte_records()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{name}: not CSV: {e}"))
}

/// What a column-by-column comparison found.
#[derive(Debug, Default)]
struct Seen {
    /// Text fields that gained a `'`.
    prefixed: usize,
    /// Figures starting with `-` (negative amounts) left as they were.
    negative_figures: usize,
}

/// Parses the exact and the safe file and compares them column by column:
/// a text field (header cells included: scenario labels are file names)
/// is [`neutralized`], a figure is unchanged.
fn compare(name: &str, exact: &[u8], safe: &[u8]) -> Seen {
    let text = text_columns(name);
    let (exact, safe) = (records(exact, name), records(safe, name));
    assert_eq!(exact.len(), safe.len(), "{name}: row count");
    let header: Vec<String> = exact[0]
        .iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let mut seen = Seen::default();
    for (row, (e, s)) in exact.iter().zip(&safe).enumerate() {
        assert_eq!(e.len(), s.len(), "{name}: row {row}: field count");
        for (column, (e, s)) in e.iter().zip(s).enumerate() {
            let is_text = row == 0 || text.contains(&header[column].as_str());
            let expected = if is_text { neutralized(e) } else { e.to_vec() };
            assert_eq!(
                String::from_utf8_lossy(s),
                String::from_utf8_lossy(&expected),
                "{name}: row {row}, column {}",
                header[column]
            );
            seen.prefixed += usize::from(expected.len() != e.len());
            seen.negative_figures += usize::from(!is_text && e.starts_with(b"-"));
        }
    }
    seen
}

/// Compares file `name` of two folders column by column.
fn compare_files(name: &str, exact: &Path, safe: &Path) -> Seen {
    compare(name, &read(&exact.join(name)), &read(&safe.join(name)))
}

/// Asserts that the files `names` of `dir` are the bytes of the same files
/// in the fixture's `expected` folder.
fn assert_same_bytes(names: &[&str], dir: &Path, expected: &str) {
    for name in names {
        assert_eq!(
            String::from_utf8_lossy(&read(&dir.join(name))),
            String::from_utf8_lossy(&read(&fixture().join(expected).join(name))),
            "{name} differs from {expected}/{name}"
        );
    }
}

/// `summary.json` written Excel-safe is the exact one with
/// `"excel_safe": true` added as its last key.
fn assert_summary_marks_excel_safe(exact: &[u8], safe: &[u8]) {
    let exact = String::from_utf8_lossy(exact);
    let body = exact.strip_suffix("\n}\n").expect("a JSON object");
    assert_eq!(
        String::from_utf8_lossy(safe),
        format!("{body},\n  \"excel_safe\": true\n}}\n")
    );
}

const RUN_FILES: [&str; 5] = [
    "episodes.csv",
    "providers.csv",
    "ledger.csv",
    "participants.csv",
    "rejects.csv",
];

#[test]
fn reconcile_without_the_flag_writes_the_bytes_it_wrote_before() {
    let out = tempfile::tempdir().expect("temporary folder");
    let dir = out.path().join("run");
    reconcile(&["claims/claims.csv"], &dir, false);
    assert_same_bytes(&RUN_FILES, &dir, "exact");
    assert_same_bytes(&["summary.json"], &dir, "exact");
}

#[test]
fn reconcile_excel_safe_neutralizes_text_and_keeps_every_figure() {
    let out = tempfile::tempdir().expect("temporary folder");
    let safe = out.path().join("safe");
    reconcile(&["claims/claims.csv"], &safe, true);
    let exact = fixture().join("exact");
    let mut seen = Vec::new();
    for name in RUN_FILES {
        seen.push((name, compare_files(name, &exact, &safe)));
    }
    // Every file had hostile text in it, and every file with money had a
    // negative amount that stayed as it was.
    for (name, seen) in &seen {
        assert!(seen.prefixed > 0, "{name}: nothing was neutralized");
        if *name != "rejects.csv" {
            assert!(seen.negative_figures > 0, "{name}: no negative figure");
        }
    }
    // The record of a rejected row is one field: a row starting with a
    // quoted `=HYPERLINK` starts with `"`, no formula, so it is left alone;
    // rows starting with `=`, `-`, TAB or CR are prefixed.
    let rejects = String::from_utf8_lossy(&read(&safe.join("rejects.csv"))).into_owned();
    assert!(rejects.contains(",bad_amount,\"'=cmd|"), "{rejects}");
    assert!(rejects.contains(",bad_date,\"'\tX,"), "{rejects}");
    assert!(rejects.contains(",bad_amount,\"'\rY,"), "{rejects}");
    assert!(rejects.contains(",bad_date,\"\"\"=HYPERLINK("), "{rejects}");
    let ledger = String::from_utf8_lossy(&read(&safe.join("ledger.csv"))).into_owned();
    assert!(
        ledger.contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",1,PB,150.00,"),
        "{ledger}"
    );
    assert_summary_marks_excel_safe(
        &read(&exact.join("summary.json")),
        &read(&safe.join("summary.json")),
    );
}

#[test]
fn reprice_and_scenarios_with_and_without_excel_safe() {
    let out = tempfile::tempdir().expect("temporary folder");
    let folder = |name: &str| out.path().join(name);
    for safe in [false, true] {
        let suffix = if safe { "safe" } else { "exact" };
        let reprice_out = folder(&format!("reprice-{suffix}"));
        let mut reprice = vec![
            "reprice",
            "--run",
            "exact",
            "--target-prices",
            "=prices.csv",
        ];
        reprice.extend(SETTLE);
        reprice.extend(["--out", path(&reprice_out)]);
        let scenarios_out = folder(&format!("scenarios-{suffix}"));
        let mut scenarios = vec![
            "scenarios",
            "--run",
            "exact",
            "--target-prices",
            "target_prices.csv",
            "=prices.csv",
        ];
        scenarios.extend(SETTLE);
        scenarios.extend(["--out", path(&scenarios_out)]);
        if safe {
            reprice.push("--excel-safe");
            scenarios.push("--excel-safe");
        }
        run(&reprice);
        run(&scenarios);
    }
    let scenario_files = ["scenarios.csv", "scenarios_participants.csv"];
    assert_same_bytes(&RUN_FILES, &folder("reprice-exact"), "exact-reprice");
    assert_same_bytes(
        &scenario_files,
        &folder("scenarios-exact"),
        "exact-scenarios",
    );

    for name in RUN_FILES {
        let seen = compare_files(name, &folder("reprice-exact"), &folder("reprice-safe"));
        assert!(seen.prefixed > 0, "reprice {name}: nothing was neutralized");
    }
    // The ledger and rejects a reprice copies from the run are neutralized
    // as a run writes them: byte for byte what `reconcile --excel-safe`
    // writes.
    let reconciled = folder("reconciled-safe");
    reconcile(&["claims/claims.csv"], &reconciled, true);
    assert_same_bytes_as(
        &["ledger.csv", "rejects.csv"],
        &folder("reprice-safe"),
        &reconciled,
    );
    assert_summary_marks_excel_safe(
        &read(&folder("reprice-exact").join("summary.json")),
        &read(&folder("reprice-safe").join("summary.json")),
    );

    for name in scenario_files {
        let seen = compare_files(name, &folder("scenarios-exact"), &folder("scenarios-safe"));
        assert!(
            seen.prefixed > 0,
            "scenarios {name}: nothing was neutralized"
        );
        assert!(seen.negative_figures > 0, "scenarios {name}: no negative");
    }
    // The column named after the price file `=prices.csv` is text.
    let header = read(&folder("scenarios-safe").join("scenarios.csv"));
    assert!(
        header.starts_with(b"provider_id,episode_type,period,target_prices.csv,'=prices.csv\n")
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&read(&folder("scenarios-safe").join("summary.json")))
            .expect("JSON");
    assert_eq!(summary["excel_safe"], serde_json::Value::Bool(true));
    let exact_summary: serde_json::Value =
        serde_json::from_slice(&read(&folder("scenarios-exact").join("summary.json")))
            .expect("JSON");
    assert!(exact_summary.get("excel_safe").is_none());
}

fn assert_same_bytes_as(names: &[&str], a: &Path, b: &Path) {
    for name in names {
        assert_eq!(
            String::from_utf8_lossy(&read(&a.join(name))),
            String::from_utf8_lossy(&read(&b.join(name))),
            "{name}"
        );
    }
}

#[test]
fn true_up_with_and_without_excel_safe() {
    let out = tempfile::tempdir().expect("temporary folder");
    let later = out.path().join("later");
    reconcile(&["claims/claims.csv", "late/claims.csv"], &later, false);
    let files = [
        "true_up_episodes.csv",
        "true_up_providers.csv",
        "true_up_participants.csv",
    ];
    let (exact, safe) = (out.path().join("exact"), out.path().join("safe"));
    for (dir, flag) in [(&exact, None), (&safe, Some("--excel-safe"))] {
        let mut args = vec![
            "true-up",
            "--previous",
            "exact",
            "--current",
            path(&later),
            "--out",
            path(dir),
        ];
        args.extend(flag);
        run(&args);
    }
    assert_same_bytes(&files, &exact, "exact-true-up");
    for name in files {
        let seen = compare_files(name, &exact, &safe);
        assert!(seen.prefixed > 0, "{name}: nothing was neutralized");
        assert!(seen.negative_figures > 0, "{name}: no negative figure");
    }
    assert_summary_marks_excel_safe(
        &read(&exact.join("summary.json")),
        &read(&safe.join("summary.json")),
    );
}

#[test]
fn convert_with_and_without_excel_safe() {
    let out = tempfile::tempdir().expect("temporary folder");
    let (exact, safe) = (out.path().join("exact"), out.path().join("safe"));
    for (dir, flag) in [(&exact, None), (&safe, Some("--excel-safe"))] {
        for (input, name) in [
            ("--claims", "claims/claims.csv"),
            ("--beneficiaries", "beneficiaries.csv"),
        ] {
            let file = dir.join(Path::new(name).file_name().expect("a file name"));
            let mut args = vec!["convert", input, name, "--out", path(&file)];
            args.extend(flag);
            run(&args);
        }
    }
    let files = [
        "claims.csv",
        "claims.rejects.csv",
        "beneficiaries.csv",
        "beneficiaries.rejects.csv",
    ];
    assert_same_bytes(&files, &exact, "exact-convert");
    for name in files {
        let seen = compare_files(name, &exact, &safe);
        assert!(seen.prefixed > 0, "{name}: nothing was neutralized");
    }
}

/// A run written Excel-safe has altered ids, so reading it back would
/// match the wrong episodes: every command that reads runs refuses it,
/// saying why and what to do (RULES 33f).
#[test]
fn runs_written_excel_safe_are_not_read_back() {
    let out = tempfile::tempdir().expect("temporary folder");
    let safe = out.path().join("safe");
    reconcile(&["claims/claims.csv"], &safe, true);
    let commands: [Vec<&str>; 4] = [
        vec![
            "reprice",
            "--run",
            path(&safe),
            "--target-prices",
            "=prices.csv",
        ],
        vec![
            "scenarios",
            "--run",
            path(&safe),
            "--target-prices",
            "=prices.csv",
        ],
        vec!["true-up", "--previous", path(&safe), "--current", "exact"],
        vec!["true-up", "--previous", "exact", "--current", path(&safe)],
    ];
    for (i, mut args) in commands.into_iter().enumerate() {
        let dir = out.path().join(format!("out{i}"));
        args.extend(["--out", path(&dir)]);
        let message = refused(&args);
        assert!(
            message.contains("written with --excel-safe")
                && message.contains("reconcile again without --excel-safe"),
            "{args:?}: {message}"
        );
        assert!(!dir.exists(), "{args:?} wrote {}", dir.display());
    }
}
