//! A build without the `parquet` feature (the default) asked for Parquet:
//! one line saying so and how to build, exit status 2 (how the command was
//! asked), before anything is read or written.

use crate::support::{Case, assert_fails_in_one_line, lejr};

const HOW: &str = "this episode-recon was built without Parquet support; build it with `cargo build --release --features parquet`";

#[test]
fn parquet_formats_ask_for_a_build_with_the_feature() {
    let case = Case::new("", &[], "");
    let asked: [&[&str]; 3] = [
        &["--claims-format", "parquet"],
        &[
            "--beneficiaries",
            "b.csv",
            "--beneficiaries-format",
            "parquet",
        ],
        &["--output-format", "parquet"],
    ];
    for extra in asked {
        let run = case.cli_reconcile(&["claims.csv"], "out", extra);
        let flag = format!("{} parquet: {HOW}", extra[extra.len() - 2]);
        assert_fails_in_one_line(&run, 2, &[&flag]);
        assert!(!case.path("out").exists());
    }
}

/// `auto` knows a Parquet file by its first bytes even without the
/// feature, and says how to read it rather than calling it unknown.
#[test]
fn an_auto_detected_parquet_file_asks_for_the_feature() {
    let case = Case::new("", &[("lejr.toml", &lejr(90, ""))], "");
    case.write_bytes(
        "claims.parquet",
        b"PAR1\x15\x04 and the rest of a Parquet file",
    );
    let auto = ["--claims-format", "auto", "--quiet"];
    let run = case.cli_reconcile(&["claims.parquet"], "out", &auto);
    assert_fails_in_one_line(&run, 2, &[&format!("claims.parquet: {HOW}")]);
}
