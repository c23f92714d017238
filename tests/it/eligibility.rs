//! Hand-computed cases for who is in an episode (contract 2.2, 2.3, 2.7),
//! what it is worth (3.1 to 3.3) and how a participant is settled (3.6),
//! run through the binary with beneficiaries, risk factors, participants
//! and settlement files.
//!
//! Unless a test says otherwise the definition is [`lejr`]: LEJR, IP DRG
//! 470 (group NOMCC), 30 post-discharge days, no discount, period `year`,
//! and the eligibility of TEAM (Part A and B required, no managed care or
//! ESRD, death up to the anchor end). The usual anchor is A1 of B1,
//! admitted 2026-03-02 and discharged 03-05, so the window is 03-02 ..=
//! 03-05 + 30 - 1 = 04-03 and the months checked are 2026-03 and 2026-04.

use super::support::{CLAIMS_HEADER, Case, Outputs};

const BENEFICIARIES_HEADER: &str =
    "beneficiary_id,month,birth_date,death_date,part_a,part_b,managed_care,esrd,dual,hcc";

/// LEJR with `eligibility` and `risk` tables (either may be empty) and
/// `pricing` lines added to `[pricing]`.
fn lejr(eligibility: &str, risk: &str, pricing: &str) -> String {
    format!(
        r#"id = "LEJR"

[trigger]
drg = ["470"]
price_groups = {{ "470" = "NOMCC" }}

[window]
post_days = 30

[include]
claim_types = ["IP", "SNF", "HHA", "HOS", "OP", "PB", "DME"]
prorate = ["SNF", "HHA", "HOS"]

{eligibility}

{risk}

[pricing]
period = "year"
{pricing}
"#
    )
}

const TEAM_ELIGIBILITY: &str = r#"[eligibility]
require = ["part_a", "part_b"]
exclude = ["managed_care", "esrd"]
death = "anchor""#;

/// An IP claim row of DRG 470 (a trigger) at provider `provider`.
fn anchor(
    claim: &str,
    bene: &str,
    admit: &str,
    discharge: &str,
    amount: &str,
    provider: &str,
) -> String {
    format!("{claim},1,{bene},IP,{admit},{discharge},{amount},,,,,,{provider},,470,,,")
}

/// A Part B line on `date`.
fn pb(claim: &str, bene: &str, date: &str, amount: &str) -> String {
    format!("{claim},1,{bene},PB,{date},{date},{amount},,,,,{date},912345678,,,,,")
}

/// A beneficiaries row: flags part_a, part_b, managed_care, esrd, dual as
/// one string of five letters (`-` for empty), e.g. `YYNNN`.
fn month(bene: &str, month: &str, birth: &str, death: &str, flags: &str, hcc: &str) -> String {
    let flags: Vec<String> = flags
        .chars()
        .map(|c| {
            if c == '-' {
                String::new()
            } else {
                c.to_string()
            }
        })
        .collect();
    format!("{bene},{month},{birth},{death},{},{hcc}", flags.join(","))
}

/// The inputs of one case: claim rows, definition files, price rows,
/// beneficiaries rows and, optionally, the other files.
#[derive(Default)]
struct Team<'a> {
    claims: Vec<String>,
    definitions: Vec<(&'a str, String)>,
    prices: &'a str,
    beneficiaries: Option<Vec<String>>,
    risk_factors: Option<&'a str>,
    participants: Option<&'a str>,
    settlement: Option<&'a str>,
    /// Files written last, over any of the above (a broken header).
    overrides: Vec<(&'a str, String)>,
}

impl Team<'_> {
    /// Writes the case and runs `reconcile`; the outputs, or the exit code
    /// and stderr of a failed run.
    fn run(&self) -> Result<Outputs, (i32, String)> {
        let definitions: Vec<(&str, &str)> = self
            .definitions
            .iter()
            .map(|(n, t)| (*n, t.as_str()))
            .collect();
        let case = Case::new(&(self.claims.join("\n") + "\n"), &definitions, self.prices);
        let mut args = vec![
            "reconcile",
            "--claims",
            "claims.csv",
            "--definitions",
            "definitions",
            "--target-prices",
            "target_prices.csv",
            "--out",
            "out",
        ];
        if let Some(rows) = &self.beneficiaries {
            case.write(
                "beneficiaries.csv",
                &format!("{BENEFICIARIES_HEADER}\n{}\n", rows.join("\n")),
            );
            args.extend(["--beneficiaries", "beneficiaries.csv"]);
        }
        for (flag, name, text) in [
            ("--risk-factors", "risk_factors.csv", self.risk_factors),
            ("--participants", "participants.csv", self.participants),
            ("--settlement", "settlement.toml", self.settlement),
        ] {
            if let Some(text) = text {
                case.write(name, text);
                args.extend([flag, name]);
            }
        }
        for (name, text) in &self.overrides {
            case.write(name, text);
        }
        let run = case.cli(&args);
        if run.status.success() {
            Ok(Outputs::read(&case.path("out")))
        } else {
            Err((
                run.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&run.stderr).into_owned(),
            ))
        }
    }
}

/// Fields `columns` of each episode row.
fn episode_fields(out: &Outputs, columns: &[usize]) -> Vec<String> {
    out.episode_rows()
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|&c| row[c].as_str())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

const STATUS: usize = 9;
const CANCEL_REASON: usize = 15;

/// The cancel reason (or status) of B1's one episode with the given
/// months and definition.
fn reason_of(eligibility: &str, months: &[String]) -> String {
    let out = Team {
        claims: vec![anchor(
            "A1",
            "B1",
            "2026-03-02",
            "2026-03-05",
            "10000.00",
            "330001",
        )],
        definitions: vec![("lejr.toml", lejr(eligibility, "", ""))],
        prices: "LEJR,*,NOMCC,2026,20000\n",
        beneficiaries: Some(months.to_vec()),
        ..Team::default()
    }
    .run()
    .expect("the run succeeds");
    let fields = episode_fields(&out, &[STATUS, CANCEL_REASON]);
    assert_eq!(fields.len(), 1, "{fields:?}");
    fields[0].clone()
}

fn b1(months: &[(&str, &str)], death: &str) -> Vec<String> {
    months
        .iter()
        .map(|(m, flags)| month("B1", m, "1950-01-01", death, flags, ""))
        .collect()
}

#[test]
fn each_cancel_reason_in_the_contract_order() {
    let r = |months: &[(&str, &str)], death: &str| reason_of(TEAM_ELIGIBILITY, &b1(months, death));
    // Enrolled throughout: the episode stands.
    assert_eq!(
        r(&[("2026-03", "YYNNN"), ("2026-04", "YYNNN")], ""),
        "priced|"
    );
    // April has no row.
    assert_eq!(r(&[("2026-03", "YYNNN")], ""), "canceled|no_enrollment");
    // A death on the anchor end cancels before the missing month is seen.
    assert_eq!(r(&[("2026-03", "YYNNN")], "2026-03-05"), "canceled|death");
    // Require in order: part_a before part_b, and both before the
    // excluded flags.
    assert_eq!(
        r(&[("2026-03", "NNYYN"), ("2026-04", "YYNNN")], ""),
        "canceled|part_a"
    );
    assert_eq!(
        r(&[("2026-03", "YYYYN"), ("2026-04", "YNNNN")], ""),
        "canceled|part_b"
    );
    // An empty flag is absent, which is not Y.
    assert_eq!(
        r(&[("2026-03", "Y-NNN"), ("2026-04", "YYNNN")], ""),
        "canceled|part_b"
    );
    // Exclude in order: managed_care before esrd.
    assert_eq!(
        r(&[("2026-03", "YYNYN"), ("2026-04", "YYYNN")], ""),
        "canceled|managed_care"
    );
    assert_eq!(
        r(&[("2026-03", "YYNNN"), ("2026-04", "YYNYN")], ""),
        "canceled|esrd"
    );
    // An absent excluded flag is not Y: the episode stands.
    assert_eq!(
        r(&[("2026-03", "YY--N"), ("2026-04", "YY--N")], ""),
        "priced|"
    );
}

#[test]
fn death_on_the_anchor_end_and_the_day_after() {
    let enrolled = [("2026-03", "YYNNN")];
    // death = "anchor": the anchor end 03-05 counts (<=), 03-06 does not;
    // then the months checked end at the death's month (March), which is
    // enrolled, so the episode stands.
    assert_eq!(
        reason_of(TEAM_ELIGIBILITY, &b1(&enrolled, "2026-03-05")),
        "canceled|death"
    );
    assert_eq!(
        reason_of(TEAM_ELIGIBILITY, &b1(&enrolled, "2026-03-06")),
        "priced|"
    );
    // death = "episode": any death up to the episode end 04-03 cancels.
    let episode = TEAM_ELIGIBILITY.replace("\"anchor\"", "\"episode\"");
    assert_eq!(
        reason_of(&episode, &b1(&enrolled, "2026-04-03")),
        "canceled|death"
    );
    let both = [("2026-03", "YYNNN"), ("2026-04", "YYNNN")];
    assert_eq!(reason_of(&episode, &b1(&both, "2026-04-04")), "priced|");
    // death = "ignore": never a reason; a death before the first month
    // checked leaves no month to check at all.
    let ignore = TEAM_ELIGIBILITY.replace("\"anchor\"", "\"ignore\"");
    let before = b1(&[("2025-12", "YYNNN")], "2026-01-15");
    assert_eq!(reason_of(&ignore, &before), "priced|");
}

#[test]
fn months_before_reaches_back_from_the_anchor_month() {
    let months = b1(&[("2026-03", "YYNNN"), ("2026-04", "YYNNN")], "");
    assert_eq!(reason_of(TEAM_ELIGIBILITY, &months), "priced|");
    let one_before = format!("{TEAM_ELIGIBILITY}\nmonths_before = 1");
    assert_eq!(reason_of(&one_before, &months), "canceled|no_enrollment");
    let mut with_february = months.clone();
    with_february.push(month("B1", "2026-02", "1950-01-01", "", "YYNNN", ""));
    assert_eq!(reason_of(&one_before, &with_february), "priced|");
    // A managed-care month before the anchor month counts too.
    let mut managed = months;
    managed.push(month("B1", "2026-02", "1950-01-01", "", "YYYNN", ""));
    assert_eq!(reason_of(&one_before, &managed), "canceled|managed_care");
}

/// A rejected month is a missing month: April's row has a bad flag, so the
/// episode is `no_enrollment`, and the row is in `rejects.csv`.
#[test]
fn a_rejected_month_is_missing() {
    let mut months = b1(&[("2026-03", "YYNNN")], "");
    months.push(month("B1", "2026-04", "1950-01-01", "", "YYNXN", ""));
    assert_eq!(
        reason_of(TEAM_ELIGIBILITY, &months),
        "canceled|no_enrollment"
    );
    let out = Team {
        claims: vec![anchor(
            "A1",
            "B1",
            "2026-03-02",
            "2026-03-05",
            "10000.00",
            "330001",
        )],
        definitions: vec![("lejr.toml", lejr(TEAM_ELIGIBILITY, "", ""))],
        prices: "LEJR,*,NOMCC,2026,20000\n",
        beneficiaries: Some(months),
        ..Team::default()
    }
    .run()
    .expect("the run succeeds");
    assert_eq!(out.reject_reasons(), [(3, "bad_flag".to_owned())]);
    let summary = out.summary_json();
    assert_eq!(summary["beneficiaries"]["read"], 2);
    assert_eq!(summary["beneficiaries"]["accepted"], 1);
    assert_eq!(summary["canceled_by_reason"]["no_enrollment"], 1);
}

/// A canceled episode takes in no line and its window still stands: A2
/// (DRG 470, 03-20) lies inside A1's canceled window, so it opens nothing,
/// and P1 (03-10) goes to no episode. A3 (04-10), after A1's end, opens an
/// episode that stands (its months, April and May, are enrolled).
#[test]
fn a_canceled_window_still_stands() {
    let months = b1(
        &[
            ("2026-03", "YYYNN"),
            ("2026-04", "YYNNN"),
            ("2026-05", "YYNNN"),
        ],
        "",
    );
    let out = Team {
        claims: vec![
            anchor("A1", "B1", "2026-03-02", "2026-03-05", "10000.00", "330001"),
            anchor("A2", "B1", "2026-03-20", "2026-03-22", "7000.00", "330001"),
            pb("P1", "B1", "2026-03-10", "300.00"),
            anchor("A3", "B1", "2026-04-10", "2026-04-12", "9000.00", "330001"),
        ],
        definitions: vec![("lejr.toml", lejr(TEAM_ELIGIBILITY, "", ""))],
        prices: "LEJR,*,NOMCC,2026,20000\n",
        beneficiaries: Some(months),
        ..Team::default()
    }
    .run()
    .expect("the run succeeds");
    assert_eq!(
        episode_fields(
            &out,
            &[0, 6, 7, STATUS, 10, 11, 12, CANCEL_REASON, 16, 17, 18]
        ),
        [
            "LEJR:B1:A1|2026-03-02|2026-04-03|canceled|0|||managed_care|||",
            "LEJR:B1:A3|2026-04-10|2026-05-11|priced|1|9000.00|9000.00|||1|20000.00",
        ]
    );
    assert_eq!(
        out.ledger.lines().skip(1).collect::<Vec<_>>(),
        ["LEJR:B1:A3,A3,1,IP,9000.00,9000.00,anchor,330001,2026-04-10"]
    );
    let summary = out.summary_json();
    // 10000 + 7000 + 300 + 9000 final action; 9000 inside, the rest out.
    assert_eq!(
        summary["episode_types"]["LEJR"]["outside_amount"],
        "17300.00"
    );
    assert_eq!(summary["episode_types"]["LEJR"]["adds_up"], true);
    assert_eq!(summary["episodes"]["canceled"], 1);
}

/// Two types of one overlap group: HIP's trigger H1 (04-01) falls inside
/// LEJR's A1 (03-02 ..= 04-03), so it opens nothing and is an included IP
/// claim of A1. H2 (04-04) opens HIP; its 5-day lookback would start 03-30,
/// inside A1, so it starts 04-04. S1 (SNF 04-01 ..= 04-10, 10 days,
/// 1000.01) is prorated: A1 has days 1..3: round(1000.01 × 3/10) −
/// round(0) = 300.00; H2 has days 4..10: 1000.01 − 300.00 = 700.01.
/// Without the group, H1 would open a HIP episode of its own.
#[test]
fn an_overlap_group_clips_windows_across_types() {
    let hip = |group: &str| {
        format!(
            r#"id = "HIP"
[trigger]
drg = ["481"]
{group}
[window]
lookback_days = 5
post_days = 10
[include]
claim_types = ["IP", "SNF", "PB"]
prorate = ["SNF"]
[pricing]
period = "year"
"#
        )
    };
    let claims = vec![
        anchor("A1", "B1", "2026-03-02", "2026-03-05", "10000.00", "330001"),
        "H1,1,B1,IP,2026-04-01,2026-04-02,5000.00,,,,,,330001,,481,,,".to_owned(),
        "H2,1,B1,IP,2026-04-04,2026-04-06,6000.00,,,,,,330001,,481,,,".to_owned(),
        "S1,1,B1,SNF,2026-04-01,2026-04-10,1000.01,,,,,,335001,,,,,".to_owned(),
    ];
    let run = |group: &str| {
        let lejr = lejr("", "", "").replace(
            "price_groups = { \"470\" = \"NOMCC\" }",
            &format!("price_groups = {{ \"470\" = \"NOMCC\" }}\n{group}"),
        );
        Team {
            claims: claims.clone(),
            definitions: vec![("hip.toml", hip(group)), ("lejr.toml", lejr)],
            prices: "LEJR,*,NOMCC,2026,20000\n",
            ..Team::default()
        }
        .run()
        .expect("the run succeeds")
    };
    let grouped = run("overlap_group = \"TEAM\"");
    assert_eq!(
        episode_fields(&grouped, &[0, 6, 7, 11]),
        [
            "HIP:B1:H2|2026-04-04|2026-04-15|6700.01",
            "LEJR:B1:A1|2026-03-02|2026-04-03|15300.00",
        ]
    );
    assert_eq!(
        grouped.ledger.lines().skip(1).collect::<Vec<_>>(),
        [
            "HIP:B1:H2,H2,1,IP,6000.00,6000.00,anchor,330001,2026-04-04",
            "HIP:B1:H2,S1,1,SNF,1000.01,700.01,prorated,335001,2026-04-01",
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,H1,1,IP,5000.00,5000.00,included,330001,2026-04-01",
            "LEJR:B1:A1,S1,1,SNF,1000.01,300.00,prorated,335001,2026-04-01",
        ]
    );
    let separate = run("");
    assert_eq!(
        episode_fields(&separate, &[0, 6, 7]),
        [
            "HIP:B1:H1|2026-03-27|2026-04-11",
            "LEJR:B1:A1|2026-03-02|2026-04-03",
        ]
    );
}

/// Beneficiaries row checks, one reason each, in the contract's order.
#[test]
fn every_beneficiaries_reject_reason() {
    let rows = [
        "B1,2026-03,1950-01-01,,Y,Y,N,N,N,",   // 2: accepted
        "B1,2026-04,1950-01-01,,Y,Y,N,N,N",    // 3: bad_field_count
        ",2026-04,1950-01-01,,Y,Y,N,N,N,",     // 4: missing_field
        "B2,2026-13,1950-01-01,,Y,Y,N,N,N,",   // 5: bad_month
        "B2,2026-04,1950-02-30,,Y,Y,N,N,N,",   // 6: bad_date
        "B2,2026-05,1950-01-01,,Y,yes,N,N,N,", // 7: bad_flag
        "B3,2026-03,1950-01-01,,Y,Y,N,N,N,",   // 8: duplicate_month
        "B3,202603,1950-01-01,,Y,Y,N,N,N,",    // 9: duplicate_month
        "B4,2026-03,1950-01-01,,Y,Y,N,N,N,",   // 10: inconsistent_beneficiary
        "B4,2026-04,,,Y,Y,N,N,N,",             // 11: inconsistent_beneficiary
    ]
    .map(str::to_owned)
    .to_vec();
    let out = Team {
        claims: vec![pb("P1", "B1", "2026-03-10", "1.00")],
        definitions: vec![("lejr.toml", lejr(TEAM_ELIGIBILITY, "", ""))],
        prices: "LEJR,*,NOMCC,2026,20000\n",
        beneficiaries: Some(rows),
        ..Team::default()
    }
    .run()
    .expect("the run succeeds");
    let reasons: Vec<(u64, String)> = out.reject_reasons();
    let expected = [
        (3, "bad_field_count"),
        (4, "missing_field"),
        (5, "bad_month"),
        (6, "bad_date"),
        (7, "bad_flag"),
        (8, "duplicate_month"),
        (9, "duplicate_month"),
        (10, "inconsistent_beneficiary"),
        (11, "inconsistent_beneficiary"),
    ]
    .map(|(row, reason)| (row, reason.to_owned()));
    assert_eq!(reasons, expected);
    let summary = out.summary_json();
    assert_eq!(summary["beneficiaries"]["read"], 10);
    assert_eq!(summary["beneficiaries"]["rejected"], 9);
    assert_eq!(summary["beneficiaries"]["accepted"], 1);
    assert_eq!(summary["beneficiaries"]["adds_up"], true);
    assert_eq!(
        summary["beneficiaries"]["rejected_by_reason"]["duplicate_month"],
        2
    );
    // Claims rows are counted apart from beneficiaries rows.
    assert_eq!(summary["rows"]["read"], 1);
    assert_eq!(summary["rejected_by_reason"], serde_json::json!({}));
}

/// Each fatal error of the new inputs: one line naming the file and key
/// or row, exit status 1 (2 for a usage error).
#[test]
fn missing_and_malformed_inputs_are_fatal() {
    let base = || Team {
        claims: vec![anchor(
            "A1",
            "B1",
            "2026-03-02",
            "2026-03-05",
            "10000.00",
            "330001",
        )],
        definitions: vec![("lejr.toml", lejr(TEAM_ELIGIBILITY, "", ""))],
        prices: "LEJR,*,NOMCC,2026,20000\n",
        ..Team::default()
    };
    let (code, message) = base().run().unwrap_err();
    assert_eq!(code, 1);
    assert!(
        message.contains("lejr.toml: key `eligibility`: [eligibility] needs the beneficiaries' enrollment; expected --beneficiaries FILE"),
        "{message}"
    );

    let eligibility = TEAM_ELIGIBILITY.replace("\"esrd\"", "\"hospice\"");
    let (code, message) = Team {
        definitions: vec![("lejr.toml", lejr(&eligibility, "", ""))],
        beneficiaries: Some(vec![month("B1", "2026-03", "", "", "YYNNN", "")]),
        ..base()
    }
    .run()
    .unwrap_err();
    assert_eq!(code, 1);
    assert!(
        message.contains("lejr.toml: key `eligibility.exclude`: names the beneficiaries column `hospice`, which no beneficiaries file has"),
        "{message}"
    );

    let risk = "[risk]\nfactors = [\"age\"]";
    let (code, message) = Team {
        definitions: vec![("lejr.toml", lejr("", risk, ""))],
        beneficiaries: Some(vec![month("B1", "2026-03", "", "", "YYNNN", "")]),
        ..base()
    }
    .run()
    .unwrap_err();
    assert_eq!(code, 1);
    assert!(
        message.contains("lejr.toml: key `risk`: [risk] needs risk factor multipliers; expected --risk-factors FILE"),
        "{message}"
    );

    let (code, message) = Team {
        definitions: vec![("lejr.toml", lejr("", "", ""))],
        participants: Some("provider_id,period,track,quality_score\n330001,2026,1,80\n"),
        ..base()
    }
    .run()
    .unwrap_err();
    assert_eq!(code, 2, "{message}");
    assert!(message.contains("--settlement"), "{message}");

    let (code, message) = Team {
        definitions: vec![(
            "lejr.toml",
            lejr(
                "",
                "",
                "low_cost_percentile = \"99\"\nhigh_cost_percentile = \"90\"",
            ),
        )],
        ..base()
    }
    .run()
    .unwrap_err();
    assert_eq!(code, 1);
    assert!(
        message.contains("key `pricing.low_cost_percentile`: expected a percentile below pricing.high_cost_percentile, found \"99\""),
        "{message}"
    );
}

/// The enrollment is read while the claims are, yet fatal errors still
/// come as if it were read first: a broken beneficiaries header is named
/// though the configuration and the claims header are broken too; with
/// that fixed, the configuration's problem (before any claims file is
/// read); with that fixed too, the claims header.
#[test]
fn fatal_errors_keep_their_order_though_enrollment_is_read_alongside() {
    let risk = "[risk]\nfactors = [\"age\"]";
    let months = month("B1", "2026-03", "1950-01-01", "", "YYNNN", "");
    let broken_claims = ("claims.csv", "claim_id,line_number\nA1,1\n".to_owned());
    let broken_beneficiaries = (
        "beneficiaries.csv",
        "beneficiary_id,birth_date\nB1,1950-01-01\n".to_owned(),
    );
    let base = || Team {
        definitions: vec![("lejr.toml", lejr(TEAM_ELIGIBILITY, risk, ""))],
        prices: "LEJR,*,NOMCC,2026,20000\n",
        beneficiaries: Some(vec![months.clone()]),
        overrides: vec![broken_claims.clone()],
        ..Team::default()
    };
    let failure = |team: Team| {
        let (code, message) = team.run().unwrap_err();
        assert_eq!(code, 1, "{message}");
        message
    };
    let message = failure(Team {
        overrides: vec![broken_claims.clone(), broken_beneficiaries],
        ..base()
    });
    assert!(
        message.contains("beneficiaries.csv: row 1: missing required column `month`"),
        "{message}"
    );
    assert!(!message.contains("claims.csv"), "{message}");

    let message = failure(base());
    assert!(
        message.contains("key `risk`: [risk] needs risk factor multipliers"),
        "{message}"
    );
    assert!(!message.contains("claims.csv"), "{message}");

    let message = failure(Team {
        risk_factors: Some("episode_type,factor,level,multiplier\n*,age,70,1.00\n"),
        ..base()
    });
    assert!(
        message.contains("claims.csv: row 1: missing required column `beneficiary_id`"),
        "{message}"
    );
}

/// Risk: B1 born 1951-03-02 is 75 on the anchor start 2026-03-02 (the
/// birthday counts) → `75-84`; `hcc` 2 with bands [1, 2, 3, 4] is `2`.
/// Multipliers: LEJR's own `75-84` row 1.05 (not the `*` row 1.10), the `*`
/// row for hcc 2, 1.3; product 1.365; target 20000 × 1.365 = 27300.00.
/// B2's hcc `2.0` is not an integer: no level, `no_risk_factor`, target
/// price still written. B3's hcc 9 is `4+`, which has no row:
/// `no_risk_factor` too. B4 has no price row and no level:
/// `no_target_price` whatever its risk.
#[test]
fn risk_levels_multipliers_and_their_absence() {
    let risk =
        "[risk]\nfactors = [\"age\", \"hcc\"]\nbands = { age = [65, 75, 85], hcc = [1, 2, 3, 4] }";
    let anchor_of = |bene: &str, provider: &str| {
        anchor(
            &format!("A{bene}"),
            bene,
            "2026-03-02",
            "2026-03-05",
            "10000.00",
            provider,
        )
    };
    let out = Team {
        claims: vec![
            anchor_of("B1", "330001"),
            anchor_of("B2", "330001"),
            anchor_of("B3", "330001"),
            anchor_of("B4", "330009"),
        ],
        definitions: vec![("lejr.toml", lejr("", risk, ""))],
        prices: "LEJR,330001,NOMCC,2026,20000\n",
        beneficiaries: Some(vec![
            month("B1", "2026-03", "1951-03-02", "", "YYNNN", "2"),
            month("B2", "2026-03", "1951-03-03", "", "YYNNN", "2.0"),
            month("B3", "2026-03", "1940-01-01", "", "YYNNN", "9"),
            month("B4", "2026-03", "1951-03-02", "", "YYNNN", ""),
        ]),
        risk_factors: Some(
            "episode_type,factor,level,multiplier\n*,age,75-84,1.10\nLEJR,age,75-84,1.05\n*,age,85+,1.2\n*,hcc,2,1.3\n*,hcc,<1,1\n",
        ),
        ..Team::default()
    }
    .run()
    .expect("the run succeeds");
    assert_eq!(
        episode_fields(&out, &[1 + 1, STATUS, 13, 16, 17, 18]),
        [
            "B1|priced|27300.00|age=75-84;hcc=2|1.365|20000.00",
            "B2|no_risk_factor||age=65-74;hcc=||20000.00",
            "B3|no_risk_factor||age=85+;hcc=4+||20000.00",
            "B4|no_target_price||age=75-84;hcc=||",
        ]
    );
    assert_eq!(out.summary_json()["episodes"]["no_risk_factor"], 2);
}

/// RULES 16b: an OP claim (1 to 20 April) with a knee line on the 1st
/// and a hip line on the 20th triggers both types of one group. KNEE
/// opens first (04-01 ..= 04-05); the hip line falls past that window,
/// but its claim is KNEE's anchor, wholly in KNEE's episode (2.4), so it
/// opens nothing. A review found HIP opened on it too, with no line and
/// its whole target as gain.
#[test]
fn a_claim_anchors_one_episode_of_its_group() {
    let op = |id: &str, code: &str| {
        format!(
            r#"id = "{id}"
[trigger]
hcpcs = ["{code}"]
overlap_group = "G"
[window]
post_days = 5
[include]
claim_types = ["OP", "PB"]
[pricing]
period = "year"
"#
        )
    };
    let out = Team {
        claims: vec![
            "K1,1,B1,OP,2026-04-01,2026-04-20,100.00,,,,,2026-04-01,H1,,,,27447,".to_owned(),
            "K1,2,B1,OP,2026-04-01,2026-04-20,200.00,,,,,2026-04-20,H1,,,,27130,".to_owned(),
            pb("P1", "B1", "2026-04-21", "50.00"),
        ],
        definitions: vec![
            ("hip.toml", op("HIP", "27130")),
            ("knee.toml", op("KNEE", "27447")),
        ],
        prices: "HIP,*,27130,2026,1000\nKNEE,*,27447,2026,1000\n",
        ..Team::default()
    }
    .run()
    .expect("the run succeeds");
    assert_eq!(
        episode_fields(&out, &[0, 6, 7, 10, 11]),
        ["KNEE:B1:K1|2026-04-01|2026-04-05|2|300.00"]
    );
    assert_eq!(
        out.ledger.lines().skip(1).collect::<Vec<_>>(),
        [
            "KNEE:B1:K1,K1,1,OP,100.00,100.00,anchor,H1,2026-04-01",
            "KNEE:B1:K1,K1,2,OP,200.00,200.00,anchor,H1,2026-04-20",
        ]
    );
}

/// Contract 3.2: the risk multiplier is the exact product, and the
/// effective target is rounded to cents once. Multipliers of ten places
/// give a product of twenty (1.0123456789 × 1.0987654321 =
/// 1.11233043731112635269), and 17500.25 × that × (1 − 0.0325) =
/// 18833.4149… → 18833.41 (computed with Python's decimal at 100
/// digits). A 28-digit decimal cannot hold the price's product with it;
/// the engine once refused such a run.
#[test]
fn the_risk_product_keeps_every_digit() {
    let risk =
        "[risk]\nfactors = [\"age\", \"hcc\"]\nbands = { age = [65, 75, 85], hcc = [1, 2, 3, 4] }";
    let out = Team {
        claims: vec![anchor(
            "AB1", "B1", "2026-03-02", "2026-03-05", "100.00", "330001",
        )],
        definitions: vec![("lejr.toml", lejr("", risk, "discount = \"0.0325\""))],
        prices: "LEJR,330001,NOMCC,2026,17500.25\n",
        beneficiaries: Some(vec![month(
            "B1", "2026-03", "1951-03-02", "", "YYNNN", "2",
        )]),
        risk_factors: Some(
            "episode_type,factor,level,multiplier\n*,age,75-84,1.0123456789\n*,hcc,2,1.0987654321\n",
        ),
        ..Team::default()
    }
    .run()
    .expect("the run succeeds");
    assert_eq!(
        episode_fields(&out, &[STATUS, 13, 14, 17]),
        ["priced|18833.41|18733.41|1.11233043731112635269"]
    );
}

/// `period_date`: an anchor discharged 2026-12-20 ends 2027-01-18 (30
/// days); its period is 2027 by the episode end and 2026 by the anchor end.
#[test]
fn period_date_picks_the_year_across_a_year_boundary() {
    let periods = |pricing: &str| {
        let out = Team {
            claims: vec![anchor(
                "A1",
                "B1",
                "2026-12-18",
                "2026-12-20",
                "10000.00",
                "330001",
            )],
            definitions: vec![("lejr.toml", lejr("", "", pricing))],
            prices: "LEJR,*,NOMCC,2026,20000\n",
            ..Team::default()
        }
        .run()
        .expect("the run succeeds");
        episode_fields(&out, &[7, 8, STATUS])
    };
    assert_eq!(periods(""), ["2027-01-18|2027|no_target_price"]);
    assert_eq!(
        periods("period_date = \"anchor_end\""),
        ["2027-01-18|2026|priced"]
    );
}

/// Settlement, one priced episode per provider, no discount and no risk,
/// so each target is its price. Track T: stop-gain 10%, stop-loss 5%,
/// quality_gain 0.10, quality_loss 0.20; track G: stop-gain 5%.
/// - 330001 (T, score 100): R = 10000 − 9000 = 1000.00; Q = 1000 × (1 −
///   0.10 × 0/100) = 1000.00, exactly the stop-gain 1000.00: `none`.
/// - 330002 (T, score 0): Q = 1000 × (1 − 0.10 × 100/100) = 900.00: `none`.
/// - 330003 (T, score 100): R = 10000 − 11000 = −1000.00; Q = −1000 × (1 −
///   0.20 × 100/100) = −800.00, beyond the stop-loss −500.00: `stop_loss`.
/// - 330004 (T, score 0): Q = −1000 × (1 − 0) = −1000.00 → −500.00.
/// - 330005 (T, score 55.5): R = 0: Q = 0.00, `none`.
/// - 330006 has no participants row: unsettled.
/// - 330007 (G, score 100): Q = 1000.00 > 0.05 × 10000 = 500.00:
///   `stop_gain`, 500.00.
///
/// Net: 1000 + 900 − 500 − 500 + 0 + 500 = 1400.00.
#[test]
fn participants_are_settled_by_quality_and_track() {
    let spend = [
        "9000.00", "9000.00", "11000.00", "11000.00", "10000.00", "9000.00", "9000.00",
    ];
    let claims = spend
        .iter()
        .enumerate()
        .map(|(i, amount)| {
            let n = i + 1;
            anchor(
                &format!("A{n}"),
                &format!("B{n}"),
                "2026-03-02",
                "2026-03-05",
                amount,
                &format!("33000{n}"),
            )
        })
        .collect();
    let out = Team {
        claims,
        definitions: vec![("lejr.toml", lejr("", "", ""))],
        prices: "LEJR,*,NOMCC,2026,10000\n",
        participants: Some(
            "provider_id,period,track,quality_score\n330001,2026,T,100\n330002,2026,T,0\n330003,2026,T,100\n330004,2026,T,0\n330005,2026,T,55.5\n330007,2026,G,100\n330008,2026,T,50\n",
        ),
        settlement: Some(
            "[track.T]\nstop_gain = \"0.10\"\nstop_loss = \"0.05\"\nquality_gain = \"0.10\"\nquality_loss = \"0.20\"\n\n[track.G]\nstop_gain = 0.05\n",
        ),
        ..Team::default()
    }
    .run()
    .expect("the run succeeds");
    assert_eq!(
        out.participants
            .as_deref()
            .map(|p| p.lines().collect::<Vec<_>>()),
        Some(vec![
            "provider_id,period,track,quality_score,episodes,target_total,capped_total,reconciliation_amount,quality_adjusted_amount,limit,net_payment_reconciliation_amount",
            "330001,2026,T,100,1,10000.00,9000.00,1000.00,1000.00,none,1000.00",
            "330002,2026,T,0,1,10000.00,9000.00,1000.00,900.00,none,900.00",
            "330003,2026,T,100,1,10000.00,11000.00,-1000.00,-800.00,stop_loss,-500.00",
            "330004,2026,T,0,1,10000.00,11000.00,-1000.00,-1000.00,stop_loss,-500.00",
            "330005,2026,T,55.5,1,10000.00,10000.00,0.00,0.00,none,0.00",
            "330007,2026,G,100,1,10000.00,9000.00,1000.00,1000.00,stop_gain,500.00",
        ])
    );
    let summary = out.summary_json();
    assert_eq!(
        summary["participants"],
        serde_json::json!({"settled": 6, "unsettled": 1, "net_payment_reconciliation": "1400.00"})
    );
}

/// The claims header the cases above write rows for.
#[test]
fn rows_match_the_claims_header() {
    let columns = CLAIMS_HEADER.split(',').count();
    for row in [
        anchor("A1", "B1", "2026-03-02", "2026-03-05", "1.00", "1"),
        pb("P1", "B1", "2026-03-02", "1.00"),
    ] {
        assert_eq!(row.split(',').count(), columns, "{row}");
    }
    assert_eq!(
        month("B1", "2026-03", "", "", "YYNNN", "")
            .split(',')
            .count(),
        BENEFICIARIES_HEADER.split(',').count()
    );
}

/// `--strict` covers beneficiaries rows, after the claims files in reading
/// order: a bad month is the fatal row when no claims row was rejected,
/// and a rejected claims row is named before it.
#[test]
fn strict_names_the_first_rejected_row_claims_before_beneficiaries() {
    let strict = |claims: Vec<String>| {
        let definitions = [("lejr.toml", lejr(TEAM_ELIGIBILITY, "", ""))];
        let definitions: Vec<(&str, &str)> =
            definitions.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let case = Case::new(
            &(claims.join("\n") + "\n"),
            &definitions,
            "LEJR,*,NOMCC,2026,20000\n",
        );
        case.write(
            "beneficiaries.csv",
            &format!(
                "{BENEFICIARIES_HEADER}\n{}\nB1,2026-13,,,Y,Y,N,N,N,\n",
                month("B1", "2026-03", "", "", "YYNNN", "")
            ),
        );
        let run = case.cli(&[
            "reconcile",
            "--claims",
            "claims.csv",
            "--beneficiaries",
            "beneficiaries.csv",
            "--definitions",
            "definitions",
            "--target-prices",
            "target_prices.csv",
            "--strict",
            "--out",
            "out",
        ]);
        assert_eq!(run.status.code(), Some(1));
        assert!(!case.path("out").exists());
        String::from_utf8_lossy(&run.stderr).into_owned()
    };
    let message = strict(vec![anchor(
        "A1",
        "B1",
        "2026-03-02",
        "2026-03-05",
        "1.00",
        "330001",
    )]);
    assert!(
        message.contains("beneficiaries.csv: row 3: rejected (bad_month)"),
        "{message}"
    );
    let message = strict(vec![
        anchor("A1", "B1", "2026-03-02", "2026-03-05", "1.00", "330001"),
        pb("P1", "B1", "2026-03-10", "1,00"),
    ]);
    assert!(
        message.contains("claims.csv: row 3: rejected (bad_field_count)"),
        "{message}"
    );
}
