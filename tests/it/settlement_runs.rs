//! Participant settlement across runs ("What an episode is worth"): a
//! true-up settles what each participant is now due, and `scenarios` puts
//! net payments under several settlement and participants files side by
//! side. Hand-computed on the contract's example 04-team-settlement (its
//! README works the run itself), copied into a temporary folder.
//!
//! The example's participant figures (contract 3.6), which every case
//! below starts from:
//! - 330001, 2026, track 1 (stop-gain 0.10, quality_gain 0.10), score 80:
//!   targets 54700.60, capped 52200.02, R = 2500.58; Q = 2500.58 × (1 −
//!   0.10 × 20/100) = 2450.5684 → 2450.57; stop-gain 5470.06 does not bind:
//!   net 2450.57.
//! - 330002, 2026, track 2 (stop-loss 0.05, quality_loss 0.20), score 60:
//!   targets 18672.50, capped 21000.00, R = −2327.50; Q = −2327.50 × (1 −
//!   0.20 × 60/100) = −2048.20; stop-loss 0.05 × 18672.50 = 933.625 →
//!   −933.63 binds.
//! - 330003 has a priced episode (target 18672.50, capped 18000.00) but no
//!   participants row: unsettled.
//!
//! Provider rows (independent of settlement): 330001 LEJR 265.60, 330001
//! SHFFT 1543.50 (stop-gain), 330002 LEJR −1867.25, 330003 LEJR 672.50.

use std::fs;
use std::path::Path;

use episode_recon::runs::prior_run::PriorRun;
use episode_recon::runs::true_up::{self, Error, Mismatch};
use serde_json::{Value, json};

use super::support::{CLAIMS_HEADER, Case, stderr};

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/golden/04-team-settlement"
);

/// The example's input files, copied into a new case folder under the
/// same names.
fn example_case() -> Case {
    let case = Case::empty();
    for name in [
        "claims/claims.csv",
        "definitions/lejr.toml",
        "definitions/shfft.toml",
        "target_prices.csv",
        "beneficiaries.csv",
        "risk_factors.csv",
        "participants.csv",
        "settlement.toml",
    ] {
        let text = fs::read_to_string(Path::new(EXAMPLE).join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        case.write(name, &text);
    }
    case
}

/// Runs the binary in the case folder and insists that it succeeds.
fn run_ok(case: &Case, args: &[&str]) -> String {
    let output = case.cli(args);
    assert!(
        output.status.success(),
        "{args:?} failed ({:?}): {}",
        output.status.code(),
        stderr(&output)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `reconcile` of `claims` with the example's definitions, prices,
/// enrollment and risk factors, and `settle` (participants and settlement
/// flags, or none), into `out`.
fn reconcile(case: &Case, claims: &[&str], settle: &[&str], out: &str) {
    let mut extra = vec![
        "--beneficiaries",
        "beneficiaries.csv",
        "--risk-factors",
        "risk_factors.csv",
    ];
    extra.extend(settle);
    let output = case.cli_reconcile(claims, out, &extra);
    assert!(
        output.status.success(),
        "{claims:?} {settle:?} failed ({:?}): {}",
        output.status.code(),
        stderr(&output)
    );
}

fn read(case: &Case, path: &str) -> String {
    fs::read_to_string(case.path(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(case: &Case, path: &str) -> Value {
    serde_json::from_str(&read(case, path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const SETTLE: [&str; 4] = [
    "--participants",
    "participants.csv",
    "--settlement",
    "settlement.toml",
];

// ---------------------------------------------------------------------------
// True-up.

/// Late claims, in `late.csv`:
/// - P9, a PB line of 1000.00 for B1 on 2026-05-25: inside SHFFT:B1:F2
///   (2026-05-06 ..= 06-07, 330001) and no other episode (LEJR:B1:A1 ends
///   05-05). SHFFT has no cap: actual and capped 13200.02 → 14200.02; gain
///   15435.00 − 14200.02 = 1234.98, within the stop-gain 1543.50, so the
///   provider row goes from 1543.50 (stop_gain) to 1234.98 (none): due
///   −308.52.
///   Participant 330001: capped 52200.02 → 53200.02, R = 54700.60 −
///   53200.02 = 1500.58; Q = 1500.58 × 0.98 = 1470.5684 → 1470.57, within
///   5470.06: net 2450.57 → 1470.57, due −980.00.
/// - F9, an SHFFT anchor (IP DRG 481, group CC) for B2 at 330004, 2026-08-03
///   ..= 08-05, 10000.00: B2 is 66 (born 1959-11-30), age 65-74, multiplier
///   1.00 (`*` row); target 15000.00 × 0.98 = 14700.00, gain 4700.00; the
///   provider's stop-gain 0.10 × 14700.00 = 1470.00 binds: a new row, due
///   1470.00.
///   Participant 330004 (added to the participants file, track 2, score
///   90) had no priced episode before, so no row; now R = 4700.00, Q =
///   4700.00 × (1 − 0.20 × 10/100) = 4606.00, stop-gain 0.05 × 14700.00 =
///   735.00 binds: net 735.00, due 735.00.
/// - 330002 unchanged: −933.63 both times, due 0.00.
///
/// Net payments 1516.94 → 1470.57 − 933.63 + 735.00 = 1271.94, due −980.00
/// + 0.00 + 735.00 = −245.00 = 1271.94 − 1516.94.
#[test]
fn a_true_up_settles_what_each_participant_is_now_due() {
    let case = example_case();
    case.write(
        "participants.csv",
        "provider_id,period,track,quality_score\n330001,2026,1,80\n330002,2026,2,60\n330004,2026,2,90\n",
    );
    case.write(
        "late.csv",
        &format!(
            "{CLAIMS_HEADER}\n\
             P9,1,B1,PB,2026-05-25,2026-05-25,1000.00,,,,,2026-05-25,912345678,,,,99213,\n\
             F9,1,B2,IP,2026-08-03,2026-08-05,10000.00,,,2026-08-03,2026-08-05,,330004,,481,,,0100\n"
        ),
    );
    reconcile(&case, &["claims/claims.csv"], &SETTLE, "initial");
    reconcile(&case, &["claims/claims.csv", "late.csv"], &SETTLE, "later");
    // The runs themselves: the example's figures before (330004 has no
    // priced episode, so no row), the hand-computed ones after.
    assert_eq!(
        read(&case, "initial/participants.csv"),
        fs::read_to_string(Path::new(EXAMPLE).join("expected/participants.csv")).unwrap()
    );
    assert_eq!(
        read(&case, "later/participants.csv"),
        "provider_id,period,track,quality_score,episodes,target_total,capped_total,reconciliation_amount,quality_adjusted_amount,limit,net_payment_reconciliation_amount\n\
         330001,2026,1,80,3,54700.60,53200.02,1500.58,1470.57,none,1470.57\n\
         330002,2026,2,60,1,18672.50,21000.00,-2327.50,-2048.20,stop_loss,-933.63\n\
         330004,2026,2,90,1,14700.00,10000.00,4700.00,4606.00,stop_gain,735.00\n"
    );

    let stdout = run_ok(
        &case,
        &[
            "true-up",
            "--previous",
            "initial",
            "--current",
            "later",
            "--out",
            "settle",
        ],
    );
    assert!(
        stdout.contains("Participants were paid 1516.94 and are now owed 1271.94: -245.00 is due."),
        "{stdout}"
    );
    assert_eq!(
        read(&case, "settle/true_up_participants.csv"),
        "provider_id,period,previous_track,current_track,previous_quality_score,current_quality_score,previous_net_payment,current_net_payment,amount_due\n\
         330001,2026,1,1,80,80,2450.57,1470.57,-980.00\n\
         330002,2026,2,2,60,60,-933.63,-933.63,0.00\n\
         330004,2026,,2,,90,0.00,735.00,735.00\n"
    );
    assert_eq!(
        read(&case, "settle/true_up_providers.csv"),
        "provider_id,episode_type,period,previous_episodes,current_episodes,previous_limit,current_limit,previous_reconciliation,current_reconciliation,amount_due\n\
         330001,LEJR,2026,2,2,none,none,265.60,265.60,0.00\n\
         330001,SHFFT,2026,1,1,stop_gain,none,1543.50,1234.98,-308.52\n\
         330002,LEJR,2026,1,1,stop_loss,stop_loss,-1867.25,-1867.25,0.00\n\
         330003,LEJR,2026,1,1,none,none,672.50,672.50,0.00\n\
         330004,SHFFT,2026,0,1,,stop_gain,0.00,1470.00,1470.00\n"
    );
    let summary = json(&case, "settle/summary.json");
    assert_eq!(
        summary["participants"],
        json!({
            "previous": "1516.94",
            "current": "1271.94",
            "amount_due": "-245.00",
            "adds_up": true,
        })
    );
    assert_eq!(summary["check"], true);
    // The participants section comes after the keys the true-up had (read
    // from the text: the JSON reader does not keep key order).
    let text = read(&case, "settle/summary.json");
    let keys: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("  \""))
        .filter_map(|line| line.split('"').next())
        .collect();
    assert_eq!(
        keys,
        [
            "previous",
            "current",
            "episodes",
            "gain_loss",
            "reconciliation",
            "check",
            "participants"
        ]
    );
}

/// A true-up between a run that settled participants and one that did not
/// is refused, either way round, with a message saying which run settled
/// and what to do; and a run folder whose participants file disagrees with
/// its summary is not read back.
#[test]
fn a_true_up_with_participants_on_one_side_only_is_refused() {
    let case = example_case();
    reconcile(&case, &["claims/claims.csv"], &[], "plain");
    reconcile(&case, &["claims/claims.csv"], &SETTLE, "settled");
    let load = |name: &str| PriorRun::load(&case.path(name)).expect("the run reads back");
    for (previous, current, needle) in [
        (
            "plain",
            "settled",
            "only the current run settled participants",
        ),
        (
            "settled",
            "plain",
            "only the previous run settled participants",
        ),
    ] {
        let err = true_up::compare(&load(previous), &load(current)).expect_err("refused");
        let message = err.to_string();
        assert!(
            matches!(
                err,
                Error::Incomparable {
                    what: Mismatch::Settlement { .. },
                    ..
                }
            ),
            "{message}"
        );
        for part in [
            needle,
            "reconcile both runs with the same --participants and --settlement files, or both without",
        ] {
            assert!(message.contains(part), "{part:?} not in {message:?}");
        }
        // The command: exit 1, one line, no output folder.
        let out = format!("tu-{previous}");
        let output = case.cli(&[
            "true-up",
            "--previous",
            previous,
            "--current",
            current,
            "--out",
            &out,
        ]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(stderr(&output).contains(needle), "{}", stderr(&output));
        assert_eq!(stderr(&output).trim_end().lines().count(), 1);
        assert!(!case.path(&out).exists());
    }
    // Both settled with the same files: comparable, nothing due.
    let same = true_up::compare(&load("settled"), &load("settled")).expect("comparable");
    let totals = same.summary().participants.expect("participants compared");
    assert_eq!(totals.previous.to_string(), "1516.94");
    assert_eq!(totals.change.to_string(), "0.00");

    // A participants file removed by hand, or its total edited in the
    // summary: the run is refused when read back, naming what disagrees.
    let path = case.path("settled/participants.csv");
    let text = fs::read_to_string(&path).unwrap();
    fs::remove_file(&path).unwrap();
    let message = PriorRun::load(&case.path("settled"))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("the run has key `participants` of summary.json and key `run.settlement_fingerprint` of summary.json but not participants.csv"),
        "{message}"
    );
    fs::write(&path, &text).unwrap();
    let summary_path = case.path("settled/summary.json");
    let summary = fs::read_to_string(&summary_path).unwrap();
    let edited = summary.replacen(
        "\"net_payment_reconciliation\": \"1516.94\"",
        "\"net_payment_reconciliation\": \"1516.95\"",
        1,
    );
    assert_ne!(edited, summary);
    fs::write(&summary_path, edited).unwrap();
    let message = PriorRun::load(&case.path("settled"))
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("key `participants.net_payment_reconciliation`: says \"1516.95\" where participants.csv gives \"1516.94\""),
        "{message}"
    );
    // A participants file added to a run that settled nobody.
    fs::write(&summary_path, summary).unwrap();
    fs::write(case.path("plain/participants.csv"), &text).unwrap();
    let message = PriorRun::load(&case.path("plain")).unwrap_err().to_string();
    assert!(
        message.contains("the run has participants.csv but not key `participants`"),
        "{message}"
    );
}

// ---------------------------------------------------------------------------
// Scenarios.

/// The second settlement file: track 1 with quality_gain 0.50 and
/// stop_loss 0.15, track 2 with stop_loss 0.20.
const TRACKS_B: &str = r#"[track.1]
stop_gain = "0.10"
stop_loss = "0.15"
quality_gain = "0.50"
quality_loss = "0.10"

[track.2]
stop_gain = "0.05"
stop_loss = "0.20"
quality_gain = "0.20"
quality_loss = "0.20"
"#;

/// The second participants file: 330001 scores 100, 330002 is on track 1,
/// and 330003 is a participant (track 2, score 50).
const PARTICIPANTS_B: &str = "provider_id,period,track,quality_score\n330001,2026,1,100\n330002,2026,1,60\n330003,2026,2,50\n";

/// The example's run, settled, with `tracks_b.toml` and
/// `participants_b.csv` beside it.
fn scenarios_case() -> Case {
    let case = example_case();
    case.write("tracks_b.toml", TRACKS_B);
    case.write("participants_b.csv", PARTICIPANTS_B);
    reconcile(&case, &["claims/claims.csv"], &SETTLE, "run");
    case
}

fn scenarios(case: &Case, extra: &[&str], out: &str) -> String {
    let mut args = vec![
        "scenarios",
        "--run",
        "run",
        "--risk-factors",
        "risk_factors.csv",
    ];
    args.extend(extra);
    args.extend(["--out", out]);
    run_ok(case, &args)
}

/// Two settlement files, one participants file: the columns are the
/// settlement files. Under `tracks_b.toml`:
/// - 330001 (track 1, score 80): Q = 2500.58 × (1 − 0.50 × 20/100) =
///   2250.522 → 2250.52, within 5470.06: 2250.52.
/// - 330002 (track 2, score 60): Q = −2048.20 as before; stop-loss now 0.20
///   × 18672.50 = 3734.50 does not bind: −2048.20.
///
/// Totals 1516.94 and 2250.52 − 2048.20 = 202.32.
#[test]
fn scenarios_across_settlement_files() {
    let case = scenarios_case();
    let stdout = scenarios(
        &case,
        &[
            "--target-prices",
            "target_prices.csv",
            "--participants",
            "participants.csv",
            "--settlement",
            "settlement.toml",
            "tracks_b.toml",
        ],
        "cmp",
    );
    assert!(
        stdout
            .contains("participants' net payment settlement.toml: 1516.94, tracks_b.toml: 202.32"),
        "{stdout}"
    );
    assert_eq!(
        read(&case, "cmp/scenarios_participants.csv"),
        "provider_id,period,settlement.toml,tracks_b.toml\n\
         330001,2026,2450.57,2250.52\n\
         330002,2026,-933.63,-2048.20\n"
    );
    // Provider rows do not depend on settlement: the run's, twice.
    assert_eq!(
        read(&case, "cmp/scenarios.csv"),
        "provider_id,episode_type,period,settlement.toml,tracks_b.toml\n\
         330001,LEJR,2026,265.60,265.60\n\
         330001,SHFFT,2026,1543.50,1543.50\n\
         330002,LEJR,2026,-1867.25,-1867.25\n\
         330003,LEJR,2026,672.50,672.50\n"
    );
    let summary = json(&case, "cmp/summary.json");
    let fingerprint = json(&case, "run/summary.json")["run"]["target_prices_fingerprint"].clone();
    let scenario = |settlement: &str, settled: u64, net: &str| {
        json!({
            "target_prices": "target_prices.csv",
            "target_prices_fingerprint": fingerprint,
            "priced": 5,
            "no_target_price": 2,
            "providers": 4,
            "reconciliation": "614.35",
            "participants": "participants.csv",
            "settlement": settlement,
            "participants_settled": settled,
            "net_payment_reconciliation": net,
        })
    };
    assert_eq!(
        summary,
        json!({
            "run": "run",
            "scenarios": [
                scenario("settlement.toml", 2, "1516.94"),
                scenario("tracks_b.toml", 2, "202.32"),
            ],
        })
    );

    // The first scenario is the run's own settlement.
    let run_summary = json(&case, "run/summary.json");
    assert_eq!(
        run_summary["participants"]["net_payment_reconciliation"],
        "1516.94"
    );
}

/// Two participants files × two settlement files: four scenarios, in that
/// order, labelled by both. Under `participants_b.csv`:
/// - 330001 (track 1, score 100): no quality reduction, Q = R = 2500.58,
///   within 5470.06 under either file.
/// - 330002 (track 1, score 60): Q = −2327.50 × (1 − 0.10 × 60/100) =
///   −2187.85; `settlement.toml`'s stop-loss 0.10 × 18672.50 = 1867.25
///   binds (−1867.25); `tracks_b.toml`'s 0.15 × 18672.50 = 2800.875 →
///   2800.88 does not (−2187.85).
/// - 330003 (track 2, score 50): R = 18672.50 − 18000.00 = 672.50, Q =
///   672.50 × (1 − 0.20 × 50/100) = 605.25, within 0.05 × 18672.50 =
///   933.63 under either: 605.25. Under `participants.csv` it has no row:
///   its cells are empty there.
///
/// Totals: 1516.94, 202.32, 2500.58 − 1867.25 + 605.25 = 1238.58, 2500.58
/// − 2187.85 + 605.25 = 917.98.
#[test]
fn scenarios_are_every_participants_file_times_every_settlement_file() {
    let case = scenarios_case();
    scenarios(
        &case,
        &[
            "--target-prices",
            "target_prices.csv",
            "--participants",
            "participants.csv",
            "participants_b.csv",
            "--settlement",
            "settlement.toml",
            "tracks_b.toml",
        ],
        "cmp",
    );
    assert_eq!(
        read(&case, "cmp/scenarios_participants.csv"),
        "provider_id,period,participants.csv + settlement.toml,participants.csv + tracks_b.toml,participants_b.csv + settlement.toml,participants_b.csv + tracks_b.toml\n\
         330001,2026,2450.57,2250.52,2500.58,2500.58\n\
         330002,2026,-933.63,-2048.20,-1867.25,-2187.85\n\
         330003,2026,,,605.25,605.25\n"
    );
    let summary = json(&case, "cmp/summary.json");
    let picked: Vec<(String, String, u64, String)> = summary["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["participants"].as_str().unwrap().to_owned(),
                s["settlement"].as_str().unwrap().to_owned(),
                s["participants_settled"].as_u64().unwrap(),
                s["net_payment_reconciliation"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let row = |p: &str, s: &str, n: u64, net: &str| (p.to_owned(), s.to_owned(), n, net.to_owned());
    assert_eq!(
        picked,
        [
            row("participants.csv", "settlement.toml", 2, "1516.94"),
            row("participants.csv", "tracks_b.toml", 2, "202.32"),
            row("participants_b.csv", "settlement.toml", 3, "1238.58"),
            row("participants_b.csv", "tracks_b.toml", 3, "917.98"),
        ]
    );

    // Price files vary too: the price file is the outer loop and joins
    // the label. A copy of the prices gives the same figures.
    case.write("prices_copy.csv", &read(&case, "target_prices.csv"));
    scenarios(
        &case,
        &[
            "--target-prices",
            "target_prices.csv",
            "prices_copy.csv",
            "--participants",
            "participants.csv",
            "--settlement",
            "settlement.toml",
            "tracks_b.toml",
        ],
        "cmp3",
    );
    assert_eq!(
        read(&case, "cmp3/scenarios_participants.csv"),
        "provider_id,period,target_prices.csv + settlement.toml,target_prices.csv + tracks_b.toml,prices_copy.csv + settlement.toml,prices_copy.csv + tracks_b.toml\n\
         330001,2026,2450.57,2250.52,2450.57,2250.52\n\
         330002,2026,-933.63,-2048.20,-933.63,-2048.20\n"
    );

    // Only price files vary: the labels stay the price paths.
    scenarios(
        &case,
        &[
            "--target-prices",
            "target_prices.csv",
            "prices_copy.csv",
            "--participants",
            "participants.csv",
            "--settlement",
            "settlement.toml",
        ],
        "cmp2",
    );
    assert_eq!(
        read(&case, "cmp2/scenarios_participants.csv"),
        "provider_id,period,target_prices.csv,prices_copy.csv\n\
         330001,2026,2450.57,2450.57\n\
         330002,2026,-933.63,-933.63\n"
    );
}

/// A participants file that names a track one of the settlement files
/// lacks cannot be settled under that file: a fatal error naming both
/// files, and no output folder. `--participants` without `--settlement` is
/// a usage error, as in `reconcile`.
#[test]
fn scenarios_refuse_a_track_missing_from_one_settlement_file() {
    let case = scenarios_case();
    case.write("tracks_1.toml", "[track.1]\nstop_gain = \"0.10\"\n");
    let output = case.cli(&[
        "scenarios",
        "--run",
        "run",
        "--risk-factors",
        "risk_factors.csv",
        "--target-prices",
        "target_prices.csv",
        "--participants",
        "participants.csv",
        "--settlement",
        "settlement.toml",
        "tracks_1.toml",
        "--out",
        "cmp",
    ]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    for part in ["participants.csv", "\"2\"", "checked against tracks_1.toml"] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert!(!case.path("cmp").exists());

    let output = case.cli(&[
        "scenarios",
        "--run",
        "run",
        "--risk-factors",
        "risk_factors.csv",
        "--target-prices",
        "target_prices.csv",
        "--participants",
        "participants.csv",
        "--out",
        "cmp",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--settlement"));
}
