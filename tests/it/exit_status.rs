//! Exit status by who fixes the error (README "Exit status"): 1 the user's
//! configuration or input data, 2 usage, 3 the environment, 4 a bug; and
//! positions that name a JSON key where the problem is one.

use std::fs;
use std::process::Output;

use serde_json::Value;

use super::support::{Case, assert_fails_in_one_line, lejr, stderr};

fn case() -> Case {
    Case::new(
        "A1,1,B1,IP,2026-03-02,2026-03-05,20000.00,,,,,,P1,,470,,,\n",
        &[("lejr.toml", &lejr(0, ""))],
        "LEJR,*,NOMCC,2026,25000.00\n",
    )
}

fn reconcile(case: &Case, out: &str) -> Output {
    case.cli_reconcile(&["claims.csv"], out, &[])
}

#[test]
fn a_missing_input_the_user_named_is_theirs_exit_1() {
    let case = case();
    fs::remove_file(case.path("claims.csv")).unwrap();
    assert_fails_in_one_line(
        &reconcile(&case, "out"),
        1,
        &["claims.csv", "cannot read claims file"],
    );
}

#[test]
fn a_bad_price_file_is_configuration_exit_1() {
    let case = case();
    case.write("target_prices.csv", "episode_type\n");
    assert_fails_in_one_line(&reconcile(&case, "out"), 1, &["target_prices.csv", "row 1"]);
}

#[test]
fn an_out_folder_that_is_not_empty_is_usage_exit_2() {
    let case = case();
    case.write("out/kept.txt", "kept");
    assert_fails_in_one_line(&reconcile(&case, "out"), 2, &["out", "--force"]);
}

/// Outputs the system refuses to write (here a folder under `/sys`, which
/// even root cannot create) are the environment's to fix: exit 3, with the
/// path and what the system said.
#[cfg(target_os = "linux")]
#[test]
fn outputs_the_system_refuses_are_the_environments_exit_3() {
    let out = "/sys/episode-recon-exit-status-test/out";
    if !std::path::Path::new("/sys/kernel").is_dir() {
        return; // no sysfs here: nothing to refuse the write
    }
    let case = case();
    assert_fails_in_one_line(
        &reconcile(&case, out),
        3,
        &["/sys/", "cannot write outputs"],
    );
}

/// A true-up of a run whose summary was edited names the JSON key, not a
/// row of a file that has no rows.
#[test]
fn a_summary_key_that_disagrees_is_named_by_its_key() {
    let case = case();
    assert!(reconcile(&case, "run").status.success());
    let path = case.path("run/summary.json");
    let mut summary: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    summary["money"]["actual"] = Value::from("1.00");
    fs::write(&path, serde_json::to_string_pretty(&summary).unwrap()).unwrap();
    assert!(reconcile(&case, "later").status.success());
    let output = case.cli(&[
        "true-up",
        "--previous",
        "run",
        "--current",
        "later",
        "--out",
        "due",
    ]);
    assert_fails_in_one_line(
        &output,
        1,
        &["summary.json: key `money.actual`: says \"1.00\" where"],
    );
    assert!(!stderr(&output).contains("row 1"), "{}", stderr(&output));
}

/// A summary lacking a count names the dotted key.
#[test]
fn a_missing_summary_count_is_named_by_its_key() {
    let case = case();
    assert!(reconcile(&case, "run").status.success());
    let path = case.path("run/summary.json");
    let mut summary: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    summary["rows"]
        .as_object_mut()
        .expect("rows")
        .remove("void");
    fs::write(&path, serde_json::to_string_pretty(&summary).unwrap()).unwrap();
    let output = case.cli(&[
        "reprice",
        "--run",
        "run",
        "--target-prices",
        "target_prices.csv",
        "--out",
        "again",
    ]);
    assert_fails_in_one_line(
        &output,
        1,
        &["summary.json: key `rows.void`: missing or malformed"],
    );
}
