//! Golden-file tests: whole runs of the binary compared byte for byte with
//! committed outputs. The contract's worked examples are copied unchanged
//! from its `examples/` folder; the bundled sample's outputs were produced
//! by this engine, checked against an independent script of the contract,
//! and are committed so any change to them is seen in review.

use std::path::{Path, PathBuf};

use crate::support::{Outputs, cli_in};

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Runs a contract example from inside its folder, with the paths its
/// README gives, and compares all five outputs.
fn example(name: &str) {
    let dir = golden(name);
    let out = tempfile::tempdir().expect("temporary folder");
    let out_dir = out.path().join("out");
    let run = cli_in(
        &dir,
        &[
            "reconcile",
            "--claims",
            "claims/claims.csv",
            "--definitions",
            "definitions",
            "--target-prices",
            "target_prices.csv",
            "--out",
            out_dir.to_str().expect("UTF-8 path"),
        ],
    );
    assert!(
        run.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let actual = Outputs::read(&out_dir);
    let expected = Outputs::read(&dir.join("expected"));
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
    example("01-one-episode");
}

#[test]
fn example_02_windows_and_triggers() {
    example("02-windows-and-triggers");
}

#[test]
fn example_03_pricing() {
    example("03-pricing");
}

/// The README's one-command run on the bundled sample, from the repository
/// root, gives the committed outputs.
#[test]
fn bundled_sample() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().expect("temporary folder");
    let out_dir = out.path().join("out");
    let run = cli_in(
        root,
        &[
            "reconcile",
            "--claims",
            "sample-claims/claims",
            "--definitions",
            "episode-definitions",
            "--target-prices",
            "sample-claims/target_prices.csv",
            "--out",
            out_dir.to_str().expect("UTF-8 path"),
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("Every row and dollar is accounted for"),
        "{stdout}"
    );
    assert_eq!(
        Outputs::read(&out_dir),
        Outputs::read(&golden("sample/expected"))
    );
}

/// The sample's golden outputs hold what the sample promises: every claim
/// type, a stop-loss, a `no_target_price`, a prorated line, an excluded
/// readmission and two periods.
#[test]
fn bundled_sample_shows_every_case() {
    let expected = Outputs::read(&golden("sample/expected"));
    for disposition in [
        "anchor",
        "included",
        "prorated",
        "excluded:drg",
        "excluded:hcpcs",
    ] {
        assert!(
            expected.ledger.contains(&format!(",{disposition}\n")),
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
