//! Totals too large to hold (the review's "money arithmetic is unchecked"):
//! a run folder whose amounts are near the 36-digit limit of totals read
//! back, such that summing two of them exceeds an `i128` of cents. `reprice`
//! and `true-up` must refuse it with exit 1 and one line naming the file
//! and row or key, never panic (debug builds) nor wrap (release builds: the
//! message is what tells the two apart, since these tests run in debug,
//! where an unchecked overflow panics and fails the test too).

use std::fs;

use serde_json::Value;

use super::support::{Case, lejr};

/// 36 integer digits: one fits in an `i128` of cents (< 1.7 × 10^38), two
/// do not.
const HUGE: &str = "900000000000000000000000000000000000.00";

/// Three episodes, two types, two providers, reconciled into `run`.
fn case() -> Case {
    let claims = "\
A1,1,B1,IP,2026-03-02,2026-03-05,20000.00,,,,,,P1,,470,,,
A2,1,B2,IP,2026-04-01,2026-04-03,30000.00,,,,,,P2,,470,,,
";
    let knee = lejr(0, "").replace("id = \"LEJR\"", "id = \"KNEE\"");
    reconciled(
        claims,
        &[("knee.toml", &knee), ("lejr.toml", &lejr(0, ""))],
        "LEJR,*,NOMCC,2026,25000.00\nKNEE,*,NOMCC,2026,25000.00\n",
    )
}

/// A case of `claims`, `definitions` and `prices`, reconciled into `run`.
fn reconciled(claims: &str, definitions: &[(&str, &str)], prices: &str) -> Case {
    let case = Case::new(claims, definitions, prices);
    let output = case.cli_reconcile(&["claims.csv"], "run", &[]);
    assert!(output.status.success(), "{output:?}");
    case
}

/// Copies `run` to `to`, then rewrites column `column` of `file` to `value`
/// on every data row whose first field starts with `prefix`.
fn tampered(case: &Case, to: &str, file: &str, column: &str, rows: &[(&str, &str)]) {
    for name in fs::read_dir(case.path("run")).unwrap() {
        let name = name.unwrap().file_name().to_string_lossy().into_owned();
        let text = fs::read_to_string(case.path(&format!("run/{name}"))).unwrap();
        case.write(&format!("{to}/{name}"), &text);
    }
    let path = format!("{to}/{file}");
    let text = fs::read_to_string(case.path(&path)).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let index = header.iter().position(|c| *c == column).unwrap();
    let mut out = format!("{}\n", header.join(","));
    for line in lines {
        let mut fields: Vec<String> = line.split(',').map(str::to_owned).collect();
        if let Some((_, value)) = rows.iter().find(|(p, _)| fields[0].starts_with(p)) {
            fields[index] = (*value).to_owned();
        }
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    case.write(&path, &out);
}

/// Sets `key` (a path of object keys) of `folder/summary.json` to `value`.
fn set_summary(case: &Case, folder: &str, key: &[&str], value: &str) {
    let path = format!("{folder}/summary.json");
    let mut summary: Value =
        serde_json::from_str(&fs::read_to_string(case.path(&path)).unwrap()).unwrap();
    let mut at = &mut summary;
    for k in key {
        at = &mut at[*k];
    }
    *at = Value::from(value);
    case.write(&path, &serde_json::to_string_pretty(&summary).unwrap());
}

/// `args` must fail with exit 1 and a single line holding every needle and
/// saying the total is too large.
fn assert_too_large(case: &Case, args: &[&str], needles: &[&str]) {
    let output = case.cli(args);
    let message = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{args:?}: {message}");
    assert_eq!(
        message.trim_end().lines().count(),
        1,
        "one line: {message:?}"
    );
    assert!(!message.contains("panicked"), "{message}");
    for needle in needles.iter().chain(&["too large"]) {
        assert!(
            message.contains(needle),
            "{args:?}: {needle:?} not in {message:?}"
        );
    }
}

fn reprice(run: &str) -> [&str; 7] {
    [
        "reprice",
        "--run",
        run,
        "--target-prices",
        "target_prices.csv",
        "--out",
        "rep",
    ]
}

fn true_up<'a>(previous: &'a str, current: &'a str) -> [&'a str; 7] {
    [
        "true-up",
        "--previous",
        previous,
        "--current",
        current,
        "--out",
        "tu",
    ]
}

#[test]
fn episodes_whose_actual_amounts_overflow_are_refused() {
    let case = case();
    // Every episode's actual (and capped) amount is 36 digits: the second
    // row's running total does not fit.
    tampered(&case, "big", "episodes.csv", "actual_amount", &[("", HUGE)]);
    for args in [reprice("big"), true_up("run", "big")] {
        assert_too_large(
            &case,
            &args,
            &["big/episodes.csv", "row 3", "`actual_amount`"],
        );
    }
}

#[test]
fn providers_whose_reconciliation_amounts_overflow_are_refused() {
    let case = case();
    tampered(
        &case,
        "big",
        "providers.csv",
        "reconciliation_amount",
        &[("", HUGE)],
    );
    for args in [reprice("big"), true_up("big", "run")] {
        assert_too_large(
            &case,
            &args,
            &["big/providers.csv", "row 3", "`reconciliation_amount`"],
        );
    }
}

#[test]
fn summary_amounts_that_overflow_are_refused_by_reprice() {
    let case = case();
    tampered(&case, "big", "episodes.csv", "episode_id", &[]);
    set_summary(&case, "big", &["amounts", "superseded"], HUGE);
    set_summary(&case, "big", &["amounts", "final_action"], HUGE);
    assert_too_large(
        &case,
        &reprice("big"),
        &["big/summary.json", "key `amounts`"],
    );
}

#[test]
fn a_true_up_whose_change_overflows_is_refused() {
    // A type without stop-gain or stop-loss, so that a provider settles its
    // gain or loss whole.
    let flat = lejr(0, "").replace("stop_gain = \"0.20\"\nstop_loss = \"0.10\"\n", "");
    assert!(!flat.contains("stop_"), "{flat}");
    let case = reconciled(
        "A1,1,B1,IP,2026-03-02,2026-03-05,20000.00,,,,,,P1,,470,,,\n\
         A2,1,B2,IP,2026-04-01,2026-04-03,30000.00,,,,,,P2,,470,,,\n\
         A3,1,B3,IP,2026-05-04,2026-05-06,25000.00,,,,,,P1,,470,,,\n",
        &[("lejr.toml", &flat)],
        "LEJR,*,NOMCC,2026,25000.00\n",
    );
    // Each run agrees with itself row by row and with its summary (RULES
    // 32a), but each of P1's two episodes goes from a loss of 4.5 × 10^35
    // dollars to a gain of as much: each episode's change fits, P1's
    // amount due (1.8 × 10^38 cents) does not.
    const HALF: &str = "450000000000000000000000000000000000.00";
    let (negative, half_negative) = (format!("-{HUGE}"), format!("-{HALF}"));
    for (folder, episode, provider) in [
        (
            "before",
            ["0.00", HALF, &half_negative],
            ["0.00", HUGE, &negative],
        ),
        ("after", [HALF, "0.00", HALF], [HUGE, "0.00", HUGE]),
    ] {
        tampered(&case, folder, "episodes.csv", "episode_id", &[]);
        let episodes = format!("{folder}/episodes.csv");
        let [target, spent, gain] = episode;
        for (column, value) in [
            ("target_amount", target),
            ("actual_amount", spent),
            ("capped_amount", spent),
            ("gain_loss", gain),
        ] {
            for id in ["LEJR:B1", "LEJR:B3"] {
                edit(&case, &episodes, id, column, value);
            }
        }
        let providers = format!("{folder}/providers.csv");
        let [target, spent, gain] = provider;
        for (column, value) in [
            ("target_total", target),
            ("actual_total", spent),
            ("capped_total", spent),
            ("gain_loss_total", gain),
            ("reconciliation_amount", gain),
        ] {
            edit(&case, &providers, "P1", column, value);
        }
        for (key, file, column) in [
            ("actual", "episodes.csv", "actual_amount"),
            ("capped", "episodes.csv", "capped_amount"),
            ("reconciliation", "providers.csv", "reconciliation_amount"),
        ] {
            let sum = column_sum(&case, &format!("{folder}/{file}"), column);
            set_summary(&case, folder, &["money", key], &sum);
        }
    }
    assert_too_large(
        &case,
        &true_up("before", "after"),
        &[
            "after/providers.csv",
            "provider P1",
            "reconciliation_amount",
        ],
    );
}

/// Sets column `column` of the rows of `path` whose first field starts
/// with `prefix` to `value`, in place.
fn edit(case: &Case, path: &str, prefix: &str, column: &str, value: &str) {
    let text = fs::read_to_string(case.path(path)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let index = header.split(',').position(|c| c == column).unwrap();
    let mut out = format!("{header}\n");
    for line in lines {
        let mut fields: Vec<&str> = line.split(',').collect();
        if fields[0].starts_with(prefix) {
            fields[index] = value;
        }
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    case.write(path, &out);
}

/// The sum of column `column` of `path`, amounts of two decimals, as text.
fn column_sum(case: &Case, path: &str, column: &str) -> String {
    let text = fs::read_to_string(case.path(path)).unwrap();
    let mut lines = text.lines();
    let index = lines
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == column)
        .unwrap();
    let cents: i128 = lines
        .map(|line| line.split(',').nth(index).unwrap().replace('.', ""))
        .filter(|amount| !amount.is_empty())
        .map(|amount| amount.parse::<i128>().unwrap())
        .sum();
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// An effective target too large to hold (a 28-digit price times a
/// 28-digit risk multiplier) is one line naming the episode and each
/// factor with where it came from, the price with its file and row;
/// before, it named only the episode and the figures. The bundled sample
/// with every price and multiplier so edited.
#[test]
fn an_effective_target_too_large_names_the_price_file_and_row() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temporary folder");
    let huge = "9".repeat(28);
    let edited = |name: &str| {
        let text = fs::read_to_string(root.join("sample-claims").join(name)).expect("sample");
        let mut lines = text.lines();
        let mut out = format!("{}\n", lines.next().expect("header"));
        for line in lines {
            let (rest, _) = line.rsplit_once(',').expect("a last column");
            out.push_str(&format!("{rest},{huge}\n"));
        }
        let path = dir.path().join(name);
        fs::write(&path, out).expect("write");
        path.display().to_string()
    };
    let (prices, risk) = (edited("target_prices.csv"), edited("risk_factors.csv"));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_episode-recon"))
        .current_dir(root)
        .args(["reconcile", "--claims", "sample-claims/claims"])
        .args([
            "--definitions",
            "episode-definitions",
            "--target-prices",
            &prices,
        ])
        .args([
            "--beneficiaries",
            "sample-claims/beneficiaries.csv",
            "--risk-factors",
            &risk,
        ])
        .args(["--out", &dir.path().join("out").display().to_string()])
        .output()
        .expect("the binary runs");
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_eq!(message.trim_end().lines().count(), 1, "{message}");
    for needle in [
        "error: episode ".to_owned(),
        format!(": the effective target (target_price {huge} of {prices}, row "),
        " × risk multiplier ".to_owned(),
        "too large".to_owned(),
    ] {
        assert!(message.contains(&needle), "{needle:?} not in {message:?}");
    }
}
