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

/// `true-up` and `scenarios` write Parquet tables on request too: asked
/// of this build, they say how to build before reading anything.
#[test]
fn true_up_and_scenarios_ask_for_the_feature_to_write_parquet() {
    let case = Case::new("", &[], "");
    let asked = [
        "true-up --previous a --current b --out t",
        "scenarios --run a --target-prices p.csv --out t",
    ];
    for command in asked {
        let mut args: Vec<&str> = command.split(' ').collect();
        args.extend(["--output-format", "parquet"]);
        let flag = format!("--output-format parquet: {HOW}");
        assert_fails_in_one_line(&case.cli(&args), 2, &[&flag]);
        assert!(!case.path("t").exists());
    }
}

/// A run written as Parquet (its summary says so) is not read by a build
/// without Parquet: every command that reads runs says how to build, in
/// one line, before reading its tables (here, none is there).
#[test]
fn a_parquet_run_asks_for_the_feature_to_be_read() {
    let case = Case::new("", &[], "");
    std::fs::create_dir(case.path("run")).unwrap();
    case.write(
        "run/summary.json",
        "{\n  \"output_format\": \"parquet\"\n}\n",
    );
    let commands = [
        "reprice --run run --target-prices p.csv --out t",
        "true-up --previous run --current run --out t",
        "scenarios --run run --target-prices p.csv --out t",
        "report --run run --out t",
    ];
    let said = format!(
        "run: the run was written with --output-format parquet (summary.json has \"output_format\": \"parquet\"): {HOW}"
    );
    for command in commands {
        let args: Vec<&str> = command.split(' ').collect();
        assert_fails_in_one_line(&case.cli(&args), 2, &[&said]);
        assert!(!case.path("t").exists());
    }
}
