//! Warnings that save a day (issue 16): an input that reads without error
//! but is most likely not what was meant is named on stderr, one line each,
//! and listed in `summary.json` after the contract's keys; the same file
//! given twice is refused as a usage error unless `--allow-same-file`.

use std::process::Output;

use serde_json::{Value, json};

use super::support::{CLAIMS_HEADER, Case, lejr};

/// One LEJR episode (B1, DRG 470, 2026) with a PB line inside it.
const CLAIMS: &str = "\
A1,1,B1,IP,2026-03-02,2026-03-05,20000.00,,,,,,P1,,470,,,
C1,1,B1,PB,2026-03-20,2026-03-20,1000.00,,,,,,D1,,,,99213,
";

const PRICES: &str = "LEJR,*,NOMCC,2026,25000.00\n";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `reconcile` of the case's definitions and prices on `claims`, into
/// `out`, with `extra` flags, which must succeed.
fn reconcile_ok(case: &Case, claims: &[&str], out: &str, extra: &[&str]) -> Output {
    let output = case.cli_reconcile(claims, out, extra);
    assert!(output.status.success(), "{claims:?}: {}", stderr(&output));
    output
}

fn summary(case: &Case, out: &str) -> Value {
    let text = std::fs::read_to_string(case.path(out).join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The top-level keys of the summary in `out`, in the order written (as
/// pretty-printed: two spaces, then the quoted key).
fn keys(case: &Case, out: &str) -> Vec<String> {
    let text = std::fs::read_to_string(case.path(out).join("summary.json")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("  \""))
        .filter_map(|l| l.split_once('"').map(|(key, _)| key.to_owned()))
        .collect()
}

/// `field` of each warning of a summary, in order.
fn field_of_warnings(summary: &Value, field: &str) -> Vec<String> {
    let warnings = summary["warnings"].as_array().expect("warnings");
    warnings
        .iter()
        .map(|w| w[field].as_str().expect("a text").to_owned())
        .collect()
}

/// The stderr lines that are warnings.
fn warning_lines(output: &Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|l| l.contains("WARN"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_claims_file_with_a_header_and_no_rows_is_a_warning() {
    let case = Case::new(CLAIMS, &[("lejr.toml", &lejr(0, ""))], PRICES);
    case.write("empty.csv", &format!("{CLAIMS_HEADER}\n"));
    let output = reconcile_ok(&case, &["claims.csv", "empty.csv"], "out", &[]);
    let paragraph = String::from_utf8_lossy(&output.stdout);
    assert!(
        paragraph.contains(
            " 1 warning(s) about the inputs: see stderr or summary.json. Outputs in out."
        ),
        "{paragraph}"
    );
    let lines = warning_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("empty.csv: a header and no rows"),
        "{lines:?}"
    );
    let s = summary(&case, "out");
    // After every key of the contract and the run record.
    let k = keys(&case, "out");
    assert_eq!(&k[k.len() - 3..], ["check", "run", "warnings"], "{k:?}");
    assert_eq!(
        s["warnings"],
        json!([{
            "kind": "empty_claims_file",
            "file": "empty.csv",
            "detail": "a header and no rows: nothing was read from it (an extract that came out empty?)"
        }])
    );
    // The episode is there as without the empty file.
    assert_eq!(s["episodes"]["priced"], 1);

    // Without a warning there is no key at all: outputs are as before.
    let output = reconcile_ok(&case, &["claims.csv"], "quiet", &[]);
    assert!(warning_lines(&output).is_empty(), "{}", stderr(&output));
    assert!(!String::from_utf8_lossy(&output.stdout).contains("warning"));
    assert_eq!(keys(&case, "quiet").last().unwrap(), "run");

    // With --excel-safe, `excel_safe` stays the last key.
    reconcile_ok(
        &case,
        &["claims.csv", "empty.csv"],
        "safe",
        &["--excel-safe"],
    );
    let k = keys(&case, "safe");
    assert_eq!(
        &k[k.len() - 3..],
        ["run", "warnings", "excel_safe"],
        "{k:?}"
    );
}

#[test]
fn price_and_risk_rows_of_a_type_no_definition_has_are_warnings() {
    // LEJX is a typo of LEJR: without the warning its episode is silently
    // `no_target_price`. SHFFT is no type of this run either. A `*` risk
    // row is the fallback, and KNEE, a type with no episode in this run,
    // is defined: neither is a warning.
    let knee = lejr(0, "").replace("id = \"LEJR\"", "id = \"KNEE\"");
    let case = Case::new(
        CLAIMS,
        &[("lejr.toml", &lejr(0, "")), ("knee.toml", &knee)],
        "LEJX,*,NOMCC,2026,25000.00\nLEJX,*,MCC,2026,30000.00\nSHFFT,*,X,2026,1\nKNEE,*,NOMCC,2026,1\n",
    );
    case.write(
        "risk_factors.csv",
        "episode_type,factor,level,multiplier\n*,age,65-74,1\nKNEE,age,65-74,1\nLEXR,age,65-74,1\n",
    );
    let output = reconcile_ok(
        &case,
        &["claims.csv"],
        "out",
        &["--risk-factors", "risk_factors.csv"],
    );
    let lines = warning_lines(&output);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let s = summary(&case, "out");
    assert_eq!(s["episodes"]["no_target_price"], 1);
    assert_eq!(
        s["warnings"],
        json!([
            {
                "kind": "unknown_episode_type",
                "file": "target_prices.csv",
                "detail": "2 row(s) of episode type \"LEJX\" (the first on row 2), which no definition has (KNEE, LEJR): a typo? They price nothing"
            },
            {
                "kind": "unknown_episode_type",
                "file": "target_prices.csv",
                "detail": "1 row(s) of episode type \"SHFFT\" (the first on row 4), which no definition has (KNEE, LEJR): a typo? They price nothing"
            },
            {
                "kind": "unknown_episode_type",
                "file": "risk_factors.csv",
                "detail": "1 row(s) of episode type \"LEXR\" (the first on row 4), which no definition has (KNEE, LEJR): a typo? They adjust nothing"
            }
        ])
    );
    for (line, warning) in lines.iter().zip(s["warnings"].as_array().unwrap()) {
        let text = format!(
            "{}: {}",
            warning["file"].as_str().unwrap(),
            warning["detail"].as_str().unwrap()
        );
        assert!(line.ends_with(&text), "{line:?} does not end with {text:?}");
    }
}

#[test]
fn reprice_and_scenarios_warn_of_unknown_types_and_reprice_keeps_the_runs_warnings() {
    let case = Case::new(CLAIMS, &[("lejr.toml", &lejr(0, ""))], PRICES);
    case.write("empty.csv", &format!("{CLAIMS_HEADER}\n"));
    case.write(
        "typo.csv",
        "episode_type,provider_id,price_group,period,target_price\nLEJX,*,NOMCC,2026,25000.00\n",
    );
    reconcile_ok(&case, &["claims.csv", "empty.csv"], "run", &[]);

    // Repriced with the typo, the run's own warning stays and the price
    // file's is added, as a full reconcile with those prices says.
    let output = case.cli(&[
        "reprice",
        "--run",
        "run",
        "--target-prices",
        "typo.csv",
        "--out",
        "repriced",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines = warning_lines(&output);
    assert_eq!(lines.len(), 1, "only the new file's warning: {lines:?}");
    assert!(lines[0].contains("typo.csv: 1 row(s) of episode type \"LEJX\""));
    std::fs::copy(case.path("typo.csv"), case.path("target_prices.csv")).unwrap();
    reconcile_ok(&case, &["claims.csv", "empty.csv"], "full", &[]);
    let repriced = std::fs::read(case.path("repriced/summary.json")).unwrap();
    let full = std::fs::read(case.path("full/summary.json")).unwrap();
    // The files differ only in the price file's name.
    let repriced = String::from_utf8(repriced).unwrap();
    assert_eq!(
        repriced.replace("typo.csv", "target_prices.csv"),
        String::from_utf8(full).unwrap()
    );
    let kinds = field_of_warnings(&summary(&case, "repriced"), "kind");
    assert_eq!(kinds, ["unknown_episode_type", "empty_claims_file"]);

    // Scenarios: each file's warnings once (the risk factors' are in every
    // scenario), in the order the scenarios meet them, after the scenarios.
    case.write(
        "risk_factors.csv",
        "episode_type,factor,level,multiplier\nLEXR,age,65-74,1\n",
    );
    let output = case.cli(&[
        "scenarios",
        "--run",
        "run",
        "--target-prices",
        "target_prices.csv",
        "typo.csv",
        "--risk-factors",
        "risk_factors.csv",
        "--out",
        "compare",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(warning_lines(&output).len(), 3, "{}", stderr(&output));
    assert_eq!(keys(&case, "compare"), ["run", "scenarios", "warnings"]);
    let files = field_of_warnings(&summary(&case, "compare"), "file");
    assert_eq!(files, ["target_prices.csv", "risk_factors.csv", "typo.csv"]);
}

#[test]
fn the_same_claims_file_twice_is_a_usage_error_unless_meant() {
    let case = Case::new(CLAIMS, &[("lejr.toml", &lejr(0, ""))], PRICES);
    std::fs::create_dir(case.path("folder")).unwrap();
    std::fs::copy(case.path("claims.csv"), case.path("folder/claims.csv")).unwrap();
    // The names given, and the two the message names (a folder as its file).
    let mut twice: Vec<(Vec<&str>, [&str; 2])> = vec![
        (
            vec!["claims.csv", "claims.csv"],
            ["claims.csv", "claims.csv"],
        ),
        (
            vec!["claims.csv", "./claims.csv"],
            ["claims.csv", "./claims.csv"],
        ),
        (
            vec!["folder", "folder/claims.csv"],
            ["folder/claims.csv", "folder/claims.csv"],
        ),
    ];
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("claims.csv", case.path("link.csv")).unwrap();
        std::fs::hard_link(case.path("claims.csv"), case.path("hard.csv")).unwrap();
        twice.push((vec!["claims.csv", "link.csv"], ["claims.csv", "link.csv"]));
        twice.push((vec!["hard.csv", "claims.csv"], ["hard.csv", "claims.csv"]));
    }
    for (index, (claims, named)) in twice.iter().enumerate() {
        let out = format!("out{index}");
        let output = case.cli_reconcile(claims, &out, &[]);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{claims:?}: {message}");
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.contains(&format!(
                "--claims: {} and {} are the same file",
                named[0], named[1]
            )) && message.contains("--allow-same-file"),
            "{claims:?}: {message}"
        );
        assert!(!case.path(&out).exists());
    }
    // A copy is another file: its rows are duplicates, as the data says.
    reconcile_ok(&case, &["claims.csv", "folder/claims.csv"], "copy", &[]);

    // Meant: read twice, every row meets its copy (RULES 24).
    reconcile_ok(
        &case,
        &["claims.csv", "claims.csv"],
        "meant",
        &["--allow-same-file"],
    );
    let s = summary(&case, "meant");
    assert_eq!(s["rejected_by_reason"], json!({"duplicate_line": 4}));
    assert_eq!(s["episodes"]["total"], 0);
}

#[test]
fn the_same_beneficiaries_file_twice_and_standard_input_twice_are_usage_errors() {
    let case = Case::new(CLAIMS, &[("lejr.toml", &lejr(0, ""))], PRICES);
    case.write(
        "beneficiaries.csv",
        "beneficiary_id,month,birth_date,death_date\nB1,2026-03,1950-01-01,\n",
    );
    let output = case.cli_reconcile(
        &["claims.csv"],
        "out",
        &["--beneficiaries", "beneficiaries.csv", "beneficiaries.csv"],
    );
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert!(
        message
            .contains("--beneficiaries: beneficiaries.csv and beneficiaries.csv are the same file"),
        "{message}"
    );
    // Standard input can be read once, flag or not.
    for extra in [&[][..], &["--allow-same-file"][..]] {
        let output = case.cli_reconcile(&["-", "-"], "out", extra);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{message}");
        assert!(
            message.contains("standard input (`-`) is given twice"),
            "{message}"
        );
        // Beneficiaries never come from standard input (RULES 46b), which
        // is said first, whatever their format.
        for format in ["canonical", "rif"] {
            let mut args = extra.to_vec();
            args.extend(["--beneficiaries", "-", "--beneficiaries-format", format]);
            let output = case.cli_reconcile(&["-"], "out", &args);
            let message = stderr(&output);
            assert_eq!(output.status.code(), Some(2), "{message}");
            assert!(
                message.contains("-: cannot read beneficiaries from standard input"),
                "{message}"
            );
        }
    }
}

/// A claims file that turns out not to hold each beneficiary's rows
/// together is read a second time, every row held by beneficiary (RULES
/// 46c): the notice it gave the first time (the format `auto` found) is
/// not given again, the second reading is logged only with `-v`, and the
/// run is the run of the same rows held from the start. Several claims
/// files are never read twice: they are routed from the start.
#[test]
fn claims_read_again_give_their_notices_once() {
    // B1's second row comes after B2's, inside the chunk: built early as
    // a run of its own, then found to have rows in another run.
    let scattered = "\
A1,1,B1,IP,2026-03-02,2026-03-05,20000.00,,,,,,P1,,470,,,
X1,1,B2,PB,2026-03-20,2026-03-20,10.00,,,,,,D1,,,,99213,
C1,1,B1,PB,2026-03-20,2026-03-20,1000.00,,,,,,D1,,,,99213,
Y1,1,B3,PB,2026-03-20,2026-03-20,10.00,,,,,,D1,,,,99213,
";
    let case = Case::new(scattered, &[("lejr.toml", &lejr(0, ""))], PRICES);
    case.write("empty.csv", &format!("{CLAIMS_HEADER}\n"));
    let again = "reading them again";
    for threads in ["1", "2"] {
        let out = format!("out-{threads}");
        let auto = ["--claims-format", "auto", "--threads", threads];
        let output = reconcile_ok(&case, &["claims.csv"], &out, &auto);
        let text = stderr(&output);
        assert_eq!(text.matches("reading claims.csv as").count(), 1, "{text}");
        assert!(!text.contains(again), "{text}");
        let s = summary(&case, &out);
        assert_eq!(s["rows"]["read"], 4, "{s}");
        assert_eq!(s["episodes"]["priced"], 1);
        // The episode took in B1's PB line of 1,000.00, read in its
        // second run.
        assert_eq!(s["money"]["actual"], "21000.00", "{s}");
        let logged = reconcile_ok(
            &case,
            &["claims.csv"],
            &out,
            &["-v", "--force", "--threads", threads],
        );
        assert!(stderr(&logged).contains(again), "{}", stderr(&logged));
        // Two files: routed from the start, never read twice.
        let two = ["empty.csv", "claims.csv"];
        let output = reconcile_ok(&case, &two, &out, &["-v", "--force", "--threads", threads]);
        assert!(!stderr(&output).contains(again), "{}", stderr(&output));
        assert_eq!(warning_lines(&output).len(), 1, "{}", stderr(&output));
        assert_eq!(summary(&case, &out)["money"]["actual"], "21000.00");
    }
}
