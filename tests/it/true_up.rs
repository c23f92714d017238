//! True-up (issue 6): two reconciliations of the same period, compared
//! through their output folders, hand-computed.
//!
//! Every case uses `support::lejr`: LEJR, IP DRG 470 (NOMCC) / 469 (MCC),
//! post_days 90, discount 3%, stop-gain 20%, stop-loss 10%, period `year`.
//! Prices: NOMCC 2026 30000.00 for 330001 and as the `*` fallback, so every
//! NOMCC target is 29100.00; a provider's stop-gain is 5820.00 and its
//! stop-loss −2910.00 per priced episode. There is no MCC price, so a DRG
//! 469 episode is `no_target_price`. Every anchor is admitted 2026-03-02 and
//! discharged 03-05 (window 03-02 ..= 06-02, processed 03-05 unless said).

use std::path::{Path, PathBuf};

use episode_recon::output::report;
use episode_recon::runs::prior_run::PriorRun;
use episode_recon::runs::true_up::{self, Change, Error, Mismatch, TrueUp};

use super::support::{CLAIMS_HEADER, Case, lejr};

const PRICES: &str = "LEJR,330001,NOMCC,2026,30000.00\nLEJR,*,NOMCC,2026,30000.00\n";

/// One claims row in `CLAIMS_HEADER` order, from `(column, value)` pairs.
fn row(fields: &[(&str, &str)]) -> String {
    let columns: Vec<&str> = CLAIMS_HEADER.split(',').collect();
    let mut values = vec![""; columns.len()];
    for (name, value) in fields {
        let i = columns
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("no column {name}"));
        values[i] = value;
    }
    format!("{}\n", values.join(","))
}

/// An anchor: IP 2026-03-02 .. 03-05, line 1, with a record type and
/// processed date (empty: the defaults, `O` processed 03-05).
fn anchor(
    claim: &str,
    beneficiary: &str,
    drg: &str,
    amount: &str,
    provider: &str,
    version: (&str, &str),
) -> String {
    row(&[
        ("claim_id", claim),
        ("line_number", "1"),
        ("beneficiary_id", beneficiary),
        ("claim_type", "IP"),
        ("from_date", "2026-03-02"),
        ("thru_date", "2026-03-05"),
        ("allowed_amount", amount),
        ("record_type", version.0),
        ("processed_date", version.1),
        ("drg", drg),
        ("provider_id", provider),
    ])
}

/// A professional line on 2026-04-01.
fn pb(claim: &str, beneficiary: &str, amount: &str, version: (&str, &str)) -> String {
    row(&[
        ("claim_id", claim),
        ("line_number", "1"),
        ("beneficiary_id", beneficiary),
        ("claim_type", "PB"),
        ("from_date", "2026-04-01"),
        ("thru_date", "2026-04-01"),
        ("allowed_amount", amount),
        ("record_type", version.0),
        ("processed_date", version.1),
        ("provider_id", "912345678"),
    ])
}

/// A skilled nursing stay 2026-04-01 .. 04-10, wholly inside the window.
fn snf(claim: &str, beneficiary: &str, amount: &str, processed: &str) -> String {
    row(&[
        ("claim_id", claim),
        ("line_number", "1"),
        ("beneficiary_id", beneficiary),
        ("claim_type", "SNF"),
        ("from_date", "2026-04-01"),
        ("thru_date", "2026-04-10"),
        ("allowed_amount", amount),
        ("processed_date", processed),
        ("provider_id", "335001"),
    ])
}

const DEFAULT: (&str, &str) = ("", "");

/// Runs the library on `claims` and writes the five outputs to `name`.
fn run_to(case: &Case, claims: &[&str], as_of: Option<&str>, name: &str) -> PathBuf {
    let recon = case
        .reconcile(claims, as_of, false, 1)
        .expect("the run succeeds");
    let dir = case.path(name);
    report::write_outputs(&recon, &dir, false, report::CsvView::Exact).expect("outputs written");
    dir
}

fn load(dir: &Path) -> PriorRun {
    PriorRun::load(dir).expect("the run reads back")
}

fn compare(previous: &Path, current: &Path) -> TrueUp {
    true_up::compare(&load(previous), &load(current)).expect("comparable runs")
}

/// A true-up's three outputs, as written by `true_up::write`.
struct Written {
    episodes: String,
    providers: String,
    summary: String,
}

fn write(t: &TrueUp, out: &Path) -> Written {
    true_up::write(t, out, false, report::CsvView::Exact).expect("true-up written");
    let read = |name: &str| std::fs::read_to_string(out.join(name)).expect(name);
    let mut names: Vec<String> = std::fs::read_dir(out)
        .expect("the folder")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .into_string()
                .expect("UTF-8")
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "summary.json",
            "true_up_episodes.csv",
            "true_up_providers.csv"
        ]
    );
    Written {
        episodes: read("true_up_episodes.csv"),
        providers: read("true_up_providers.csv"),
        summary: read("summary.json"),
    }
}

fn body(text: &str) -> Vec<&str> {
    text.lines().skip(1).collect()
}

/// A JSON string literal of a path, as `summary.json` writes it.
fn json_path(path: &Path) -> String {
    serde_json::to_string(&path.display().to_string()).expect("a JSON string")
}

// ---------------------------------------------------------------------------
// Late claims: a replacement, a void, a new trigger, an unpriced episode.

/// The initial run reads `claims.csv`; the true-up run reads it and
/// `late.csv`, which brings:
/// - P1 (B1) replaced, 1000.00 -> 4000.00: E1 = A1 20000 + P1: actual
///   21000.00 -> 24000.00, gain 8100.00 -> 5100.00, change −3000.00.
/// - S1 SNF 2000.00 for B3 (330002, `*` price): A3 31000 -> 33000, gain
///   −1900.00 -> −3900.00, change −2000.00.
/// - A4 (B4, 330003) 28000.00: a new episode, gain 1100.00.
/// - A5 (B5, 330001, 15000.00, gain 14100.00) voided: dropped, −14100.00.
/// - P6 500.00 for B6 (DRG 469, no MCC price): actual 40000 -> 40500, 2
///   ledger lines; changed, gain/loss absent both times: change 0.00.
/// - P8 900.00 for B8 (DRG 469, unpriced, 10000.00), HCPCS J9035: listed as
///   `excluded:hcpcs`, so only `claim_lines` moves (1 -> 2): changed, every
///   figure the same.
/// - A2 (B2, 330001, 30000.00, gain −900.00) unchanged.
///
/// Providers (targets 29100.00 per priced episode):
/// - 330001 before: E1 + E2 + E5 = 8100 − 900 + 14100 = 21300.00 over 3
///   targets 87300.00: stop-gain 0.20 × 87300 = 17460.00 binds. After: E1 +
///   E2 = 4200.00 within ±5820 × 2: none. Due 4200 − 17460 = −13260.00.
/// - 330002 before −1900.00 within −2910.00: none. After −3900.00 beyond
///   it: stop_loss −2910.00. Due −1010.00.
/// - 330003 new: 1100.00 none. Due 1100.00.
///
/// Gain/loss 19400.00 -> 1400.00, changes −3000 − 2000 + 1100 − 14100 =
/// −18000.00. Reconciliation 17460 − 1900 = 15560.00 -> 4200 − 2910 +
/// 1100 = 2390.00, due −13260 − 1010 + 1100 = −13170.00.
fn late_claims_case() -> (Case, PathBuf, PathBuf) {
    let claims = [
        anchor("A1", "B1", "470", "20000.00", "330001", DEFAULT),
        pb("P1", "B1", "1000.00", ("O", "2026-04-05")),
        anchor("A2", "B2", "470", "30000.00", "330001", DEFAULT),
        anchor("A3", "B3", "470", "31000.00", "330002", DEFAULT),
        anchor("A5", "B5", "470", "15000.00", "330001", DEFAULT),
        anchor("A6", "B6", "469", "40000.00", "330001", DEFAULT),
        anchor("A8", "B8", "469", "10000.00", "330001", DEFAULT),
    ]
    .concat();
    let late = [
        pb("P1", "B1", "4000.00", ("R", "2026-07-10")),
        snf("S1", "B3", "2000.00", "2026-07-15"),
        anchor("A4", "B4", "470", "28000.00", "330003", ("O", "2026-07-01")),
        anchor("A5", "B5", "470", "15000.00", "330001", ("V", "2026-07-20")),
        pb("P6", "B6", "500.00", ("O", "2026-07-12")),
        row(&[
            ("claim_id", "P8"),
            ("line_number", "1"),
            ("beneficiary_id", "B8"),
            ("claim_type", "PB"),
            ("from_date", "2026-04-01"),
            ("thru_date", "2026-04-01"),
            ("allowed_amount", "900.00"),
            ("processed_date", "2026-07-12"),
            ("provider_id", "912345678"),
            ("hcpcs", "J9035"),
        ]),
    ]
    .concat();
    let case = Case::new(&claims, &[("lejr.toml", &lejr(0, ""))], PRICES);
    case.write("late.csv", &format!("{CLAIMS_HEADER}\n{late}"));
    let initial = run_to(&case, &["claims.csv"], None, "initial");
    let true_up = run_to(&case, &["claims.csv", "late.csv"], None, "true_up");
    (case, initial, true_up)
}

#[test]
fn late_claims_change_drop_and_add_episodes_and_settle_the_difference() {
    let (case, initial, later) = late_claims_case();

    // The runs themselves, so a change in reconcile shows here first.
    let before = load(&initial);
    let after = load(&later);
    let settled = |run: &PriorRun| -> Vec<String> {
        run.providers
            .iter()
            .map(|p| format!("{} {} {}", p.provider_id, p.limit, p.reconciliation_amount))
            .collect()
    };
    assert_eq!(
        settled(&before),
        ["330001 stop_gain 17460.00", "330002 none -1900.00"]
    );
    assert_eq!(
        settled(&after),
        [
            "330001 none 4200.00",
            "330002 stop_loss -2910.00",
            "330003 none 1100.00"
        ]
    );

    let t = true_up::compare(&before, &after).expect("comparable runs");
    let changes: Vec<(&str, Change)> = t
        .episodes
        .iter()
        .map(|e| (e.episode_id.as_str(), e.change))
        .collect();
    assert_eq!(
        changes,
        [
            ("LEJR:B1:A1", Change::Changed),
            ("LEJR:B2:A2", Change::Unchanged),
            ("LEJR:B3:A3", Change::Changed),
            ("LEJR:B4:A4", Change::New),
            ("LEJR:B5:A5", Change::Dropped),
            ("LEJR:B6:A6", Change::Changed),
            ("LEJR:B8:A8", Change::Changed),
        ]
    );

    let out = write(&t, &case.path("settle"));
    assert_eq!(
        out.episodes,
        "episode_id,episode_type,beneficiary_id,change,previous_provider_id,current_provider_id,previous_period,current_period,previous_actual,current_actual,previous_target,current_target,previous_gain_loss,current_gain_loss,gain_loss_change,previous_status,current_status,previous_cancel_reason,current_cancel_reason\n\
         LEJR:B1:A1,LEJR,B1,changed,330001,330001,2026,2026,21000.00,24000.00,29100.00,29100.00,8100.00,5100.00,-3000.00,priced,priced,,\n\
         LEJR:B2:A2,LEJR,B2,unchanged,330001,330001,2026,2026,30000.00,30000.00,29100.00,29100.00,-900.00,-900.00,0.00,priced,priced,,\n\
         LEJR:B3:A3,LEJR,B3,changed,330002,330002,2026,2026,31000.00,33000.00,29100.00,29100.00,-1900.00,-3900.00,-2000.00,priced,priced,,\n\
         LEJR:B4:A4,LEJR,B4,new,,330003,,2026,,28000.00,,29100.00,,1100.00,1100.00,,priced,,\n\
         LEJR:B5:A5,LEJR,B5,dropped,330001,,2026,,15000.00,,29100.00,,14100.00,,-14100.00,priced,,,\n\
         LEJR:B6:A6,LEJR,B6,changed,330001,330001,2026,2026,40000.00,40500.00,,,,,0.00,no_target_price,no_target_price,,\n\
         LEJR:B8:A8,LEJR,B8,changed,330001,330001,2026,2026,10000.00,10000.00,,,,,0.00,no_target_price,no_target_price,,\n"
    );
    assert_eq!(
        out.providers,
        "provider_id,episode_type,period,previous_episodes,current_episodes,previous_limit,current_limit,previous_reconciliation,current_reconciliation,amount_due\n\
         330001,LEJR,2026,3,2,stop_gain,none,17460.00,4200.00,-13260.00\n\
         330002,LEJR,2026,1,1,none,stop_loss,-1900.00,-2910.00,-1010.00\n\
         330003,LEJR,2026,0,1,,none,0.00,1100.00,1100.00\n"
    );

    // An output folder that holds files is refused, and left as it was.
    let err = true_up::write(&t, &case.path("settle"), false, report::CsvView::Exact)
        .expect_err("not empty");
    assert!(matches!(err, report::Error::NotEmpty { .. }), "{err}");
    assert_eq!(
        std::fs::read_to_string(case.path("settle/true_up_providers.csv")).unwrap(),
        out.providers
    );
}

/// The summary of the late-claims case, byte for byte: the counts, the
/// hand-computed totals of the case's doc, and `check`.
#[test]
fn the_summary_shows_the_changes_add_up() {
    let (case, initial, later) = late_claims_case();
    let t = compare(&initial, &later);
    let out = write(&t, &case.path("settle"));
    let expected = format!(
        r#"{{
  "previous": {},
  "current": {},
  "episodes": {{
    "new": 1,
    "dropped": 1,
    "changed": 4,
    "unchanged": 1
  }},
  "gain_loss": {{
    "previous": "19400.00",
    "current": "1400.00",
    "change": "-18000.00",
    "adds_up": true
  }},
  "reconciliation": {{
    "previous": "15560.00",
    "current": "2390.00",
    "amount_due": "-13170.00",
    "adds_up": true
  }},
  "check": true,
  "participants": null
}}
"#,
        json_path(&initial),
        json_path(&later)
    );
    assert_eq!(out.summary, expected);
    // The totals agree with what each run's own summary reported.
    let reported = |dir: &Path| -> serde_json::Value {
        let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["money"]["reconciliation"].clone()
    };
    assert_eq!(reported(&initial), "15560.00");
    assert_eq!(reported(&later), "2390.00");
}

/// A run folder whose files do not agree with each other (edited by hand,
/// or mixed from two runs) is refused when read back, naming the figure
/// that disagrees, rather than compared or priced again: first the summary
/// edited to a cent more than the provider rows sum to, then a provider row
/// removed, then the recorded pricing edited (its fingerprint no longer
/// matches), then a malformed `as_of`.
#[test]
fn a_run_whose_files_disagree_is_refused() {
    let (_case, _initial, later) = late_claims_case();
    let refused = |file: &str, from: &str, to: &str, needle: &str| {
        let path = later.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replacen(from, to, 1);
        assert_ne!(edited, text, "{file} holds {from}");
        std::fs::write(&path, &edited).unwrap();
        let message = PriorRun::load(&later).unwrap_err().to_string();
        assert!(message.contains(needle), "{message}");
        assert!(message.contains("do not belong together"), "{message}");
        std::fs::write(&path, text).unwrap();
    };
    refused(
        "summary.json",
        "\"reconciliation\": \"2390.00\"",
        "\"reconciliation\": \"2390.01\"",
        "key `money.reconciliation`: says \"2390.01\" where episodes.csv and providers.csv give \"2390.00\"",
    );
    let providers = std::fs::read_to_string(later.join("providers.csv")).unwrap();
    let row = providers.lines().nth(1).expect("a provider row");
    refused(
        "providers.csv",
        &format!("{row}\n"),
        "",
        "key `providers`: says",
    );
    refused(
        "summary.json",
        "\"discount\": \"0.03\"",
        "\"discount\": \"0.5\"",
        "fingerprint",
    );
    refused(
        "summary.json",
        "\"as_of\": null",
        "\"as_of\": \"2026-02-30\"",
        "key `as_of`",
    );
    // Regression (RULES 32a row by row): edits the summary's totals do not
    // see. Two providers' reconciliation amounts swapped; one episode's
    // gain or loss changed; its target and gain or loss changed together.
    let path = later.join("providers.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    let last = rows[0].len() - 1;
    assert_ne!(rows[1][last], rows[2][last], "{text}");
    let (first, second) = (rows[1][last], rows[2][last]);
    (rows[1][last], rows[2][last]) = (second, first);
    let swapped: String = rows.iter().map(|r| format!("{}\n", r.join(","))).collect();
    std::fs::write(&path, swapped).unwrap();
    let message = PriorRun::load(&later).unwrap_err().to_string();
    assert!(
        message.contains("providers.csv: row 2: provider")
            && message.contains("reconciliation_amount")
            && message.contains("do not belong together"),
        "{message}"
    );
    std::fs::write(&path, text).unwrap();
    let path = later.join("episodes.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let (target, gain) = (column("target_amount"), column("gain_loss"));
    let rows: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    let priced = (1..rows.len())
        .find(|&i| !rows[i][gain].is_empty())
        .expect("a priced episode");
    let plus_one = |amount: &str| {
        let cents: i128 = amount.replace('.', "").parse().unwrap();
        let cents = cents + 100;
        let sign = if cents < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
    };
    for (columns, needle) in [
        (vec![gain], "is not target_amount"),
        (vec![target, gain], "is not what episodes.csv gives"),
    ] {
        let mut edited = rows.clone();
        for &c in &columns {
            edited[priced][c] = plus_one(&rows[priced][c]);
        }
        let edited: String = edited
            .iter()
            .map(|r| format!("{}\n", r.join(",")))
            .collect();
        std::fs::write(&path, edited).unwrap();
        let message = PriorRun::load(&later).unwrap_err().to_string();
        assert!(
            message.contains(needle) && message.contains("do not belong together"),
            "{columns:?}: {message}"
        );
    }
    std::fs::write(&path, text).unwrap();
    // A missing ledger is named as the run's, not as an output being written.
    let ledger = later.join("ledger.csv");
    let text = std::fs::read(&ledger).unwrap();
    std::fs::remove_file(&ledger).unwrap();
    let message = PriorRun::load(&later).unwrap_err().to_string();
    assert!(
        message.contains("ledger.csv: cannot read the run's output"),
        "{message}"
    );
    std::fs::write(&ledger, text).unwrap();
    // Untouched, it reads back.
    load(&later);
}

// ---------------------------------------------------------------------------
// --as-of: one claims file at three cutoffs.

/// One file, three cutoffs a = 04-30, b = 06-30, c = 08-31:
/// - A1 (B1, 330001) 20000 + P1: O 1000.00 (04-05), R 4000.00 (06-10).
/// - A2 (B2, 330002) 31000 + S1 SNF 2000.00 processed 07-15.
/// - A3 (B3, 330003) 28000.00 processed 05-20.
/// - A4 (B4, 330004) 15000.00, voided 08-01.
///
/// Gains: A1 8100 (a) / 5100 (b, c); A2 −1900 (a, b) / −3900 (c); A3 1100
/// (b, c); A4 14100 (a, b).
///
/// Reconciliation (one episode each: limits 5820.00 / −2910.00):
/// - a: 330001 stop_gain 5820; 330002 −1900; 330004 stop_gain 5820: 9740.00.
/// - b: 330001 5100 (none); 330002 −1900; 330003 1100; 330004 5820:
///   10120.00.
/// - c: 330001 5100; 330002 stop_loss −2910; 330003 1100; 330004 no row:
///   3290.00.
///
/// Due a→b: −720, 0, 1100, 0 = 380.00; b→c: 0, −1010, 0, −5820 =
/// −6830.00; a→c: −720, −1010, 1100, −5820 = −6450.00 = 380 − 6830.
#[test]
fn three_cutoffs_compared_pairwise_add_up() {
    let claims = [
        anchor("A1", "B1", "470", "20000.00", "330001", DEFAULT),
        pb("P1", "B1", "1000.00", ("O", "2026-04-05")),
        pb("P1", "B1", "4000.00", ("R", "2026-06-10")),
        anchor("A2", "B2", "470", "31000.00", "330002", DEFAULT),
        snf("S1", "B2", "2000.00", "2026-07-15"),
        anchor("A3", "B3", "470", "28000.00", "330003", ("O", "2026-05-20")),
        anchor("A4", "B4", "470", "15000.00", "330004", DEFAULT),
        anchor("A4", "B4", "470", "15000.00", "330004", ("V", "2026-08-01")),
    ]
    .concat();
    let case = Case::new(&claims, &[("lejr.toml", &lejr(0, ""))], PRICES);
    let a = run_to(&case, &["claims.csv"], Some("2026-04-30"), "a");
    let b = run_to(&case, &["claims.csv"], Some("2026-06-30"), "b");
    let c = run_to(&case, &["claims.csv"], Some("2026-08-31"), "c");
    let (ab, bc, ac) = (compare(&a, &b), compare(&b, &c), compare(&a, &c));

    let due = |t: &TrueUp| -> Vec<String> {
        t.providers
            .iter()
            .map(|p| format!("{} {}", p.provider_id, p.amount_due()))
            .collect()
    };
    assert_eq!(
        due(&ab),
        [
            "330001 -720.00",
            "330002 0.00",
            "330003 1100.00",
            "330004 0.00"
        ]
    );
    assert_eq!(
        due(&bc),
        [
            "330001 0.00",
            "330002 -1010.00",
            "330003 0.00",
            "330004 -5820.00"
        ]
    );
    assert_eq!(
        due(&ac),
        [
            "330001 -720.00",
            "330002 -1010.00",
            "330003 1100.00",
            "330004 -5820.00"
        ]
    );
    // Row by row, a→b plus b→c is a→c (the three runs have the same keys).
    for ((x, y), z) in ab.providers.iter().zip(&bc.providers).zip(&ac.providers) {
        assert_eq!(x.provider_id, z.provider_id);
        assert_eq!(y.provider_id, z.provider_id);
        assert_eq!(
            x.amount_due().checked_add(y.amount_due()),
            Some(z.amount_due())
        );
    }

    let totals = |t: &TrueUp| {
        let s = t.summary();
        assert!(s.check, "{s:?}");
        (
            s.reconciliation.previous.to_string(),
            s.reconciliation.current.to_string(),
            s.reconciliation.change.to_string(),
            s.gain_loss.change.to_string(),
        )
    };
    let own = |previous: &str, current: &str, due: &str, gain_loss: &str| {
        (
            previous.to_owned(),
            current.to_owned(),
            due.to_owned(),
            gain_loss.to_owned(),
        )
    };
    // Gain/loss: a 20300, b 18400, c 2300.
    assert_eq!(
        totals(&ab),
        own("9740.00", "10120.00", "380.00", "-1900.00")
    );
    assert_eq!(
        totals(&bc),
        own("10120.00", "3290.00", "-6830.00", "-16100.00")
    );
    assert_eq!(
        totals(&ac),
        own("9740.00", "3290.00", "-6450.00", "-18000.00")
    );

    let out = write(&ac, &case.path("a_to_c"));
    assert_eq!(
        body(&out.providers),
        [
            "330001,LEJR,2026,1,1,stop_gain,none,5820.00,5100.00,-720.00",
            "330002,LEJR,2026,1,1,none,stop_loss,-1900.00,-2910.00,-1010.00",
            "330003,LEJR,2026,0,1,,none,0.00,1100.00,1100.00",
            "330004,LEJR,2026,1,0,stop_gain,,5820.00,0.00,-5820.00",
        ]
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:A1,LEJR,B1,changed,330001,330001,2026,2026,21000.00,24000.00,29100.00,29100.00,8100.00,5100.00,-3000.00,priced,priced,,",
            "LEJR:B2:A2,LEJR,B2,changed,330002,330002,2026,2026,31000.00,33000.00,29100.00,29100.00,-1900.00,-3900.00,-2000.00,priced,priced,,",
            "LEJR:B3:A3,LEJR,B3,new,,330003,,2026,,28000.00,,29100.00,,1100.00,1100.00,,priced,,",
            "LEJR:B4:A4,LEJR,B4,dropped,330004,,2026,,15000.00,,29100.00,,14100.00,,-14100.00,priced,,,",
        ]
    );
    let kinds = |t: &TrueUp| {
        let s = t.summary();
        [s.new, s.dropped, s.changed, s.unchanged]
    };
    assert_eq!(kinds(&ab), [1, 0, 1, 2]);
    assert_eq!(kinds(&bc), [0, 1, 1, 2]);
    assert_eq!(kinds(&ac), [1, 1, 2, 0]);

    // A run compared with itself: nothing due.
    let same = compare(&c, &c);
    assert!(same.episodes.iter().all(|e| e.change == Change::Unchanged));
    assert!(
        same.providers
            .iter()
            .all(|p| p.amount_due().to_string() == "0.00")
    );
}

// ---------------------------------------------------------------------------
// Refusal.

/// Runs made with a different discount (definitions) or a different price
/// (target prices) are refused, each with a message naming both folders,
/// the fingerprint that differs and what to do; nothing is written.
#[test]
fn runs_of_different_definitions_or_prices_are_refused() {
    let claims = anchor("A1", "B1", "470", "20000.00", "330001", DEFAULT);
    let case = Case::new(&claims, &[("lejr.toml", &lejr(0, ""))], PRICES);
    let base = run_to(&case, &["claims.csv"], None, "base");

    case.write(
        "definitions/lejr.toml",
        &lejr(0, "").replace("discount = \"0.03\"", "discount = \"0.05\""),
    );
    let discount = run_to(&case, &["claims.csv"], None, "discount");
    case.write("definitions/lejr.toml", &lejr(0, ""));
    case.write(
        "target_prices.csv",
        &format!(
            "episode_type,provider_id,price_group,period,target_price\n{}",
            PRICES.replace("330001,NOMCC,2026,30000.00", "330001,NOMCC,2026,31000.00")
        ),
    );
    let repriced = run_to(&case, &["claims.csv"], None, "repriced");

    // The gain moved in both (29100 − 20000 = 9100 before): the runs are
    // really different, and only the fingerprints keep them apart.
    let gain = |dir: &Path| load(dir).episodes[0].gain_loss.unwrap().to_string();
    assert_eq!(gain(&base), "9100.00");
    assert_eq!(gain(&discount), "8500.00"); // 30000 × 0.95 − 20000
    assert_eq!(gain(&repriced), "10070.00"); // 31000 × 0.97 − 20000

    let refuse = |current: &Path| -> (Mismatch, String) {
        match true_up::compare(&load(&base), &load(current)) {
            Err(e @ Error::Incomparable { .. }) => {
                let message = e.to_string();
                let Error::Incomparable {
                    previous,
                    current: now,
                    what,
                } = e
                else {
                    unreachable!()
                };
                assert_eq!(previous, base);
                assert_eq!(now, current);
                (what, message)
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    };

    let (what, message) = refuse(&discount);
    assert!(matches!(what, Mismatch::Definitions { .. }), "{what:?}");
    for part in [
        &base.display().to_string(),
        &discount.display().to_string(),
        "different episode definitions",
        "definitions fingerprint",
        "reconcile both with the same definitions folder",
    ] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert!(!message.contains("target prices fingerprint"), "{message}");

    let (what, message) = refuse(&repriced);
    assert!(matches!(what, Mismatch::TargetPrices { .. }), "{what:?}");
    for part in [
        &base.display().to_string(),
        &repriced.display().to_string(),
        "different target prices",
        "target prices fingerprint",
        "a price change is a reprice, not a true-up",
    ] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert!(!message.contains("definitions fingerprint"), "{message}");

    // The fingerprints in the message are the runs' own.
    let Mismatch::TargetPrices { previous, current } = what else {
        unreachable!()
    };
    assert_eq!(previous, load(&base).record.target_prices_fingerprint);
    assert_eq!(current, load(&repriced).record.target_prices_fingerprint);
    assert_ne!(previous, current);

    // Back to the base prices: comparable again; the repriced prices are
    // still refused against them, whichever run is the later one.
    case.write(
        "target_prices.csv",
        &format!("episode_type,provider_id,price_group,period,target_price\n{PRICES}"),
    );
    let same = run_to(&case, &["claims.csv"], None, "same");
    assert!(true_up::compare(&load(&base), &load(&same)).is_ok());
    assert!(matches!(
        true_up::compare(&load(&repriced), &load(&same)),
        Err(Error::Incomparable {
            what: Mismatch::TargetPrices { .. },
            ..
        })
    ));
}

/// Episode ids that collide (ids holding `:`, RULES 19b) cannot be matched
/// between runs: the true-up refuses, rather than dropping one episode.
#[test]
fn runs_with_a_shared_episode_id_are_refused() {
    let anchor = |claim: &str, beneficiary: &str| {
        format!("{claim},1,{beneficiary},IP,2026-03-02,2026-03-05,100.00,,,,,,330001,,470,,,\n")
    };
    let claims = anchor("X", "B:1") + &anchor("1:X", "B");
    let case = Case::new(&claims, &[("lejr.toml", &lejr(0, ""))], "");
    let run = run_to(&case, &["claims.csv"], None, "run");
    let loaded = load(&run);
    match true_up::compare(&loaded, &loaded) {
        Err(Error::SharedEpisodeId { id, .. }) => assert_eq!(id, "LEJR:B:1:X"),
        other => panic!("not refused: {other:?}"),
    }
}

/// A true-up whose `--previous` run saw claims its `--current` did not
/// (a later cutoff) warns that the runs may be swapped; in order, it does
/// not.
#[test]
fn a_previous_run_with_the_later_cutoff_is_warned_about() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("temporary folder");
    let run = |as_of: &str| {
        let out = dir.path().join(as_of);
        let mut args = vec![
            "reconcile",
            "--as-of",
            as_of,
            "--out",
            out.to_str().expect("UTF-8"),
        ];
        args.extend(super::support::SAMPLE_ARGS);
        args.extend(super::support::SAMPLE_TEAM_FILES);
        let output = super::support::cli_in(root, &args);
        assert!(output.status.success());
        out
    };
    let (march, june) = (run("2026-03-31"), run("2026-06-30"));
    let true_up = |previous: &Path, current: &Path, out: &str| {
        let output = super::support::cli_in(
            root,
            &[
                "true-up",
                "--previous",
                previous.to_str().expect("UTF-8"),
                "--current",
                current.to_str().expect("UTF-8"),
                "--out",
                dir.path().join(out).to_str().expect("UTF-8"),
            ],
        );
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let swapped = true_up(&june, &march, "swapped");
    assert!(
        swapped.contains(
            "--previous (cutoff 2026-06-30) saw claims that --current (cutoff 2026-03-31) did not"
        ),
        "{swapped}"
    );
    assert!(!true_up(&march, &june, "in-order").contains("swapped"));
}
