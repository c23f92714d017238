//! Hand-computed cases, one per rule of contract sections 1.2 (final
//! action), 2 (building episodes) and 3 (pricing and reconciliation), plus
//! the rules the contract leaves open that this engine decided:
//!
//! 1. the anchor claim is wholly in its episode even when its claim type is
//!    not in `include.claim_types`;
//! 2. a would-be trigger with no provider is counted in
//!    `triggers_without_provider` even when it falls inside another episode;
//! 3. stop-gain / stop-loss apply only when the net is strictly beyond the
//!    limit;
//! 4. `lines_in_several_episodes` counts lines that appear in the ledgers of
//!    two or more episodes of the type (excluded ones too).
//!
//! Unless a test says otherwise, the definition is `support::lejr`: LEJR,
//! IP DRG 469 (MCC) / 470 (NOMCC), OP HCPCS 27447 (OP), post_days 90,
//! exclusions DRG 871, HCPCS J9035, principal dx `C50*`, discount 3%,
//! stop-gain 20%, stop-loss 10%, period `year`. The usual anchor is A1: IP
//! DRG 470 admitted 2026-03-02, discharged 03-05, so the window is
//! 2026-03-02 ..= 03-05 + 90 - 1 = 2026-06-02.

use std::fmt;

use serde_json::Value;

use super::support::{CLAIMS_HEADER, Case, Outputs, lejr};

// ---------------------------------------------------------------------------
// Building claims rows by column name.

/// One claims row; written in `CLAIMS_HEADER` order.
#[derive(Clone, Debug)]
struct Row(Vec<String>);

impl Row {
    fn new(
        claim: &str,
        line: u32,
        beneficiary: &str,
        claim_type: &str,
        from: &str,
        thru: &str,
        amount: &str,
    ) -> Row {
        let columns = CLAIMS_HEADER.split(',').count();
        let row = Row(vec![String::new(); columns]);
        row.set("claim_id", claim)
            .set("line_number", &line.to_string())
            .set("beneficiary_id", beneficiary)
            .set("claim_type", claim_type)
            .set("from_date", from)
            .set("thru_date", thru)
            .set("allowed_amount", amount)
    }

    /// Sets a column by its header name.
    fn set(mut self, column: &str, value: &str) -> Row {
        let index = CLAIMS_HEADER
            .split(',')
            .position(|c| c == column)
            .unwrap_or_else(|| panic!("no column {column}"));
        self.0[index] = value.to_owned();
        self
    }

    fn provider(self, provider: &str) -> Row {
        self.set("provider_id", provider)
    }

    fn no_provider(self) -> Row {
        self.set("provider_id", "")
    }

    fn drg(self, drg: &str) -> Row {
        self.set("drg", drg)
    }

    fn dx(self, dx: &str) -> Row {
        self.set("principal_dx", dx)
    }

    fn hcpcs(self, hcpcs: &str) -> Row {
        self.set("hcpcs", hcpcs)
    }

    fn on(self, line_date: &str) -> Row {
        self.set("line_date", line_date)
    }

    /// Record type and processed date.
    fn version(self, record_type: &str, processed: &str) -> Row {
        self.set("record_type", record_type)
            .set("processed_date", processed)
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

/// An IP claim line (from/thru = admission/discharge by default).
fn ip(
    claim: &str,
    beneficiary: &str,
    admission: &str,
    discharge: &str,
    amount: &str,
    drg: &str,
    provider: &str,
) -> Row {
    Row::new(claim, 1, beneficiary, "IP", admission, discharge, amount)
        .drg(drg)
        .provider(provider)
}

/// The usual anchor of beneficiary `beneficiary`: IP DRG 470, 2026-03-02 ..
/// 03-05, window 03-02 ..= 06-02.
fn anchor(claim: &str, beneficiary: &str, amount: &str, provider: &str) -> Row {
    ip(
        claim,
        beneficiary,
        "2026-03-02",
        "2026-03-05",
        amount,
        "470",
        provider,
    )
}

/// A one-day professional line (line_date defaults to from_date).
fn pb(claim: &str, line: u32, beneficiary: &str, date: &str, amount: &str) -> Row {
    Row::new(claim, line, beneficiary, "PB", date, date, amount).provider("912345678")
}

/// An outpatient line on `date`.
fn op(claim: &str, line: u32, beneficiary: &str, date: &str, amount: &str) -> Row {
    Row::new(claim, line, beneficiary, "OP", date, date, amount).provider("330001")
}

/// A post-acute stay (SNF, HHA or HOS).
fn stay(
    claim: &str,
    claim_type: &str,
    beneficiary: &str,
    from: &str,
    thru: &str,
    amount: &str,
) -> Row {
    Row::new(claim, 1, beneficiary, claim_type, from, thru, amount).provider("335001")
}

fn claims(rows: &[Row]) -> String {
    rows.iter().map(|r| format!("{r}\n")).collect()
}

/// A case with one definition file.
fn case(rows: &[Row], definition: &str, prices: &str) -> Case {
    Case::new(&claims(rows), &[("lejr.toml", definition)], prices)
}

fn run(rows: &[Row], definition: &str, prices: &str) -> Outputs {
    case(rows, definition, prices).run()
}

/// The usual price: provider 330001, NOMCC, 2026: 30000.00 -> 29100.00.
const PRICE: &str = "LEJR,330001,NOMCC,2026,30000.00\n";

/// The rows of a CSV output, without its header.
fn body(text: &str) -> Vec<&str> {
    text.lines().skip(1).collect()
}

fn lejr_type(out: &Outputs) -> Value {
    out.summary_json()["episode_types"]["LEJR"].clone()
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the definition");
    text.replacen(from, to, 1)
}

// ---------------------------------------------------------------------------
// 2.4 Proration.

/// Window 03-02 ..= 06-02; a line of a claim of n days whose days a..=b are
/// in the window gets round(allowed × b / n) − round(allowed × (a − 1) / n),
/// each rounded half away from zero (a = 1 leaves the first term alone):
/// - S1 SNF 06-02..06-04, n = 3, days 1..=1: 100.00 × 1/3 = 33.333 -> 33.33.
/// - S2 SNF 06-02..06-03, two lines of 0.05, k = 1 of 2: each 0.025 -> 0.03
///   (per line: 0.06, not 0.10 / 2 = 0.05).
/// - H1 HHA 06-02..06-03: 0.05 × 1/2 = 0.025 -> 0.03 (banker's: 0.02).
/// - H2 HOS 06-01..06-04, days 1..=2 of 4: −0.05 × 2/4 = −0.025 -> −0.03.
/// - H3 HOS 05-01..05-10, k = n = 10: `included`, 100.00.
/// - S3 SNF 06-03..06-05, k = 0: not in the ledger.
/// - S4 SNF 02-27..03-03 (n = 5: 02-27, 02-28, 03-01, 03-02, 03-03), days
///   4..=5 at the start of the window: 200.00 × 5/5 − 200.00 × 3/5 = 200.00
///   − 120.00 = 80.00.
/// - S5 SNF 06-02..06-07, k = 1 of 6: 0.01/6 = 0.0017 -> 0.00, listed.
///
/// Actual = 10000 + 0.03 − 0.03 + 100 + 33.33 + 0.06 + 80 + 0 = 10213.39;
/// gain 29100.00 − 10213.39 = 18886.61.
#[test]
fn proration_across_the_window_rounds_each_line_half_away_from_zero() {
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            stay("S1", "SNF", "B1", "2026-06-02", "2026-06-04", "100.00"),
            stay("S2", "SNF", "B1", "2026-06-02", "2026-06-03", "0.05"),
            Row::new("S2", 2, "B1", "SNF", "2026-06-02", "2026-06-03", "0.05").provider("335001"),
            stay("H1", "HHA", "B1", "2026-06-02", "2026-06-03", "0.05"),
            stay("H2", "HOS", "B1", "2026-06-01", "2026-06-04", "-0.05"),
            stay("H3", "HOS", "B1", "2026-05-01", "2026-05-10", "100.00"),
            stay("S3", "SNF", "B1", "2026-06-03", "2026-06-05", "500.00"),
            stay("S4", "SNF", "B1", "2026-02-27", "2026-03-03", "200.00"),
            stay("S5", "SNF", "B1", "2026-06-02", "2026-06-07", "0.01"),
        ],
        &lejr(0, ""),
        PRICE,
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,H1,1,HHA,0.05,0.03,prorated,335001,2026-06-02",
            "LEJR:B1:A1,H2,1,HOS,-0.05,-0.03,prorated,335001,2026-06-01",
            "LEJR:B1:A1,H3,1,HOS,100.00,100.00,included,335001,2026-05-01",
            "LEJR:B1:A1,S1,1,SNF,100.00,33.33,prorated,335001,2026-06-02",
            "LEJR:B1:A1,S2,1,SNF,0.05,0.03,prorated,335001,2026-06-02",
            "LEJR:B1:A1,S2,2,SNF,0.05,0.03,prorated,335001,2026-06-02",
            "LEJR:B1:A1,S4,1,SNF,200.00,80.00,prorated,335001,2026-02-27",
            "LEJR:B1:A1,S5,1,SNF,0.01,0.00,prorated,335001,2026-06-02",
        ]
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:A1,LEJR,B1,330001,A1,NOMCC,2026-03-02,2026-06-02,2026,priced,9,10213.39,10213.39,29100.00,18886.61,,,1,30000.00"
        ]
    );
    // Final action 10000 + 100 + 0.10 + 0.05 − 0.05 + 100 + 500 + 200 + 0.01
    // = 10900.11; outside = 10900.11 − 10213.39 = 686.72.
    let t = lejr_type(&out);
    assert_eq!(t["final_action_amount"], "10900.11");
    assert_eq!(t["inside_amount"], "10213.39");
    assert_eq!(t["outside_amount"], "686.72");
    assert_eq!(t["lines_in_several_episodes"], 0);
}

/// `include.prorate` may name IP: then an IP claim is prorated by its
/// from/thru days, whatever its admission date.
/// - I2 IP 06-01..06-04 (n = 4, days 1..=2): 1000.00 × 2/4 − 0 = 500.00.
/// - I3 IP 02-28..03-03 (admitted 02-28, before the window; days 3..=4 of
///   4): 100.00 × 4/4 − 100.00 × 2/4 = 100.00 − 50.00 = 50.00.
///
/// Actual = 10000 + 500 + 50 = 10550.00.
#[test]
fn a_prorated_ip_claim_is_prorated_by_days() {
    let definition = replace_once(
        &lejr(0, ""),
        "prorate = [\"SNF\"",
        "prorate = [\"IP\", \"SNF\"",
    );
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            ip(
                "I2",
                "B1",
                "2026-06-01",
                "2026-06-04",
                "1000.00",
                "999",
                "330002",
            ),
            ip(
                "I3",
                "B1",
                "2026-02-28",
                "2026-03-03",
                "100.00",
                "999",
                "330002",
            ),
        ],
        &definition,
        PRICE,
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,I2,1,IP,1000.00,500.00,prorated,330002,2026-06-01",
            "LEJR:B1:A1,I3,1,IP,100.00,50.00,prorated,330002,2026-02-28",
        ]
    );
    assert_eq!(out.episode_rows()[0][11], "10550.00");
}

// ---------------------------------------------------------------------------
// 2.2 Window.

/// post_days = 90 and the discharge day is day 1: end = 03-05 + 89 = 06-02.
/// With lookback 0 the start is the admission, 03-02.
/// - P1 PB 06-02 (the end) in; P2 PB 06-03 (the day after) out.
/// - P3 PB 03-01 (the day before the start) out; P4 PB 03-02 in.
///
/// Actual = 10000 + 10 + 80 = 10090.00; gain 29100 − 10090 = 19010.00.
#[test]
fn the_discharge_day_is_day_one_of_the_post_discharge_period() {
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            pb("P1", 1, "B1", "2026-06-02", "10.00"),
            pb("P2", 1, "B1", "2026-06-03", "20.00"),
            pb("P3", 1, "B1", "2026-03-01", "40.00"),
            pb("P4", 1, "B1", "2026-03-02", "80.00"),
        ],
        &lejr(0, ""),
        PRICE,
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,P1,1,PB,10.00,10.00,included,912345678,2026-06-02",
            "LEJR:B1:A1,P4,1,PB,80.00,80.00,included,912345678,2026-03-02",
        ]
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:A1,LEJR,B1,330001,A1,NOMCC,2026-03-02,2026-06-02,2026,priced,3,10090.00,10090.00,29100.00,19010.00,,,1,30000.00"
        ]
    );
}

/// post_days = 1: the window is the anchor's own day, 05-10 ..= 05-10 + 0.
/// PB on 05-10 in (10.00), on 05-11 out. No OP price: `no_target_price`.
#[test]
fn post_days_one_ends_on_the_discharge_day() {
    let definition = replace_once(&lejr(0, ""), "post_days = 90", "post_days = 1");
    let out = run(
        &[
            op("K1", 1, "B1", "2026-05-10", "500.00").hcpcs("27447"),
            pb("P1", 1, "B1", "2026-05-10", "10.00"),
            pb("P2", 1, "B1", "2026-05-11", "20.00"),
        ],
        &definition,
        PRICE,
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:K1,LEJR,B1,330001,K1,OP,2026-05-10,2026-05-10,2026,no_target_price,2,510.00,510.00,,,,,1,"
        ]
    );
}

/// lookback_days = 10. A1 (03-02..03-05): start 03-02 − 10 = 02-20, end
/// 06-02. A3 (IP 470, 06-05..06-07): start 06-05 − 10 = 05-26 falls inside
/// A1's episode, so it becomes 06-03; end 06-07 + 89 = 09-04.
/// - P1 02-19 out; P2 02-20 -> A1; P3 06-02 -> A1; P4 06-03 -> A3;
///   P5 06-04 -> A3.
///
/// A1 = 10000 + 2 + 4 = 10006.00 (gain 19094.00); A3 = 7000 + 8 + 16 =
/// 7024.00 (gain 22076.00).
#[test]
fn the_lookback_is_clipped_to_the_day_after_the_previous_episode() {
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            ip(
                "A3",
                "B1",
                "2026-06-05",
                "2026-06-07",
                "7000.00",
                "470",
                "330001",
            ),
            pb("P1", 1, "B1", "2026-02-19", "1.00"),
            pb("P2", 1, "B1", "2026-02-20", "2.00"),
            pb("P3", 1, "B1", "2026-06-02", "4.00"),
            pb("P4", 1, "B1", "2026-06-03", "8.00"),
            pb("P5", 1, "B1", "2026-06-04", "16.00"),
        ],
        &lejr(10, ""),
        PRICE,
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:A1,LEJR,B1,330001,A1,NOMCC,2026-02-20,2026-06-02,2026,priced,3,10006.00,10006.00,29100.00,19094.00,,,1,30000.00",
            "LEJR:B1:A3,LEJR,B1,330001,A3,NOMCC,2026-06-03,2026-09-04,2026,priced,3,7024.00,7024.00,29100.00,22076.00,,,1,30000.00",
        ]
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,P2,1,PB,2.00,2.00,included,912345678,2026-02-20",
            "LEJR:B1:A1,P3,1,PB,4.00,4.00,included,912345678,2026-06-02",
            "LEJR:B1:A3,A3,1,IP,7000.00,7000.00,anchor,330001,2026-06-05",
            "LEJR:B1:A3,P4,1,PB,8.00,8.00,included,912345678,2026-06-03",
            "LEJR:B1:A3,P5,1,PB,16.00,16.00,included,912345678,2026-06-04",
        ]
    );
}

// ---------------------------------------------------------------------------
// 2.1 Triggers and 2.3 overlap.

/// A2 (IP DRG 469, admitted 06-02 = A1's end) would be a trigger but its
/// anchor start is inside A1's episode: it opens nothing and is an ordinary
/// IP claim of A1, wholly included (5000.00, though it runs to 06-04).
/// A3 (IP 470, admitted 06-03, the day after) opens its own episode:
/// 06-03 ..= 06-04 + 89 = 09-01.
/// A1 = 15000.00 (gain 14100.00); A3 = 7000.00 (gain 22100.00).
#[test]
fn a_trigger_inside_an_open_episode_is_an_ordinary_claim() {
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            ip(
                "A2",
                "B1",
                "2026-06-02",
                "2026-06-04",
                "5000.00",
                "469",
                "330002",
            ),
            ip(
                "A3",
                "B1",
                "2026-06-03",
                "2026-06-04",
                "7000.00",
                "470",
                "330001",
            ),
        ],
        &lejr(0, ""),
        PRICE,
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:A1,LEJR,B1,330001,A1,NOMCC,2026-03-02,2026-06-02,2026,priced,2,15000.00,15000.00,29100.00,14100.00,,,1,30000.00",
            "LEJR:B1:A3,LEJR,B1,330001,A3,NOMCC,2026-06-03,2026-09-01,2026,priced,1,7000.00,7000.00,29100.00,22100.00,,,1,30000.00",
        ]
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,A2,1,IP,5000.00,5000.00,included,330002,2026-06-02",
            "LEJR:B1:A3,A3,1,IP,7000.00,7000.00,anchor,330001,2026-06-03",
        ]
    );
}

/// lookback 3; trigger codes 27447 (group OP) and 27130 (group HIP).
/// K1 (OP, 01-05..01-12), lines in file order 4, 1, 2, 3:
///   line 1 01-05 99213 100.00; line 2 01-12 27130 200.00;
///   line 3 01-10 27447 300.00; line 4 01-10 27130 400.00.
/// Earliest matching line: line_date 01-10 (lines 3 and 4), then
/// line_number: line 3, 27447 -> group OP (not line 2, lower number but
/// later; not 27130 by text). Anchor 01-10: start 01-07, end 04-09. All four
/// lines are the anchor's, line 1 (01-05) too.
/// P0 01-06 out; P1 01-07 (lookback) in; P2 04-09 in; P3 04-10 out.
/// Actual = 1000 + 10 + 40 = 1050.00; target 2000 × 0.97 = 1940.00; gain
/// 890.00.
#[test]
fn an_op_trigger_is_anchored_on_its_earliest_matching_line() {
    let definition = replace_once(
        &replace_once(
            &lejr(3, ""),
            "hcpcs = [\"27447\"]",
            "hcpcs = [\"27447\", \"27130\"]",
        ),
        "\"27447\" = \"OP\"",
        "\"27447\" = \"OP\", \"27130\" = \"HIP\"",
    );
    let k1 = |line, date: &str, code: &str, amount: &str| {
        Row::new("K1", line, "B1", "OP", "2026-01-05", "2026-01-12", amount)
            .provider("330001")
            .on(date)
            .hcpcs(code)
    };
    let out = run(
        &[
            k1(4, "2026-01-10", "27130", "400.00"),
            k1(1, "2026-01-05", "99213", "100.00"),
            k1(2, "2026-01-12", "27130", "200.00"),
            k1(3, "2026-01-10", "27447", "300.00"),
            pb("P0", 1, "B1", "2026-01-06", "20.00"),
            pb("P1", 1, "B1", "2026-01-07", "10.00"),
            pb("P2", 1, "B1", "2026-04-09", "40.00"),
            pb("P3", 1, "B1", "2026-04-10", "80.00"),
        ],
        &definition,
        "LEJR,330001,OP,2026,2000.00\nLEJR,330001,HIP,2026,9000.00\n",
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:K1,LEJR,B1,330001,K1,OP,2026-01-07,2026-04-09,2026,priced,6,1050.00,1050.00,1940.00,890.00,,,1,2000.00"
        ]
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:K1,K1,1,OP,100.00,100.00,anchor,330001,2026-01-05",
            "LEJR:B1:K1,K1,2,OP,200.00,200.00,anchor,330001,2026-01-12",
            "LEJR:B1:K1,K1,3,OP,300.00,300.00,anchor,330001,2026-01-10",
            "LEJR:B1:K1,K1,4,OP,400.00,400.00,anchor,330001,2026-01-10",
            "LEJR:B1:K1,P1,1,PB,10.00,10.00,included,912345678,2026-01-07",
            "LEJR:B1:K1,P2,1,PB,40.00,40.00,included,912345678,2026-04-09",
        ]
    );
}

/// lookback 3. N1 (IP 470, admitted 02-08, no provider) would be a trigger
/// but opens nothing; it lies in the lookback of A2 (IP 469 admitted 02-10:
/// start 02-07, end 02-12 + 89 = 05-12), so it is an ordinary included
/// claim there. A2 = 5000 + 3000 = 8000.00, MCC, no MCC price.
#[test]
fn a_providerless_trigger_in_the_lookback_of_a_later_anchor_is_included() {
    let out = run(
        &[
            ip("N1", "B2", "2026-02-08", "2026-02-09", "3000.00", "470", "").no_provider(),
            ip(
                "A2",
                "B2",
                "2026-02-10",
                "2026-02-12",
                "5000.00",
                "469",
                "330001",
            ),
        ],
        &lejr(3, ""),
        PRICE,
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B2:A2,LEJR,B2,330001,A2,MCC,2026-02-07,2026-05-12,2026,no_target_price,2,8000.00,8000.00,,,,,1,"
        ]
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B2:A2,A2,1,IP,5000.00,5000.00,anchor,330001,2026-02-10",
            "LEJR:B2:A2,N1,1,IP,3000.00,3000.00,included,,2026-02-08",
        ]
    );
    assert_eq!(lejr_type(&out)["triggers_without_provider"], 1);
}

/// Triggers are taken by anchor start, then claim_id as text.
/// - B1: A2 (IP 470) and A10 (OP 27447) both start 03-02; "A10" < "A2" as
///   text (numerically 10 > 2): A10 opens (group OP, provider 330010,
///   03-02 ..= 03-02 + 89 = 05-30), A2 is included. 1000 + 9000 = 10000.00.
/// - B2: Z9 (IP 469, 03-01) starts before A1 (IP 470, 03-02) and opens,
///   MCC, 03-01 ..= 03-03 + 89 = 05-31; A1 is included. 8000 + 6000.
#[test]
fn triggers_are_taken_by_anchor_start_then_claim_id_text() {
    let out = run(
        &[
            ip(
                "A2",
                "B1",
                "2026-03-02",
                "2026-03-04",
                "9000.00",
                "470",
                "330001",
            ),
            op("A10", 1, "B1", "2026-03-02", "1000.00")
                .hcpcs("27447")
                .provider("330010"),
            ip(
                "A1",
                "B2",
                "2026-03-02",
                "2026-03-03",
                "6000.00",
                "470",
                "330001",
            ),
            ip(
                "Z9",
                "B2",
                "2026-03-01",
                "2026-03-03",
                "8000.00",
                "469",
                "330001",
            ),
        ],
        &lejr(0, ""),
        "",
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:A10,LEJR,B1,330010,A10,OP,2026-03-02,2026-05-30,2026,no_target_price,2,10000.00,10000.00,,,,,1,",
            "LEJR:B2:Z9,LEJR,B2,330001,Z9,MCC,2026-03-01,2026-05-31,2026,no_target_price,2,14000.00,14000.00,,,,,1,",
        ]
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A10,A10,1,OP,1000.00,1000.00,anchor,330010,2026-03-02",
            "LEJR:B1:A10,A2,1,IP,9000.00,9000.00,included,330001,2026-03-02",
            "LEJR:B2:Z9,A1,1,IP,6000.00,6000.00,included,330001,2026-03-02",
            "LEJR:B2:Z9,Z9,1,IP,8000.00,8000.00,anchor,330001,2026-03-01",
        ]
    );
}

/// Only an IP claim with a trigger DRG, or an OP claim with a trigger HCPCS
/// line, is a trigger. B1 SNF with DRG 470, B2 PB with 27447, B3 DME with
/// 27447, B5 OP with DRG 470 and B6 IP with DRG 999 and a 27447 line open
/// nothing; B4 IP with DRG `0469` (= 469) opens an MCC episode.
#[test]
fn only_ip_drgs_and_op_hcpcs_trigger() {
    let out = run(
        &[
            stay("S1", "SNF", "B1", "2026-03-02", "2026-03-05", "100.00").drg("470"),
            pb("P1", 1, "B2", "2026-03-02", "100.00").hcpcs("27447"),
            Row::new("D1", 1, "B3", "DME", "2026-03-02", "2026-03-02", "100.00")
                .provider("330001")
                .hcpcs("27447"),
            ip(
                "I1",
                "B4",
                "2026-03-02",
                "2026-03-05",
                "100.00",
                "0469",
                "330001",
            ),
            op("O1", 1, "B5", "2026-03-02", "100.00").drg("470"),
            ip(
                "I2",
                "B6",
                "2026-03-02",
                "2026-03-05",
                "100.00",
                "999",
                "330001",
            )
            .hcpcs("27447"),
        ],
        &lejr(0, ""),
        "",
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B4:I1,LEJR,B4,330001,I1,MCC,2026-03-02,2026-06-02,2026,no_target_price,1,100.00,100.00,,,,,1,"
        ]
    );
}

/// The anchor claim is wholly in its own episode and in no other.
/// lookback 3. K1 (OP 27447 on 01-10): 01-07 ..= 04-09. K2 (OP, 04-05..
/// 04-12): line 1 on 04-05 (99213, 200.00), line 2 on 04-12 (27447,
/// 3000.00): anchor 04-12, start 04-09 clipped to 04-10, end 04-12 + 89 =
/// 07-10. K2 line 1 is dated inside K1's window, but it belongs to K2 only
/// (and K2's, though before K2's start).
#[test]
fn the_anchor_claim_is_in_its_own_episode_only() {
    let out = run(
        &[
            op("K1", 1, "B1", "2026-01-10", "1000.00").hcpcs("27447"),
            Row::new("K2", 1, "B1", "OP", "2026-04-05", "2026-04-12", "200.00")
                .provider("330001")
                .on("2026-04-05")
                .hcpcs("99213"),
            Row::new("K2", 2, "B1", "OP", "2026-04-05", "2026-04-12", "3000.00")
                .provider("330001")
                .on("2026-04-12")
                .hcpcs("27447"),
        ],
        &lejr(3, ""),
        "",
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:K1,K1,1,OP,1000.00,1000.00,anchor,330001,2026-01-10",
            "LEJR:B1:K2,K2,1,OP,200.00,200.00,anchor,330001,2026-04-05",
            "LEJR:B1:K2,K2,2,OP,3000.00,3000.00,anchor,330001,2026-04-12",
        ]
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:K1,LEJR,B1,330001,K1,OP,2026-01-07,2026-04-09,2026,no_target_price,1,1000.00,1000.00,,,,,1,",
            "LEJR:B1:K2,LEJR,B1,330001,K2,OP,2026-04-10,2026-07-10,2026,no_target_price,2,3200.00,3200.00,,,,,1,",
        ]
    );
    assert_eq!(lejr_type(&out)["lines_in_several_episodes"], 0);
}

/// A trigger without provider_id opens nothing and is counted, also when it
/// falls inside another episode (decided rule 2).
/// - B1: N1 (IP 469, 04-01, no provider) inside A1's episode: included,
///   counted. A1 = 10000 + 3000 = 13000.00.
/// - B2: N2 (IP 470, no provider): no episode, counted; P1 outside.
/// - B3: N3 (OP 27447, no provider): no episode, counted.
///
/// triggers_without_provider = 3; outside = 8000 + 100 + 500 = 8600.00.
#[test]
fn triggers_without_provider_open_nothing_and_are_counted() {
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            ip("N1", "B1", "2026-04-01", "2026-04-03", "3000.00", "469", "").no_provider(),
            anchor("N2", "B2", "8000.00", "").no_provider(),
            pb("P1", 1, "B2", "2026-03-03", "100.00"),
            op("N3", 1, "B3", "2026-03-02", "500.00")
                .hcpcs("27447")
                .no_provider(),
        ],
        &lejr(0, ""),
        PRICE,
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,N1,1,IP,3000.00,3000.00,included,,2026-04-01",
        ]
    );
    assert_eq!(out.episode_rows().len(), 1);
    let t = lejr_type(&out);
    assert_eq!(t["episodes"], 1);
    assert_eq!(t["triggers_without_provider"], 3);
    assert_eq!(t["inside_amount"], "13000.00");
    assert_eq!(t["outside_amount"], "8600.00");
}

// ---------------------------------------------------------------------------
// 2.4 Inclusion by date, per claim type.

/// prorate = []: window 03-02 ..= 06-02.
/// - IP by admission_date: I2 admitted 06-02 (..06-10) in, whole 5000.00;
///   I3 from 03-02 but admitted 03-01: out; I4 from 02-25 but admitted
///   03-02: in, 1500.00.
/// - SNF/HHA/HOS by from_date: S1 05-25..06-20 in, whole 2000.00; H1 HHA
///   02-20..03-10 out; H2 HOS 06-02..06-30 in, 300.00; H3 HOS 06-03 out.
/// - OP/PB/DME per line by line_date: O1 line 1 (06-02) in 11.00, line 2
///   (06-03) out; D1 line 1 (03-01) out, line 2 (03-02) in 19.00; P1 from
///   06-02, no line_date: in 23.00; P2 06-03 out; P3 from 06-01 but
///   line_date 06-04: out.
///
/// Actual = 10000 + 19 + 300 + 5000 + 1500 + 11 + 23 + 2000 = 18853.00.
#[test]
fn non_prorated_claims_are_in_by_their_dates() {
    let definition = replace_once(
        &lejr(0, ""),
        "prorate = [\"SNF\", \"HHA\", \"HOS\"]",
        "prorate = []",
    );
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            ip(
                "I2",
                "B1",
                "2026-06-02",
                "2026-06-10",
                "5000.00",
                "999",
                "330002",
            ),
            ip(
                "I3",
                "B1",
                "2026-03-02",
                "2026-03-03",
                "3000.00",
                "999",
                "330002",
            )
            .set("admission_date", "2026-03-01")
            .set("discharge_date", "2026-03-03"),
            ip(
                "I4",
                "B1",
                "2026-02-25",
                "2026-03-04",
                "1500.00",
                "999",
                "330002",
            )
            .set("admission_date", "2026-03-02")
            .set("discharge_date", "2026-03-04"),
            stay("S1", "SNF", "B1", "2026-05-25", "2026-06-20", "2000.00"),
            stay("H1", "HHA", "B1", "2026-02-20", "2026-03-10", "700.00"),
            stay("H2", "HOS", "B1", "2026-06-02", "2026-06-30", "300.00"),
            stay("H3", "HOS", "B1", "2026-06-03", "2026-06-05", "400.00"),
            Row::new("O1", 1, "B1", "OP", "2026-05-30", "2026-06-05", "11.00")
                .provider("330001")
                .on("2026-06-02"),
            Row::new("O1", 2, "B1", "OP", "2026-05-30", "2026-06-05", "13.00")
                .provider("330001")
                .on("2026-06-03"),
            Row::new("D1", 1, "B1", "DME", "2026-03-01", "2026-03-10", "17.00")
                .provider("330001")
                .on("2026-03-01"),
            Row::new("D1", 2, "B1", "DME", "2026-03-01", "2026-03-10", "19.00")
                .provider("330001")
                .on("2026-03-02"),
            Row::new("P1", 1, "B1", "PB", "2026-06-02", "2026-06-05", "23.00")
                .provider("912345678"),
            pb("P2", 1, "B1", "2026-06-03", "29.00"),
            Row::new("P3", 1, "B1", "PB", "2026-06-01", "2026-06-05", "31.00")
                .provider("912345678")
                .on("2026-06-04"),
        ],
        &definition,
        PRICE,
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,D1,2,DME,19.00,19.00,included,330001,2026-03-02",
            "LEJR:B1:A1,H2,1,HOS,300.00,300.00,included,335001,2026-06-02",
            "LEJR:B1:A1,I2,1,IP,5000.00,5000.00,included,330002,2026-06-02",
            "LEJR:B1:A1,I4,1,IP,1500.00,1500.00,included,330002,2026-03-02",
            "LEJR:B1:A1,O1,1,OP,11.00,11.00,included,330001,2026-06-02",
            "LEJR:B1:A1,P1,1,PB,23.00,23.00,included,912345678,2026-06-02",
            "LEJR:B1:A1,S1,1,SNF,2000.00,2000.00,included,335001,2026-05-25",
        ]
    );
    assert_eq!(out.episode_rows()[0][11], "18853.00");
}

/// claim_types without DME: D1 (DME 04-01, 500.00) is not considered and
/// its money is outside. FA = 10000 + 100 + 500 = 10600.00; inside
/// 10100.00; outside 500.00.
#[test]
fn a_claim_type_not_included_is_outside() {
    let definition = replace_once(&lejr(0, ""), "\"PB\", \"DME\"]", "\"PB\"]");
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            pb("P1", 1, "B1", "2026-04-01", "100.00"),
            Row::new("D1", 1, "B1", "DME", "2026-04-01", "2026-04-01", "500.00").provider("330001"),
        ],
        &definition,
        PRICE,
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,P1,1,PB,100.00,100.00,included,912345678,2026-04-01",
        ]
    );
    let t = lejr_type(&out);
    assert_eq!(t["ledger_lines"], 2);
    assert_eq!(t["final_action_amount"], "10600.00");
    assert_eq!(t["inside_amount"], "10100.00");
    assert_eq!(t["outside_amount"], "500.00");
    assert_eq!(t["adds_up"], true);
}

/// Decided rule 1: claim_types = ["PB"]; the IP anchor A1 and the OP anchor
/// K1 are still wholly in as `anchor`; I2 (IP in the window) and D1 (DME)
/// are not considered.
/// FA = 10000 + 100 + 2000 + 500 + 1000 = 13600.00; inside 10100 + 1000 =
/// 11100.00; outside 2500.00.
#[test]
fn the_anchor_is_in_even_when_its_claim_type_is_not_included() {
    let definition = replace_once(
        &lejr(0, ""),
        "claim_types = [\"IP\", \"SNF\", \"HHA\", \"HOS\", \"OP\", \"PB\", \"DME\"]",
        "claim_types = [\"PB\"]",
    );
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            pb("P1", 1, "B1", "2026-04-01", "100.00"),
            ip(
                "I2",
                "B1",
                "2026-04-01",
                "2026-04-03",
                "2000.00",
                "999",
                "330002",
            ),
            Row::new("D1", 1, "B1", "DME", "2026-04-01", "2026-04-01", "500.00").provider("330001"),
            op("K1", 1, "B2", "2026-04-01", "1000.00").hcpcs("27447"),
        ],
        &definition,
        PRICE,
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,P1,1,PB,100.00,100.00,included,912345678,2026-04-01",
            "LEJR:B2:K1,K1,1,OP,1000.00,1000.00,anchor,330001,2026-04-01",
        ]
    );
    let t = lejr_type(&out);
    assert_eq!(t["final_action_amount"], "13600.00");
    assert_eq!(t["inside_amount"], "11100.00");
    assert_eq!(t["outside_amount"], "2500.00");
}

// ---------------------------------------------------------------------------
// 2.5 Exclusion.

/// exclude: drg 871, hcpcs J9035, principal_dx `C50*` and exact `Z96.641`.
/// - A1 (anchor, dx C50.911, line 2 J9035): never excluded, 10500.00.
/// - R1 IP DRG 871: excluded:drg. R2 IP DRG `0871` (= 871) with dx C50.1
///   and J9035: excluded:drg (first rule wins).
/// - S1 SNF carrying DRG 871: included (the DRG rule is IP only), 900.00.
/// - P2 line 2 `j9035` (lower case): excluded:hcpcs; line 1 in, 120.00.
///   P3 J9035 with dx C50.1: excluded:hcpcs (before principal_dx).
/// - O1 dx `c50.911` (= C50911, prefix C50): excluded:principal_dx. O2 dx
///   C49.9: in, 30.00. O3 dx `z96641` (exact): excluded. O4 dx Z96.6411
///   (not exact, no `*`): in, 8.00.
/// - S2 SNF 06-01..06-04 with dx C50.9: would be prorated 2/4, but
///   excluded:principal_dx, 0.00.
///
/// Actual = 10500 + 30 + 8 + 120 + 900 = 11558.00.
#[test]
fn exclusions_first_rule_wins_and_never_the_anchor() {
    let definition = replace_once(
        &lejr(0, ""),
        "principal_dx = [\"C50*\"]",
        "principal_dx = [\"C50*\", \"Z96.641\"]",
    );
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001").dx("C50.911"),
            Row::new("A1", 2, "B1", "IP", "2026-03-02", "2026-03-05", "500.00")
                .provider("330001")
                .drg("470")
                .dx("C50.911")
                .hcpcs("J9035"),
            ip(
                "R1",
                "B1",
                "2026-04-10",
                "2026-04-14",
                "6000.00",
                "871",
                "330002",
            ),
            ip(
                "R2",
                "B1",
                "2026-04-20",
                "2026-04-22",
                "700.00",
                "0871",
                "330002",
            )
            .dx("C50.1")
            .hcpcs("J9035"),
            stay("S1", "SNF", "B1", "2026-04-01", "2026-04-05", "900.00").drg("871"),
            pb("P2", 1, "B1", "2026-04-20", "120.00").hcpcs("99213"),
            pb("P2", 2, "B1", "2026-04-20", "900.00").hcpcs("j9035"),
            pb("P3", 1, "B1", "2026-04-21", "50.00")
                .hcpcs("J9035")
                .dx("C50.1"),
            op("O1", 1, "B1", "2026-05-01", "300.00").dx("c50.911"),
            op("O2", 1, "B1", "2026-05-02", "30.00").dx("C49.9"),
            op("O3", 1, "B1", "2026-05-03", "20.00").dx("z96641"),
            op("O4", 1, "B1", "2026-05-04", "8.00").dx("Z96.6411"),
            stay("S2", "SNF", "B1", "2026-06-01", "2026-06-04", "400.00").dx("C50.9"),
        ],
        &definition,
        PRICE,
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,A1,2,IP,500.00,500.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,O1,1,OP,300.00,0.00,excluded:principal_dx,330001,2026-05-01",
            "LEJR:B1:A1,O2,1,OP,30.00,30.00,included,330001,2026-05-02",
            "LEJR:B1:A1,O3,1,OP,20.00,0.00,excluded:principal_dx,330001,2026-05-03",
            "LEJR:B1:A1,O4,1,OP,8.00,8.00,included,330001,2026-05-04",
            "LEJR:B1:A1,P2,1,PB,120.00,120.00,included,912345678,2026-04-20",
            "LEJR:B1:A1,P2,2,PB,900.00,0.00,excluded:hcpcs,912345678,2026-04-20",
            "LEJR:B1:A1,P3,1,PB,50.00,0.00,excluded:hcpcs,912345678,2026-04-21",
            "LEJR:B1:A1,R1,1,IP,6000.00,0.00,excluded:drg,330002,2026-04-10",
            "LEJR:B1:A1,R2,1,IP,700.00,0.00,excluded:drg,330002,2026-04-20",
            "LEJR:B1:A1,S1,1,SNF,900.00,900.00,included,335001,2026-04-01",
            "LEJR:B1:A1,S2,1,SNF,400.00,0.00,excluded:principal_dx,335001,2026-06-01",
        ]
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:A1,LEJR,B1,330001,A1,NOMCC,2026-03-02,2026-06-02,2026,priced,13,11558.00,11558.00,29100.00,17542.00,,,1,30000.00"
        ]
    );
}

// ---------------------------------------------------------------------------
// 1.2 Final action.

/// All PB lines on 04-01 of beneficiary B1, in A1's window.
/// - P1: O (04-05, 100.00), R (04-20, 150.00): R, 150.00.
/// - P2: O, R (04-20), V (04-30): void.
/// - P3: O (04-05), R and V both 04-20: V beats R on a tie: void.
/// - P4: O and R both 04-05: R beats O: 45.00.
/// - P5: R (04-05, 60.00), O (04-12, 65.00): the latest wins, O: 65.00.
/// - P6: V (04-05), R (04-20, 75.00): R stands.
/// - P7: O two lines (10 + 20), R (04-20) one line 25.00: only line 1.
/// - B2's P1 is another claim: its void leaves B1's P1 alone.
///
/// Rows: 20 read = 6 final action (10000 + 150 + 45 + 65 + 75 + 25 =
/// 10360.00), 3 void (110 + 120 + 5 = 235.00) and 11 superseded (100 +
/// 100 + 110 + 100 + 120 + 40 + 60 + 70 + 10 + 20 + 5 = 735.00); read
/// 11330.00.
#[test]
fn final_action_latest_processed_then_void_replacement_original() {
    let p = |claim: &str, line: u32, beneficiary: &str, amount: &str, rt: &str, processed: &str| {
        pb(claim, line, beneficiary, "2026-04-01", amount).version(rt, processed)
    };
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            p("P1", 1, "B1", "100.00", "O", "2026-04-05"),
            p("P1", 1, "B1", "150.00", "R", "2026-04-20"),
            p("P2", 1, "B1", "100.00", "O", "2026-04-05"),
            p("P2", 1, "B1", "110.00", "R", "2026-04-20"),
            p("P2", 1, "B1", "110.00", "V", "2026-04-30"),
            p("P3", 1, "B1", "100.00", "O", "2026-04-05"),
            p("P3", 1, "B1", "120.00", "V", "2026-04-20"),
            p("P3", 1, "B1", "120.00", "R", "2026-04-20"),
            p("P4", 1, "B1", "45.00", "R", "2026-04-05"),
            p("P4", 1, "B1", "40.00", "O", "2026-04-05"),
            p("P5", 1, "B1", "60.00", "R", "2026-04-05"),
            p("P5", 1, "B1", "65.00", "O", "2026-04-12"),
            p("P6", 1, "B1", "70.00", "V", "2026-04-05"),
            p("P6", 1, "B1", "75.00", "R", "2026-04-20"),
            p("P7", 1, "B1", "10.00", "O", "2026-04-05"),
            p("P7", 2, "B1", "20.00", "O", "2026-04-05"),
            p("P7", 1, "B1", "25.00", "R", "2026-04-20"),
            p("P1", 1, "B2", "5.00", "O", "2026-04-05"),
            p("P1", 1, "B2", "5.00", "V", "2026-04-30"),
        ],
        &lejr(0, ""),
        PRICE,
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,P1,1,PB,150.00,150.00,included,912345678,2026-04-01",
            "LEJR:B1:A1,P4,1,PB,45.00,45.00,included,912345678,2026-04-01",
            "LEJR:B1:A1,P5,1,PB,65.00,65.00,included,912345678,2026-04-01",
            "LEJR:B1:A1,P6,1,PB,75.00,75.00,included,912345678,2026-04-01",
            "LEJR:B1:A1,P7,1,PB,25.00,25.00,included,912345678,2026-04-01",
        ]
    );
    let s = out.summary_json();
    assert_eq!(
        s["rows"],
        serde_json::json!({"read": 20, "rejected": 0, "after_cutoff": 0, "void": 3, "superseded": 11, "final_action": 6, "adds_up": true})
    );
    assert_eq!(
        s["amounts"],
        serde_json::json!({"read": "11330.00", "rejected": "0.00", "after_cutoff": "0.00", "void": "235.00", "superseded": "735.00", "final_action": "10360.00", "adds_up": true})
    );
}

/// A rejected version takes no part in final action.
/// - P1: O (04-05, 100.00), R (04-20, `1e3`): bad_amount, so O stands.
/// - P2: O (04-05, 50.00), R (04-20) whose line 2 has from > thru
///   (bad_date_range); its line 1 goes with it (claim_has_rejected_row).
///
/// Ledger: A1 + 100.00 + 50.00; rows 7 = 3 rejected + 4 final action, 0
/// superseded.
#[test]
fn a_rejected_replacement_leaves_the_original_standing() {
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            pb("P1", 1, "B1", "2026-04-01", "100.00").version("O", "2026-04-05"),
            pb("P1", 1, "B1", "2026-04-01", "1e3").version("R", "2026-04-20"),
            pb("P2", 1, "B1", "2026-04-01", "50.00").version("O", "2026-04-05"),
            pb("P2", 1, "B1", "2026-04-01", "60.00").version("R", "2026-04-20"),
            Row::new("P2", 2, "B1", "PB", "2026-04-02", "2026-04-01", "70.00")
                .provider("912345678")
                .version("R", "2026-04-20"),
        ],
        &lejr(0, ""),
        PRICE,
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,P1,1,PB,100.00,100.00,included,912345678,2026-04-01",
            "LEJR:B1:A1,P2,1,PB,50.00,50.00,included,912345678,2026-04-01",
        ]
    );
    assert_eq!(
        out.reject_reasons(),
        [
            (4, "bad_amount".to_owned()),
            (6, "claim_has_rejected_row".to_owned()),
            (7, "bad_date_range".to_owned()),
        ]
    );
    let rows = &out.summary_json()["rows"];
    assert_eq!(rows["superseded"], 0);
    assert_eq!(rows["final_action"], 3);
    assert_eq!(rows["rejected"], 3);
}

// ---------------------------------------------------------------------------
// --as-of.

/// A1 (processed 03-05, its thru date) and P1 (PB 04-01): O processed
/// 04-05 100.00, R 05-10 150.00, V 06-15 150.00.
/// - as of 04-30: R and V after_cutoff (2 rows, 300.00); O stands:
///   10100.00.
/// - as of 05-10 (R's own date is received): R stands, O superseded, V
///   after_cutoff: 10150.00.
/// - as of 06-15: void; O and R superseded (250.00): 10000.00.
#[test]
fn as_of_gives_three_results_at_three_cutoffs() {
    let case = case(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            pb("P1", 1, "B1", "2026-04-01", "100.00").version("O", "2026-04-05"),
            pb("P1", 1, "B1", "2026-04-01", "150.00").version("R", "2026-05-10"),
            pb("P1", 1, "B1", "2026-04-01", "150.00").version("V", "2026-06-15"),
        ],
        &lejr(0, ""),
        PRICE,
    );
    let at = |date| case.run_files(&["claims.csv"], Some(date), 1);

    let april = at("2026-04-30");
    assert_eq!(
        body(&april.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,P1,1,PB,100.00,100.00,included,912345678,2026-04-01",
        ]
    );
    assert_eq!(april.episode_rows()[0][11], "10100.00");
    let s = april.summary_json();
    assert_eq!(s["as_of"], "2026-04-30");
    assert_eq!(
        s["rows"],
        serde_json::json!({"read": 4, "rejected": 0, "after_cutoff": 2, "void": 0, "superseded": 0, "final_action": 2, "adds_up": true})
    );
    assert_eq!(s["amounts"]["after_cutoff"], "300.00");

    let may = at("2026-05-10");
    assert_eq!(
        body(&may.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,P1,1,PB,150.00,150.00,included,912345678,2026-04-01",
        ]
    );
    assert_eq!(may.episode_rows()[0][11], "10150.00");
    let s = may.summary_json();
    assert_eq!(
        s["rows"],
        serde_json::json!({"read": 4, "rejected": 0, "after_cutoff": 1, "void": 0, "superseded": 1, "final_action": 2, "adds_up": true})
    );
    assert_eq!(s["amounts"]["superseded"], "100.00");

    let june = at("2026-06-15");
    assert_eq!(
        body(&june.ledger),
        ["LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02"]
    );
    assert_eq!(june.episode_rows()[0][11], "10000.00");
    let s = june.summary_json();
    assert_eq!(
        s["rows"],
        serde_json::json!({"read": 4, "rejected": 0, "after_cutoff": 0, "void": 1, "superseded": 2, "final_action": 1, "adds_up": true})
    );
    assert_eq!(s["amounts"]["superseded"], "250.00");
    assert_eq!(s["amounts"]["void"], "150.00");
}

/// As of 04-30: P2's replacement (05-20, amount `1e3`) is after_cutoff and
/// not checked (no reject; its unparsable amount counts 0); P2's original
/// (50.00) stands. B2's anchor A9 (processed 05-01) is not yet received: no
/// episode. Read 4 = 2 after_cutoff + 2 final action; amounts read 30050.00,
/// after_cutoff 20000.00. Without a cutoff, the replacement is bad_amount.
#[test]
fn rows_after_the_cutoff_are_neither_checked_nor_used() {
    let case = case(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            pb("P2", 1, "B1", "2026-04-01", "50.00").version("O", "2026-04-05"),
            pb("P2", 1, "B1", "2026-04-01", "1e3").version("R", "2026-05-20"),
            anchor("A9", "B2", "20000.00", "330001").version("O", "2026-05-01"),
        ],
        &lejr(0, ""),
        PRICE,
    );
    let out = case.run_files(&["claims.csv"], Some("2026-04-30"), 1);
    assert_eq!(out.rejects, "file,row,reason,record\n");
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A1,A1,1,IP,10000.00,10000.00,anchor,330001,2026-03-02",
            "LEJR:B1:A1,P2,1,PB,50.00,50.00,included,912345678,2026-04-01",
        ]
    );
    let s = out.summary_json();
    assert_eq!(
        s["rows"],
        serde_json::json!({"read": 4, "rejected": 0, "after_cutoff": 2, "void": 0, "superseded": 0, "final_action": 2, "adds_up": true})
    );
    assert_eq!(s["amounts"]["read"], "30050.00");
    assert_eq!(s["amounts"]["after_cutoff"], "20000.00");

    let all = case.run();
    assert_eq!(all.reject_reasons(), [(4, "bad_amount".to_owned())]);
    assert_eq!(all.episode_rows().len(), 2);
}

// ---------------------------------------------------------------------------
// lines_in_several_episodes and the per-type money.

/// lookback 3. K1 (OP 27447 on 01-10): 01-07 ..= 04-09. A3 (IP 470
/// 04-11..04-13): start 04-08 clipped to 04-10, end 07-11.
/// Each prorated line gives round(allowed × b / n) − round(allowed × (a − 1)
/// / n) for its days a..=b in the window, so the shares add up to the line.
/// - S1 SNF 04-05..04-14 (n = 10) 1000.00: K1 days 1..=5, 1000 × 5/10 − 0 =
///   500.00; A3 days 6..=10, 1000 × 10/10 − 1000 × 5/10 = 500.00.
/// - S2 SNF 04-09..04-10 (n = 2) 0.05: K1 day 1, round(0.025) − 0 = 0.03;
///   A3 day 2, 0.05 − round(0.025) = 0.05 − 0.03 = 0.02: 0.05 in all,
///   nothing outside.
/// - S3 SNF 04-08..04-12 dx C50.9: excluded:principal_dx in both (decided
///   rule 4: still counted).
/// - S4 SNF 04-01..04-09: wholly in K1, 300.00, not counted.
///
/// lines_in_several_episodes = 3 (S1, S2, S3). K1 = 11000 + 500 + 0.03 +
/// 300 = 11800.03; A3 = 16000 + 500 + 0.02 = 16500.02; inside 28300.05; FA
/// 28500.05; outside 200.00 (S3).
#[test]
fn lines_split_between_consecutive_episodes_are_counted() {
    let out = run(
        &[
            op("K1", 1, "B1", "2026-01-10", "11000.00").hcpcs("27447"),
            ip(
                "A3",
                "B1",
                "2026-04-11",
                "2026-04-13",
                "16000.00",
                "470",
                "330001",
            ),
            stay("S1", "SNF", "B1", "2026-04-05", "2026-04-14", "1000.00"),
            stay("S2", "SNF", "B1", "2026-04-09", "2026-04-10", "0.05"),
            stay("S3", "SNF", "B1", "2026-04-08", "2026-04-12", "200.00").dx("C50.9"),
            stay("S4", "SNF", "B1", "2026-04-01", "2026-04-09", "300.00"),
        ],
        &lejr(3, ""),
        "",
    );
    assert_eq!(
        body(&out.ledger),
        [
            "LEJR:B1:A3,A3,1,IP,16000.00,16000.00,anchor,330001,2026-04-11",
            "LEJR:B1:A3,S1,1,SNF,1000.00,500.00,prorated,335001,2026-04-05",
            "LEJR:B1:A3,S2,1,SNF,0.05,0.02,prorated,335001,2026-04-09",
            "LEJR:B1:A3,S3,1,SNF,200.00,0.00,excluded:principal_dx,335001,2026-04-08",
            "LEJR:B1:K1,K1,1,OP,11000.00,11000.00,anchor,330001,2026-01-10",
            "LEJR:B1:K1,S1,1,SNF,1000.00,500.00,prorated,335001,2026-04-05",
            "LEJR:B1:K1,S2,1,SNF,0.05,0.03,prorated,335001,2026-04-09",
            "LEJR:B1:K1,S3,1,SNF,200.00,0.00,excluded:principal_dx,335001,2026-04-08",
            "LEJR:B1:K1,S4,1,SNF,300.00,300.00,included,335001,2026-04-01",
        ]
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:A3,LEJR,B1,330001,A3,NOMCC,2026-04-10,2026-07-11,2026,no_target_price,4,16500.02,16500.02,,,,,1,",
            "LEJR:B1:K1,LEJR,B1,330001,K1,OP,2026-01-07,2026-04-09,2026,no_target_price,5,11800.03,11800.03,,,,,1,",
        ]
    );
    let t = lejr_type(&out);
    assert_eq!(t["lines_in_several_episodes"], 3);
    assert_eq!(t["ledger_lines"], 9);
    assert_eq!(t["final_action_amount"], "28500.05");
    assert_eq!(t["inside_amount"], "28300.05");
    assert_eq!(t["outside_amount"], "200.00");
    assert_eq!(t["adds_up"], true);
}

/// Two independent types. CARD: IP DRG 280 (its own price group "280"),
/// post_days 30, claim types IP and PB, no discount, no limits.
/// - LEJR: A1 (two lines, 10000.00) anchor; C1 (IP 280, 03-20) included
///   8000; P1 (PB 04-01) 300; D1 (DME 04-02) 50; P9 (12-01) out. Inside
///   18350.00 of FA 18420.00, outside 70.00. Gain 29100 − 18350 = 10750 >
///   5820: stop_gain 5820.00.
/// - CARD: C1 anchor, 03-20 ..= 03-22 + 29 = 04-20; P1 in; A1 (admitted
///   03-02) out; D1 not a CARD type. Inside 8300.00, outside 10120.00.
///   Target 9000.00 (discount 0), gain 700.00, `none`.
#[test]
fn episode_types_are_independent_and_each_adds_up() {
    let card = r#"id = "CARD"
name = "Cardiac (test)"

[trigger]
drg = ["280"]

[window]
post_days = 30

[include]
claim_types = ["IP", "PB"]

[pricing]
period = "year"
"#;
    let rows = [
        anchor("A1", "B1", "9000.00", "330001"),
        Row::new("A1", 2, "B1", "IP", "2026-03-02", "2026-03-05", "1000.00")
            .provider("330001")
            .drg("470"),
        ip(
            "C1",
            "B1",
            "2026-03-20",
            "2026-03-22",
            "8000.00",
            "280",
            "330001",
        ),
        pb("P1", 1, "B1", "2026-04-01", "300.00"),
        Row::new("D1", 1, "B1", "DME", "2026-04-02", "2026-04-02", "50.00").provider("330001"),
        pb("P9", 1, "B1", "2026-12-01", "70.00"),
    ];
    let out = Case::new(
        &claims(&rows),
        &[("card.toml", card), ("lejr.toml", &lejr(0, ""))],
        &format!("{PRICE}CARD,330001,280,2026,9000.00\n"),
    )
    .run();
    assert_eq!(
        body(&out.episodes),
        [
            "CARD:B1:C1,CARD,B1,330001,C1,280,2026-03-20,2026-04-20,2026,priced,2,8300.00,8300.00,9000.00,700.00,,,1,9000.00",
            "LEJR:B1:A1,LEJR,B1,330001,A1,NOMCC,2026-03-02,2026-06-02,2026,priced,5,18350.00,18350.00,29100.00,10750.00,,,1,30000.00",
        ]
    );
    assert_eq!(
        body(&out.providers),
        [
            "330001,CARD,2026,1,9000.00,8300.00,8300.00,700.00,none,700.00",
            "330001,LEJR,2026,1,29100.00,18350.00,18350.00,10750.00,stop_gain,5820.00",
        ]
    );
    let s = out.summary_json();
    let card = &s["episode_types"]["CARD"];
    assert_eq!(card["final_action_amount"], "18420.00");
    assert_eq!(card["inside_amount"], "8300.00");
    assert_eq!(card["outside_amount"], "10120.00");
    assert_eq!(card["ledger_lines"], 2);
    let lejr = &s["episode_types"]["LEJR"];
    assert_eq!(lejr["final_action_amount"], "18420.00");
    assert_eq!(lejr["inside_amount"], "18350.00");
    assert_eq!(lejr["outside_amount"], "70.00");
    assert_eq!(lejr["ledger_lines"], 5);
    assert_eq!(s["money"]["reconciliation"], "6520.00");
    assert_eq!(s["check"], true);
}

// ---------------------------------------------------------------------------
// 3.1 Period.

/// period = "quarter", OP triggers (group OP), end = anchor + 89:
/// 04-03 -> 07-01: 2026Q3 (1000 -> 970.00); 04-02 -> 06-30: 2026Q2 (2000
/// -> 1940.00); 10-03 -> 12-31: 2026Q4; 10-04 -> 2027-01-01: 2027Q1 (no
/// price for those two; the year row `2026` is not a quarter).
/// Providers: Q2 gain 1840 > 0.2 × 1940 = 388.00; Q3 870 > 194.00.
#[test]
fn quarter_periods_are_named_from_the_end_date() {
    let definition = replace_once(&lejr(0, ""), "period = \"year\"", "period = \"quarter\"");
    let out = run(
        &[
            op("K1", 1, "B1", "2026-04-03", "100.00").hcpcs("27447"),
            op("K2", 1, "B2", "2026-04-02", "100.00").hcpcs("27447"),
            op("K3", 1, "B3", "2026-10-03", "100.00").hcpcs("27447"),
            op("K4", 1, "B4", "2026-10-04", "100.00").hcpcs("27447"),
        ],
        &definition,
        "LEJR,330001,OP,2026Q3,1000.00\nLEJR,330001,OP,2026Q2,2000.00\nLEJR,330001,OP,2026,5000.00\n",
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:K1,LEJR,B1,330001,K1,OP,2026-04-03,2026-07-01,2026Q3,priced,1,100.00,100.00,970.00,870.00,,,1,1000.00",
            "LEJR:B2:K2,LEJR,B2,330001,K2,OP,2026-04-02,2026-06-30,2026Q2,priced,1,100.00,100.00,1940.00,1840.00,,,1,2000.00",
            "LEJR:B3:K3,LEJR,B3,330001,K3,OP,2026-10-03,2026-12-31,2026Q4,no_target_price,1,100.00,100.00,,,,,1,",
            "LEJR:B4:K4,LEJR,B4,330001,K4,OP,2026-10-04,2027-01-01,2027Q1,no_target_price,1,100.00,100.00,,,,,1,",
        ]
    );
    assert_eq!(
        body(&out.providers),
        [
            "330001,LEJR,2026Q2,1,1940.00,100.00,100.00,1840.00,stop_gain,388.00",
            "330001,LEJR,2026Q3,1,970.00,100.00,100.00,870.00,stop_gain,194.00",
        ]
    );
}

/// period = "year" from the end date: A1 discharged 10-04 ends 10-04 + 89
/// = 2027-01-01 (2027, no price); A2 discharged 10-03 ends 2026-12-31
/// (2026, priced 29100.00).
#[test]
fn year_periods_are_named_from_the_end_date() {
    let out = run(
        &[
            ip(
                "A1",
                "B1",
                "2026-10-01",
                "2026-10-04",
                "10000.00",
                "470",
                "330001",
            ),
            ip(
                "A2",
                "B2",
                "2026-10-01",
                "2026-10-03",
                "10000.00",
                "470",
                "330001",
            ),
        ],
        &lejr(0, ""),
        PRICE,
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:A1,LEJR,B1,330001,A1,NOMCC,2026-10-01,2027-01-01,2027,no_target_price,1,10000.00,10000.00,,,,,1,",
            "LEJR:B2:A2,LEJR,B2,330001,A2,NOMCC,2026-10-01,2026-12-31,2026,priced,1,10000.00,10000.00,29100.00,19100.00,,,1,30000.00",
        ]
    );
}

// ---------------------------------------------------------------------------
// 3.2 Target.

/// Own row before `*`; discount rounded to cents.
/// - B1, 330001 NOMCC: own row 30000.00 × 0.97 = 29100.00.
/// - B2, 330002 NOMCC: no row: `*` 25000.00 × 0.97 = 24250.00.
/// - B3, 330003 MCC: its own row is NOMCC only: `*` MCC 33333.33 × 0.97 =
///   32333.3301 -> 32333.33.
///
/// Gains: 29100 − 10000 = 19100.00; 14250.00; 22333.33.
#[test]
fn the_fallback_price_and_the_discount_rounded_to_cents() {
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            anchor("A2", "B2", "10000.00", "330002"),
            ip(
                "A3",
                "B3",
                "2026-03-02",
                "2026-03-05",
                "10000.00",
                "469",
                "330003",
            ),
        ],
        &lejr(0, ""),
        "LEJR,330001,NOMCC,2026,30000.00\nLEJR,*,NOMCC,2026,25000.00\nLEJR,*,MCC,2026,33333.33\nLEJR,330003,NOMCC,2026,99999.00\n",
    );
    let money: Vec<(String, String)> = out
        .episode_rows()
        .iter()
        .map(|r| (r[13].clone(), r[14].clone()))
        .collect();
    assert_eq!(
        money,
        [
            ("29100.00".to_owned(), "19100.00".to_owned()),
            ("24250.00".to_owned(), "14250.00".to_owned()),
            ("32333.33".to_owned(), "22333.33".to_owned()),
        ]
    );
}

/// discount 0.5: 1000.05 × 0.5 = 500.025 -> 500.03 (half away from zero;
/// banker's would give 500.02); 0.01 × 0.5 = 0.005 -> 0.01.
/// Providers: 330001 gain 500.03 − 100.00 = 400.03; stop-gain limit 0.20 ×
/// 500.03 = 100.006 -> 100.01: stop_gain 100.01. 330002 gain 0.01 − 100.00
/// = −99.99; stop-loss limit −0.10 × 0.01 = −0.001 -> 0.00 (written
/// `0.00`, not `-0.00`): stop_loss 0.00.
#[test]
fn targets_and_limits_round_half_away_from_zero() {
    let definition = replace_once(&lejr(0, ""), "discount = \"0.03\"", "discount = \"0.5\"");
    let out = run(
        &[
            anchor("A1", "B1", "100.00", "330001"),
            anchor("A2", "B2", "100.00", "330002"),
        ],
        &definition,
        "LEJR,330001,NOMCC,2026,1000.05\nLEJR,330002,NOMCC,2026,0.01\n",
    );
    assert_eq!(
        body(&out.providers),
        [
            "330001,LEJR,2026,1,500.03,100.00,100.00,400.03,stop_gain,100.01",
            "330002,LEJR,2026,1,0.01,100.00,100.00,-99.99,stop_loss,0.00",
        ]
    );
}

/// `target_price` is the price row's value as read, with at least two
/// decimals and no trailing zeros beyond; the target is computed from it
/// exactly: 30000.5 -> `30000.50`, × 0.97 = 29100.485 -> 29100.49;
/// 100.1250 -> `100.125`, × 0.97 = 97.12125 -> 97.12; 12 -> `12.00`, 11.64.
#[test]
fn the_target_price_is_written_as_read_with_two_decimals_at_least() {
    let out = run(
        &[
            anchor("A1", "B1", "1000.00", "330001"),
            anchor("A2", "B2", "1000.00", "330002"),
            anchor("A3", "B3", "1000.00", "330003"),
        ],
        &lejr(0, ""),
        "LEJR,330001,NOMCC,2026,30000.5\nLEJR,330002,NOMCC,2026,100.1250\nLEJR,330003,NOMCC,2026,12\n",
    );
    let written: Vec<(String, String)> = out
        .episode_rows()
        .iter()
        .map(|r| (r[13].clone(), r[18].clone()))
        .collect();
    assert_eq!(
        written,
        [
            ("29100.49".to_owned(), "30000.50".to_owned()),
            ("97.12".to_owned(), "100.125".to_owned()),
            ("11.64".to_owned(), "12.00".to_owned()),
        ]
    );
}

// ---------------------------------------------------------------------------
// 3.3 High-cost cap.

/// p = 50. NOMCC 2026: actuals 10000 (B1, 330001), 20000 (B2, 330099, no
/// price), 40000 (B3, 330001): n = 3, rank ceil(1.5) = 2, cap 20000.00
/// (over the priced episodes alone it would be rank 1 = 10000). B3 capped
/// 20000, gain 29100 − 20000 = 9100.00.
/// MCC 2026: B4 90000 alone (rank 1): not capped; `*` 100000 -> 97000.00,
/// gain 7000.00. NOMCC 2027: B5 100000 alone: not capped, no price.
/// 330001: targets 58200, actual 50000, capped 30000, gain 19100 + 9100 =
/// 28200 > 0.2 × 58200 = 11640: stop_gain 11640.00.
/// Money: actual 260000.00, capped 10000 + 20000 + 20000 + 90000 + 100000
/// = 240000.00, target 155200.00, gain 35200.00, reconciliation 18640.00.
#[test]
fn the_high_cost_cap_ranks_priced_and_unpriced_episodes() {
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            anchor("A2", "B2", "20000.00", "330099"),
            anchor("A3", "B3", "40000.00", "330001"),
            ip(
                "A4",
                "B4",
                "2026-03-02",
                "2026-03-05",
                "90000.00",
                "469",
                "330002",
            ),
            ip(
                "A5",
                "B5",
                "2026-11-20",
                "2026-11-25",
                "100000.00",
                "470",
                "330099",
            ),
        ],
        &lejr(0, "high_cost_percentile = \"50\""),
        "LEJR,330001,NOMCC,2026,30000.00\nLEJR,*,MCC,2026,100000.00\n",
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:A1,LEJR,B1,330001,A1,NOMCC,2026-03-02,2026-06-02,2026,priced,1,10000.00,10000.00,29100.00,19100.00,,,1,30000.00",
            "LEJR:B2:A2,LEJR,B2,330099,A2,NOMCC,2026-03-02,2026-06-02,2026,no_target_price,1,20000.00,20000.00,,,,,1,",
            "LEJR:B3:A3,LEJR,B3,330001,A3,NOMCC,2026-03-02,2026-06-02,2026,priced,1,40000.00,20000.00,29100.00,9100.00,,,1,30000.00",
            "LEJR:B4:A4,LEJR,B4,330002,A4,MCC,2026-03-02,2026-06-02,2026,priced,1,90000.00,90000.00,97000.00,7000.00,,,1,100000.00",
            "LEJR:B5:A5,LEJR,B5,330099,A5,NOMCC,2026-11-20,2027-02-22,2027,no_target_price,1,100000.00,100000.00,,,,,1,",
        ]
    );
    assert_eq!(
        body(&out.providers),
        [
            "330001,LEJR,2026,2,58200.00,50000.00,30000.00,28200.00,stop_gain,11640.00",
            "330002,LEJR,2026,1,97000.00,90000.00,90000.00,7000.00,none,7000.00",
        ]
    );
    let s = out.summary_json();
    assert_eq!(
        s["money"],
        serde_json::json!({"actual": "260000.00", "capped": "240000.00", "target": "155200.00", "gain_loss": "35200.00", "reconciliation": "18640.00"})
    );
    assert_eq!(
        s["episodes"],
        serde_json::json!({"total": 5, "priced": 3, "no_target_price": 2, "no_risk_factor": 0, "canceled": 0})
    );
}

/// p = 99 with 2 episodes: rank ceil(1.98) = 2, the largest: nothing is
/// capped. 330001: targets 58200, actual = capped = 50000, gain 8200 <
/// 11640: none.
#[test]
fn a_high_percentile_with_few_episodes_caps_nothing() {
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            anchor("A2", "B2", "40000.00", "330001"),
        ],
        &lejr(0, "high_cost_percentile = \"99\""),
        PRICE,
    );
    let capped: Vec<&str> = out
        .episodes
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(12).unwrap())
        .collect();
    assert_eq!(capped, ["10000.00", "40000.00"]);
    assert_eq!(
        body(&out.providers),
        ["330001,LEJR,2026,2,58200.00,50000.00,50000.00,8200.00,none,8200.00"]
    );
}

/// Three NOMCC episodes, actuals 10000, 20000, 40000, at several
/// percentiles; the cap is the actual at rank ceil(p/100 × 3):
/// - p = 0.1: ceil(0.003) = 1: cap 10000, every episode capped to it.
/// - p = 40: ceil(1.2) = 2 (not round(1.2) = 1): cap 20000.
/// - p = 100: rank 3: nothing capped.
#[test]
fn the_cap_rank_is_the_ceiling_of_p_percent_of_n() {
    let capped_at = |percentile: &str| -> Vec<String> {
        let out = run(
            &[
                anchor("A1", "B1", "10000.00", "330001"),
                anchor("A2", "B2", "20000.00", "330001"),
                anchor("A3", "B3", "40000.00", "330001"),
            ],
            &lejr(0, &format!("high_cost_percentile = \"{percentile}\"")),
            PRICE,
        );
        out.episode_rows().iter().map(|r| r[12].clone()).collect()
    };
    assert_eq!(capped_at("0.1"), ["10000.00", "10000.00", "10000.00"]);
    assert_eq!(capped_at("40"), ["10000.00", "20000.00", "20000.00"]);
    assert_eq!(capped_at("100"), ["10000.00", "20000.00", "40000.00"]);
}

// ---------------------------------------------------------------------------
// 3.4 / 3.5 Gain or loss and provider reconciliation.

/// `*` NOMCC 30000 -> target 29100.00 each; stop-gain 0.20 × 29100 =
/// 5820.00, stop-loss −0.10 × 29100 = −2910.00.
/// - 330001: 29100 − 20000 = 9100 > 5820: stop_gain 5820.00.
/// - 330002: 29100 − 35000 = −5900 < −2910: stop_loss −2910.00.
/// - 330003: 29100 − 23280 = 5820, exactly the limit: none (decided rule 3).
/// - 330004: 29100 − 32010 = −2910, exactly the limit: none.
/// - 330005: two episodes, 9100 − 5900 = 3200; limits 11640 / −5820: none.
/// - 330006: 29100 − 23279.99 = 5820.01, a cent beyond: stop_gain 5820.00.
///
/// Reconciliation total 5820 − 2910 + 5820 − 2910 + 3200 + 5820 = 14840.00.
#[test]
fn stop_gain_and_stop_loss_apply_strictly_beyond_the_limit() {
    let out = run(
        &[
            anchor("A1", "B1", "20000.00", "330001"),
            anchor("A2", "B2", "35000.00", "330002"),
            anchor("A3", "B3", "23280.00", "330003"),
            anchor("A4", "B4", "32010.00", "330004"),
            anchor("A5", "B5", "20000.00", "330005"),
            anchor("A6", "B6", "35000.00", "330005"),
            anchor("A7", "B7", "23279.99", "330006"),
        ],
        &lejr(0, ""),
        "LEJR,*,NOMCC,2026,30000.00\n",
    );
    assert_eq!(
        body(&out.providers),
        [
            "330001,LEJR,2026,1,29100.00,20000.00,20000.00,9100.00,stop_gain,5820.00",
            "330002,LEJR,2026,1,29100.00,35000.00,35000.00,-5900.00,stop_loss,-2910.00",
            "330003,LEJR,2026,1,29100.00,23280.00,23280.00,5820.00,none,5820.00",
            "330004,LEJR,2026,1,29100.00,32010.00,32010.00,-2910.00,none,-2910.00",
            "330005,LEJR,2026,2,58200.00,55000.00,55000.00,3200.00,none,3200.00",
            "330006,LEJR,2026,1,29100.00,23279.99,23279.99,5820.01,stop_gain,5820.00",
        ]
    );
    let s = out.summary_json();
    assert_eq!(s["money"]["reconciliation"], "14840.00");
    assert_eq!(s["providers"], 6);
}

/// discount 0, stop-gain and stop-loss 0.1, target 100.05: limits 10.005
/// -> ±10.01 (rounded before comparing).
/// - 330001: 100.05 − 50.00 = 50.05: stop_gain 10.01.
/// - 330002: 100.05 − 110.06 = −10.01 = the rounded limit: none.
/// - 330003: 100.05 − 110.07 = −10.02: stop_loss −10.01.
/// - 330004: 100.05 − 90.04 = 10.01: none.
#[test]
fn limits_are_rounded_to_cents_before_comparing() {
    let definition = replace_once(
        &replace_once(
            &replace_once(&lejr(0, ""), "discount = \"0.03\"", "discount = \"0\""),
            "stop_gain = \"0.20\"",
            "stop_gain = \"0.1\"",
        ),
        "stop_loss = \"0.10\"",
        "stop_loss = \"0.1\"",
    );
    let out = run(
        &[
            anchor("A1", "B1", "50.00", "330001"),
            anchor("A2", "B2", "110.06", "330002"),
            anchor("A3", "B3", "110.07", "330003"),
            anchor("A4", "B4", "90.04", "330004"),
        ],
        &definition,
        "LEJR,*,NOMCC,2026,100.05\n",
    );
    assert_eq!(
        body(&out.providers),
        [
            "330001,LEJR,2026,1,100.05,50.00,50.00,50.05,stop_gain,10.01",
            "330002,LEJR,2026,1,100.05,110.06,110.06,-10.01,none,-10.01",
            "330003,LEJR,2026,1,100.05,110.07,110.07,-10.02,stop_loss,-10.01",
            "330004,LEJR,2026,1,100.05,90.04,90.04,10.01,none,10.01",
        ]
    );
}

/// No stop_gain key: a gain is not limited (19100.00, none); the loss side
/// still is: 29100 − 50000 = −20900 < −2910: stop_loss.
#[test]
fn an_absent_limit_does_not_apply() {
    let definition = replace_once(&lejr(0, ""), "stop_gain = \"0.20\"\n", "");
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            anchor("A2", "B2", "50000.00", "330002"),
        ],
        &definition,
        "LEJR,*,NOMCC,2026,30000.00\n",
    );
    assert_eq!(
        body(&out.providers),
        [
            "330001,LEJR,2026,1,29100.00,10000.00,10000.00,19100.00,none,19100.00",
            "330002,LEJR,2026,1,29100.00,50000.00,50000.00,-20900.00,stop_loss,-2910.00",
        ]
    );
}

/// `no_target_price`: B2's MCC episode (21000.00) has no MCC price; B3's
/// provider 330077 has no row and there is no `*`. Neither has a target or
/// gain; 330077 has no provider row; 330001's row counts only B1.
/// Money: actual = capped = 10000 + 21000 + 5000 = 36000.00; target
/// 29100.00; gain 19100.00; reconciliation 5820.00 (stop_gain).
#[test]
fn no_target_price_episodes_are_reported_but_not_priced() {
    let out = run(
        &[
            anchor("A1", "B1", "10000.00", "330001"),
            ip(
                "A2",
                "B2",
                "2026-03-02",
                "2026-03-05",
                "21000.00",
                "469",
                "330001",
            ),
            anchor("A3", "B3", "5000.00", "330077"),
        ],
        &lejr(0, ""),
        PRICE,
    );
    assert_eq!(
        body(&out.episodes),
        [
            "LEJR:B1:A1,LEJR,B1,330001,A1,NOMCC,2026-03-02,2026-06-02,2026,priced,1,10000.00,10000.00,29100.00,19100.00,,,1,30000.00",
            "LEJR:B2:A2,LEJR,B2,330001,A2,MCC,2026-03-02,2026-06-02,2026,no_target_price,1,21000.00,21000.00,,,,,1,",
            "LEJR:B3:A3,LEJR,B3,330077,A3,NOMCC,2026-03-02,2026-06-02,2026,no_target_price,1,5000.00,5000.00,,,,,1,",
        ]
    );
    assert_eq!(
        body(&out.providers),
        ["330001,LEJR,2026,1,29100.00,10000.00,10000.00,19100.00,stop_gain,5820.00"]
    );
    let s = out.summary_json();
    assert_eq!(
        s["money"],
        serde_json::json!({"actual": "36000.00", "capped": "36000.00", "target": "29100.00", "gain_loss": "19100.00", "reconciliation": "5820.00"})
    );
    assert_eq!(
        s["episodes"],
        serde_json::json!({"total": 3, "priced": 1, "no_target_price": 2, "no_risk_factor": 0, "canceled": 0})
    );
    let t = lejr_type(&out);
    assert_eq!(t["priced"], 1);
    assert_eq!(t["no_target_price"], 2);
    assert_eq!(s["providers"], 1);
}

/// Ids holding `:` can give two episodes one episode id (RULES 19b); they
/// are then written in beneficiary order, whatever the thread count, and
/// their ledger lines merged in the ledger's key order.
#[test]
fn episodes_sharing_an_id_keep_one_order_whatever_the_threads() {
    let rows = [
        anchor("X", "B:1", "100.00", "330001"),
        anchor("1:X", "B", "200.00", "330002"),
        pb("A1", 1, "B:1", "2026-03-10", "10.00"),
        pb("Z1", 1, "B", "2026-03-10", "20.00"),
    ];
    let case = case(&rows, &lejr(0, ""), PRICE);
    let expected = [
        "LEJR:B:1:X,LEJR,B,330002,1:X,NOMCC,2026-03-02,2026-06-02,2026,no_target_price,2,220.00,220.00,,,,,1,",
        "LEJR:B:1:X,LEJR,B:1,330001,X,NOMCC,2026-03-02,2026-06-02,2026,priced,2,110.00,110.00,29100.00,28990.00,,,1,30000.00",
    ];
    // The ledger stays sorted by its key, the two episodes' lines merged.
    let ledger = [
        "LEJR:B:1:X,1:X,1,IP,200.00,200.00,anchor,330002,2026-03-02",
        "LEJR:B:1:X,A1,1,PB,10.00,10.00,included,912345678,2026-03-10",
        "LEJR:B:1:X,X,1,IP,100.00,100.00,anchor,330001,2026-03-02",
        "LEJR:B:1:X,Z1,1,PB,20.00,20.00,included,912345678,2026-03-10",
    ];
    for threads in 1..=8 {
        let out = case.run_files(&["claims.csv"], None, threads);
        assert_eq!(body(&out.episodes), expected, "{threads} threads");
        assert_eq!(body(&out.ledger), ledger, "{threads} threads");
    }
}
