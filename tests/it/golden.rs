//! Golden-file tests: whole runs of the binary compared byte for byte with
//! committed outputs. The contract's worked examples are copied unchanged
//! from its `examples/` folder; the bundled sample's outputs were produced
//! by this engine, checked against an independent script of the contract,
//! and are committed so any change to them is seen in review.

use std::path::{Path, PathBuf};

use crate::support::{Outputs, SAMPLE_ARGS, SAMPLE_TEAM_FILES, cli_in};

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Runs `episode-recon reconcile ARGS --out TEMP` from `dir`, asserts it
/// succeeded, and returns its outputs and stdout.
fn reconcile_in(dir: &Path, args: &[&str]) -> (Outputs, String) {
    let out = tempfile::tempdir().expect("temporary folder");
    let out_dir = out.path().join("out");
    let mut all = vec!["reconcile"];
    all.extend_from_slice(args);
    all.extend(["--out", out_dir.to_str().expect("UTF-8 path")]);
    let run = cli_in(dir, &all);
    assert!(
        run.status.success(),
        "{}: {}",
        dir.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    (
        Outputs::read(&out_dir),
        String::from_utf8_lossy(&run.stdout).into_owned(),
    )
}

/// Runs a contract example from inside its folder, with the paths its
/// README gives (`extra` for case 04's enrollment and settlement files),
/// and compares every output.
fn example(name: &str, extra: &[&str]) {
    let dir = golden(name);
    let mut args = vec![
        "--claims",
        "claims/claims.csv",
        "--definitions",
        "definitions",
        "--target-prices",
        "target_prices.csv",
    ];
    args.extend_from_slice(extra);
    let (actual, _) = reconcile_in(&dir, &args);
    let expected = Outputs::read(&dir.join("expected"));
    assert_eq!(
        actual.participants, expected.participants,
        "{name}: participants.csv"
    );
    assert_eq!(actual.episodes, expected.episodes, "{name}: episodes.csv");
    assert_eq!(
        actual.providers, expected.providers,
        "{name}: providers.csv"
    );
    assert_eq!(actual.ledger, expected.ledger, "{name}: ledger.csv");
    assert_eq!(actual.rejects, expected.rejects, "{name}: rejects.csv");
    assert_contract_summary(&actual.summary, &expected.summary, name);
}

/// The contract's summary keys, byte for byte, followed only by the keys
/// this engine adds after them (the contract allows added keys after its
/// own, never renamed ones).
fn assert_contract_summary(actual: &str, expected: &str, name: &str) {
    let contract_part = expected
        .strip_suffix("\n}\n")
        .expect("the expected summary ends its object");
    assert!(
        actual.starts_with(contract_part),
        "{name}: summary.json differs in the contract's keys:\n{actual}"
    );
    let added = &actual[contract_part.len()..];
    assert!(
        added.starts_with(",\n  \"run\": {"),
        "{name}: only the `run` section follows the contract's keys: {added}"
    );
}

#[test]
fn example_01_one_episode() {
    example("01-one-episode", &[]);
}

#[test]
fn example_02_windows_and_triggers() {
    example("02-windows-and-triggers", &[]);
}

#[test]
fn example_03_pricing() {
    example("03-pricing", &[]);
}

#[test]
fn example_04_team_settlement() {
    example(
        "04-team-settlement",
        &[
            "--beneficiaries",
            "beneficiaries.csv",
            "--risk-factors",
            "risk_factors.csv",
            "--participants",
            "participants.csv",
            "--settlement",
            "settlement.toml",
        ],
    );
}

/// The README's one-command run on the bundled sample, from the repository
/// root, gives the committed outputs.
#[test]
fn bundled_sample() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut args = SAMPLE_ARGS.to_vec();
    args.extend(SAMPLE_TEAM_FILES);
    let (actual, stdout) = reconcile_in(root, &args);
    assert!(
        stdout.contains("Every row and dollar is accounted for"),
        "{stdout}"
    );
    assert_eq!(actual, Outputs::read(&golden("sample/expected")));
}

/// The sample's golden outputs hold what the sample promises: every claim
/// type, a stop-loss, a `no_target_price`, a prorated line, an excluded
/// readmission and two periods.
#[test]
fn bundled_sample_shows_every_case() {
    let expected = Outputs::read(&golden("sample/expected"));
    let ledger = expected.ledger_rows();
    for disposition in [
        "anchor",
        "included",
        "prorated",
        "excluded:drg",
        "excluded:hcpcs",
    ] {
        // `disposition` is the ledger's seventh column.
        assert!(
            ledger.iter().any(|row| row[6] == disposition),
            "{disposition}"
        );
    }
    for claim_type in ["IP", "SNF", "HHA", "HOS", "OP", "PB", "DME"] {
        assert!(
            expected.ledger.contains(&format!(",{claim_type},")),
            "{claim_type}"
        );
    }
    assert!(expected.providers.contains(",stop_loss,"));
    assert!(expected.episodes.contains(",no_target_price,"));
    assert!(expected.episodes.contains(",2025,") && expected.episodes.contains(",2026,"));
    let summary = expected.summary_json();
    assert_eq!(summary["check"], true);
    assert!(summary["rows"]["void"].as_u64() > Some(0));
    assert!(summary["rows"]["superseded"].as_u64() > Some(0));
}

/// Runs the README's command for files of a CMS claims format with the
/// shipped BPCI Advanced episodes (format detected per file), checks the
/// episodes worked by hand are in `episodes.csv`, and compares all five
/// outputs with `tests/golden/NAME/expected`.
fn bpci_advanced_run(
    name: &str,
    claims: &[&str],
    enrollment: &[&str],
    prices: &str,
    episodes: &[&str],
) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut args = vec!["--claims-format", "auto", "--claims"];
    args.extend_from_slice(claims);
    args.extend_from_slice(enrollment);
    args.extend([
        "--definitions",
        "episode-definitions/bpci-advanced",
        "--target-prices",
        prices,
    ]);
    let (actual, _) = reconcile_in(root, &args);
    for episode in episodes {
        assert!(
            actual.episodes.contains(episode),
            "{name}: {}",
            actual.episodes
        );
    }
    assert_eq!(
        actual,
        Outputs::read(&golden(&format!("{name}/expected"))),
        "{name}"
    );
}

/// The README's CCLF command: fixed-width CCLF1 and CCLF6 and a delimited
/// CCLF5 (tests/fixtures/cclf). By hand: P0020 (major joint replacement,
/// DRG 470, discharged 2024-03-05, so the window ends 2024-06-02) holds the
/// anchor 14500.25, the SNF stay 6200.00, the readmission 5100.00, the
/// surgeon's 1786.12 + 76.50, the visit 110.00 and the walker 85.40:
/// 27858.27 against 25000.00 × 0.97 = 24250.00, a loss of 3608.27 within
/// the 20% stop-loss. The readmission (DRG 603) opens its own A0006 episode:
/// 5100.00 + the visit 110.00 = 5210.00 against 6000.00 × 0.97 = 5820.00, a
/// gain of 610.00.
#[test]
fn cclf_files_with_the_bpci_advanced_episodes() {
    bpci_advanced_run(
        "cclf",
        &[
            "tests/fixtures/cclf/cclf1_part_a_header.txt",
            "tests/fixtures/cclf/cclf5_part_b_physicians.txt",
            "tests/fixtures/cclf/cclf6_part_b_dme.txt",
        ],
        &[],
        "tests/fixtures/cclf/target_prices.csv",
        &[
            "P0020,1EG4TE5MK73,140010,0000000001001,470,2024-03-01,2024-06-02,2024Q2,priced,7,\
             27858.27,27858.27,24250.00,-3608.27",
            "A0006,1EG4TE5MK73,140010,0000000001003,603,2024-04-02,2024-07-02,2024Q3,priced,2,\
             5210.00,5210.00,5820.00,610.00",
        ],
    );
}

/// The README's RIF command: inpatient, SNF and carrier files in the CMS
/// layouts (tests/fixtures/rif/episode). By hand: the inpatient stay's
/// allowed amount is CLM_PMT_AMT 14500.25 + the Part A deductible 1632.00 =
/// 16132.25 (on its first row), the SNF stay 6200.00 + coinsurance 1000.00 =
/// 7200.00, the surgeon's lines 1786.12 + 76.50: 25194.87 against 25000.00 ×
/// 0.97 = 24250.00, a loss of 944.87.
#[test]
fn rif_files_with_the_bpci_advanced_episodes() {
    bpci_advanced_run(
        "rif",
        &[
            "tests/fixtures/rif/episode/inpatient.txt",
            "tests/fixtures/rif/episode/snf.txt",
            "tests/fixtures/rif/episode/carrier.txt",
        ],
        &[
            "--beneficiaries-format",
            "rif",
            "--beneficiaries",
            "tests/fixtures/rif/episode/beneficiary_2024.txt",
        ],
        "tests/fixtures/rif/episode/target_prices.csv",
        &[
            "P0020,567834,140010,900000000001,470,2024-03-01,2024-06-02,2024Q2,priced,5,\
           25194.87,25194.87,24250.00,-944.87",
        ],
    );
}
