//! Property tests on random claim sets (contract section 4, "Nothing is
//! lost", and the determinism promise of the contract's preamble).
//!
//! A strategy builds small, realistic claim sets for beneficiaries B1..B6:
//! LEJR anchors (IP DRG 469/470, OP HCPCS 27447), excluded lines (DRG 871,
//! HCPCS J9035, principal diagnosis C50*), professional and DME lines with a
//! `line_date`, post-acute stays that straddle windows, replacements and
//! voids, a few bad rows, odd cents and missing providers. Each generated
//! row carries what the test knows about it, so the accounting can be
//! checked against an oracle written here, with integer cents only.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use super::support::{CLAIMS_HEADER, Case, Outputs, lejr};
use episode_recon::engine::reconcile::Reconciliation;

// ---------------------------------------------------------------------------
// Dates: days counted from 2026-01-01.

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// `YYYY-MM-DD` of day `day` (0 = 2026-01-01).
fn date(day: i32) -> String {
    let (mut year, mut day) = (2026, day);
    loop {
        let length = if is_leap(year) { 366 } else { 365 };
        if day < length {
            break;
        }
        day -= length;
        year += 1;
    }
    let months = [
        31,
        if is_leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while day >= months[month] {
        day -= months[month];
        month += 1;
    }
    format!("{year:04}-{:02}-{:02}", month + 1, day + 1)
}

/// The year of day `day`, as `pricing.period = "year"` names it.
fn year_of(day: i32) -> String {
    date(day)[..4].to_owned()
}

/// Days from 2026-01-01 of a `YYYY-MM-DD` date written by the engine.
fn day_of(text: &str) -> i32 {
    let (year, month, day): (i32, usize, i32) = (
        text[..4].parse().unwrap(),
        text[5..7].parse().unwrap(),
        text[8..10].parse().unwrap(),
    );
    let mut days = 0;
    for y in 2026..year {
        days += if is_leap(y) { 366 } else { 365 };
    }
    for y in year..2026 {
        days -= if is_leap(y) { 366 } else { 365 };
    }
    let months = [
        31,
        if is_leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    days + months[..month - 1].iter().sum::<i32>() + day - 1
}

// ---------------------------------------------------------------------------
// Money as integer cents.

/// Cents of a money text with exactly two decimals (`-12.50`, `0.00`).
fn cents(text: &str) -> i64 {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits
        .split_once('.')
        .unwrap_or_else(|| panic!("money without decimals: {text:?}"));
    assert_eq!(
        fraction.len(),
        2,
        "money must have exactly two decimals: {text:?}"
    );
    assert!(
        !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && fraction.bytes().all(|b| b.is_ascii_digit()),
        "malformed money: {text:?}"
    );
    let value = whole.parse::<i64>().unwrap() * 100 + fraction.parse::<i64>().unwrap();
    if negative { -value } else { value }
}

/// A money string of the summary, in cents.
fn json_cents(value: &serde_json::Value) -> i64 {
    cents(
        value
            .as_str()
            .unwrap_or_else(|| panic!("money must be a string: {value}")),
    )
}

/// `cents × numerator / denominator` rounded half away from zero.
fn scale_round(cents: i64, numerator: i64, denominator: i64) -> i64 {
    let product = i128::from(cents) * i128::from(numerator);
    let denominator = i128::from(denominator);
    let half = denominator / 2;
    let rounded = if product >= 0 {
        (product + half) / denominator
    } else {
        -((-product + half) / denominator)
    };
    i64::try_from(rounded).unwrap()
}

/// An amount as it may appear in a claims file: `12.34`, `12.340`, `+12.34`, `12`.
fn amount_text(cents: i64, style: u8) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let (whole, fraction) = (cents.abs() / 100, cents.abs() % 100);
    match style % 4 {
        1 => format!("{sign}{whole}.{fraction:02}0"),
        2 if cents >= 0 => format!("+{whole}.{fraction:02}"),
        3 if fraction == 0 => format!("{sign}{whole}"),
        _ => format!("{sign}{whole}.{fraction:02}"),
    }
}

// ---------------------------------------------------------------------------
// Generated claims.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ip,
    Op,
    Pb,
    Dme,
    Snf,
    Hha,
    Hos,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::Ip => "IP",
            Kind::Op => "OP",
            Kind::Pb => "PB",
            Kind::Dme => "DME",
            Kind::Snf => "SNF",
            Kind::Hha => "HHA",
            Kind::Hos => "HOS",
        }
    }

    /// Days of service for a length draw.
    fn days(self, draw: u16) -> i32 {
        let draw = i32::from(draw);
        match self {
            Kind::Ip => 1 + draw % 10,
            Kind::Op => 1 + draw % 2,
            Kind::Pb | Kind::Dme => 1 + draw % 5,
            Kind::Snf | Kind::Hha | Kind::Hos => 1 + draw % 40,
        }
    }
}

#[derive(Clone, Debug)]
struct LineGen {
    cents: i64,
    /// Picks the `line_date` inside the service period.
    offset: u16,
    /// Picks the HCPCS code.
    code: u8,
    /// How the amount and line number are written.
    style: u8,
}

#[derive(Clone, Debug)]
struct ExtraVersion {
    void: bool,
    /// Days after the original's processed date (0: a tie).
    delay: u16,
    /// Added to the original's line amounts (a replacement).
    deltas: Vec<i64>,
    /// A replacement drops the original's last line.
    drop_last: bool,
}

#[derive(Clone, Copy, Debug)]
enum Bad {
    Amount,
    FromDate,
    LineDate,
    LineNumber,
    Duplicate,
}

#[derive(Clone, Debug)]
struct ClaimGen {
    bene: u8,
    kind: Kind,
    from: u16,
    length: u16,
    provider: Option<u8>,
    drg: u8,
    cancer_dx: bool,
    lines: Vec<LineGen>,
    /// Days from `thru_date` to the original's processed date; `None`: the
    /// column is left empty (default `thru_date`).
    o_delay: Option<u16>,
    o_blank_type: bool,
    extra: Vec<ExtraVersion>,
    /// A bad row: what, in which version, which line.
    bad: Option<(Bad, usize, usize)>,
    /// Starts near the end of the 90-day window of the beneficiary's last
    /// unchained IP claim that looks like an anchor: an IP claim 90 to 93 days after its discharge
    /// (a consecutive episode), others 70 to 89 days after it, so that
    /// stays straddle consecutive episodes.
    chain: Option<u8>,
}

#[derive(Clone, Debug)]
struct Input {
    claims: Vec<ClaimGen>,
    lookback: u32,
    /// `high_cost_percentile`: none (0), 80 (1) or 50 (2).
    cap: u8,
    /// A price group with no price at all (0..3), or none (3).
    unpriced: u8,
    /// `*` prices per group (MCC, NOMCC, OP) and period (2026, 2027).
    prices: [[i64; 2]; 3],
    /// P1's own MCC price and P2's own OP price for 2026.
    own_prices: (Option<i64>, Option<i64>),
}

fn line_strategy() -> impl Strategy<Value = LineGen> {
    let cents = prop_oneof![8 => 1i64..600_000, 1 => -25_000i64..0, 1 => Just(0i64)];
    (cents, 0u16..40, 0u8..10, 0u8..8).prop_map(|(cents, offset, code, style)| LineGen {
        cents,
        offset,
        code,
        style,
    })
}

fn extra_strategy() -> impl Strategy<Value = ExtraVersion> {
    (
        prop::bool::weighted(0.35),
        prop_oneof![Just(0u16), 0u16..40],
        prop::collection::vec(-30_000i64..30_000, 1..3),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(void, delay, deltas, drop_last)| ExtraVersion {
            void,
            delay,
            deltas,
            drop_last,
        })
}

fn bad_strategy() -> impl Strategy<Value = Option<(Bad, usize, usize)>> {
    let bad = prop_oneof![
        Just(Bad::Amount),
        Just(Bad::FromDate),
        Just(Bad::LineDate),
        Just(Bad::LineNumber),
        Just(Bad::Duplicate)
    ];
    prop_oneof![9 => Just(None), 1 => (bad, 0usize..3, 0usize..3).prop_map(Some)]
}

fn kind_strategy() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => Just(Kind::Ip),
        3 => Just(Kind::Op),
        3 => Just(Kind::Pb),
        1 => Just(Kind::Dme),
        2 => Just(Kind::Snf),
        1 => Just(Kind::Hha),
        1 => Just(Kind::Hos),
    ]
}

fn claim_strategy() -> impl Strategy<Value = ClaimGen> {
    let bene = prop_oneof![3 => 1u8..=2, 2 => 3u8..=6];
    let head = (
        bene,
        kind_strategy(),
        0u16..331,
        0u16..40,
        prop_oneof![6 => (1u8..=3).prop_map(Some), 1 => Just(None)],
        0u8..10,
        prop::bool::weighted(0.1),
    );
    let versions = (
        prop::collection::vec(line_strategy(), 1..=3),
        prop_oneof![Just(None), (0u16..30).prop_map(Some)],
        prop::bool::weighted(0.3),
        prop_oneof![3 => Just(vec![]), 2 => prop::collection::vec(extra_strategy(), 1..=2)],
        bad_strategy(),
        prop::option::weighted(0.4, 0u8..20),
    );
    (head, versions).prop_map(
        |(
            (bene, kind, from, length, provider, drg, cancer_dx),
            (lines, o_delay, o_blank_type, extra, bad, chain),
        )| ClaimGen {
            bene,
            kind,
            from,
            length,
            provider,
            drg,
            cancer_dx,
            lines,
            o_delay,
            o_blank_type,
            extra,
            bad,
            chain,
        },
    )
}

fn input_strategy() -> impl Strategy<Value = Input> {
    let price = || 300_000i64..2_500_000;
    (
        prop::collection::vec(claim_strategy(), 1..=28),
        0u32..5,
        prop_oneof![3 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8)],
        prop_oneof![3 => Just(3u8), 1 => 0u8..3],
        [[price(), price()], [price(), price()], [price(), price()]],
        (
            prop::option::weighted(0.5, price()),
            prop::option::weighted(0.3, price()),
        ),
    )
        .prop_map(
            |(claims, lookback, cap, unpriced, prices, own_prices)| Input {
                claims,
                lookback,
                cap,
                unpriced,
                prices,
                own_prices,
            },
        )
}

// ---------------------------------------------------------------------------
// Rendering rows, with what the test knows about each.

/// A version's identity within its claim: record type rank (O 0, R 1, V 2)
/// and processed day.
type VersionId = (u8, i32);

#[derive(Clone, Debug)]
struct Row {
    text: String,
    claim: usize,
    version: VersionId,
    /// `None`: the amount does not parse.
    amount: Option<i64>,
    /// Fails a row check.
    bad: Option<&'static str>,
    /// One of two rows with the same line number in a version.
    duplicate: bool,
    /// The claim's service period, days from 2026-01-01.
    service: (i32, i32),
    /// The claim's `provider_id` as written (empty when absent).
    provider: String,
    /// The line's number (1-based) and the ledger's `service_date` of the
    /// line: the admission (= from) for IP, from for SNF/HHA/HOS, the
    /// `line_date` for OP/PB/DME.
    line: usize,
    service_day: i32,
}

/// Rows to write, in generation order; claims are added while the total
/// stays within 80 rows.
fn render(claims: &[ClaimGen]) -> Vec<Row> {
    let mut rows = Vec::new();
    // The thru day of each beneficiary's latest IP claim so far.
    let mut last_ip: HashMap<u8, i32> = HashMap::new();
    for (index, claim) in claims.iter().enumerate() {
        let from = match (claim.chain, last_ip.get(&claim.bene)) {
            (Some(chain), Some(&thru)) if claim.kind == Kind::Ip => {
                (thru + 90 + i32::from(chain % 4)).min(364)
            }
            (Some(chain), Some(&thru)) => (thru + 70 + i32::from(chain)).min(364),
            _ => i32::from(claim.from),
        };
        let anchor_like = claim.kind == Kind::Ip && claim.drg < 6 && claim.provider.is_some();
        if anchor_like && claim.chain.is_none() {
            last_ip.insert(
                claim.bene,
                (from + claim.kind.days(claim.length) - 1).min(364),
            );
        }
        let rendered = render_claim(index, claim, from);
        if rows.len() + rendered.len() > 80 {
            break;
        }
        rows.extend(rendered);
    }
    rows
}

/// A version to write: rank, processed day, `record_type` and
/// `processed_date` as written, and `(line index, cents)` of its lines.
type VersionRows = (u8, i32, &'static str, String, Vec<(usize, i64)>);

fn render_claim(index: usize, claim: &ClaimGen, from: i32) -> Vec<Row> {
    let kind = claim.kind;
    let thru = (from + kind.days(claim.length) - 1).min(364);
    let days = thru - from + 1;
    let claim_id = format!("C{index}");
    let bene = format!("B{}", claim.bene);
    let provider = claim.provider.map(|p| format!("P{p}")).unwrap_or_default();
    let drg = if kind == Kind::Ip {
        [
            "469", "469", "469", "470", "470", "470", "871", "871", "291", "292",
        ][usize::from(claim.drg)]
    } else {
        ""
    };
    let dx = if claim.cancer_dx {
        "C50.911"
    } else if kind == Kind::Ip {
        "M17.11"
    } else {
        ""
    };
    let (admission, discharge) = if kind == Kind::Ip {
        (date(from), date(thru))
    } else {
        (String::new(), String::new())
    };

    // The versions: (rank, processed day, record_type text, processed text, lines).
    let o_processed = thru + i32::from(claim.o_delay.unwrap_or(0));
    let mut versions: Vec<VersionRows> = vec![(
        0,
        o_processed,
        if claim.o_blank_type { "" } else { "O" },
        claim.o_delay.map(|_| date(o_processed)).unwrap_or_default(),
        claim
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.cents))
            .collect(),
    )];
    for extra in &claim.extra {
        let processed = o_processed + i32::from(extra.delay);
        let rank = if extra.void { 2 } else { 1 };
        if versions.iter().any(|v| (v.0, v.1) == (rank, processed)) {
            continue;
        }
        let mut lines: Vec<(usize, i64)> = if extra.void {
            versions[0].4.clone()
        } else {
            claim
                .lines
                .iter()
                .enumerate()
                .map(|(i, l)| (i, l.cents + extra.deltas[i % extra.deltas.len()]))
                .collect()
        };
        if !extra.void && extra.drop_last && lines.len() > 1 {
            lines.pop();
        }
        versions.push((
            rank,
            processed,
            if extra.void { "V" } else { "R" },
            date(processed),
            lines,
        ));
    }

    let mut rows = Vec::new();
    for (v, (rank, processed, record_type, processed_text, lines)) in versions.iter().enumerate() {
        for &(i, amount) in lines {
            let line = &claim.lines[i];
            let (line_date, service_day) = match kind {
                Kind::Op | Kind::Pb | Kind::Dme => {
                    let day = from + i32::from(line.offset) % days;
                    (date(day), day)
                }
                _ => (String::new(), from),
            };
            let hcpcs = match (kind, line.code) {
                (Kind::Op, 0..=3) => "27447",
                (Kind::Op | Kind::Pb | Kind::Dme, 4 | 5) => "J9035",
                (Kind::Op | Kind::Pb, 6 | 7) => "99213",
                (Kind::Dme, 6 | 7) => "E0114",
                (Kind::Pb, 0) => "27447",
                _ => "",
            };
            let mut fields: Vec<String> = vec![
                claim_id.clone(),
                if line.style >= 6 {
                    format!("0{}", i + 1)
                } else {
                    (i + 1).to_string()
                },
                bene.clone(),
                kind.code().to_owned(),
                date(from),
                date(thru),
                amount_text(amount, line.style),
                (*record_type).to_owned(),
                processed_text.clone(),
                admission.clone(),
                discharge.clone(),
                line_date,
                provider.clone(),
                String::new(),
                drg.to_owned(),
                dx.to_owned(),
                hcpcs.to_owned(),
                String::new(),
            ];
            let mut row = Row {
                text: String::new(),
                claim: index,
                version: (*rank, *processed),
                amount: Some(amount),
                bad: None,
                duplicate: false,
                service: (from, thru),
                provider: provider.clone(),
                line: i + 1,
                service_day,
            };
            let mut duplicate = None;
            if let Some((bad, bad_version, bad_line)) = claim.bad
                && bad_version % versions.len() == v
                && bad_line % lines.len() == lines.iter().position(|l| l.0 == i).unwrap()
            {
                match bad {
                    Bad::Amount => {
                        fields[6] =
                            ["12.345", "1e3", "abc", "12."][usize::from(line.style % 4)].to_owned();
                        row.amount = None;
                        row.bad = Some("bad_amount");
                    }
                    Bad::FromDate => {
                        fields[4] = "2026-02-30".to_owned();
                        row.bad = Some("bad_date");
                    }
                    Bad::LineDate => {
                        fields[11] = "2026-13-01".to_owned();
                        row.bad = Some("bad_date");
                    }
                    Bad::LineNumber => {
                        fields[1] = if line.style.is_multiple_of(2) {
                            "0"
                        } else {
                            "x1"
                        }
                        .to_owned();
                        row.bad = Some("bad_line_number");
                    }
                    Bad::Duplicate => {
                        row.duplicate = true;
                        let mut copy = fields.clone();
                        copy[6] = amount_text(amount / 2 + 1, 0);
                        duplicate = Some(Row {
                            text: copy.join(","),
                            amount: Some(amount / 2 + 1),
                            ..row.clone()
                        });
                    }
                }
            }
            row.text = fields.join(",");
            rows.push(row);
            rows.extend(duplicate);
        }
    }
    rows
}

fn price_rows(input: &Input) -> String {
    let groups = ["MCC", "NOMCC", "OP"];
    let mut out = String::new();
    for (g, group) in groups.iter().enumerate() {
        if usize::from(input.unpriced) == g {
            continue;
        }
        for (p, period) in ["2026", "2027"].iter().enumerate() {
            out.push_str(&format!(
                "LEJR,*,{group},{period},{}\n",
                amount_text(input.prices[g][p], 0)
            ));
        }
    }
    if let Some(price) = input.own_prices.0 {
        out.push_str(&format!("LEJR,P1,MCC,2026,{}\n", amount_text(price, 0)));
    }
    if let Some(price) = input.own_prices.1 {
        out.push_str(&format!("LEJR,P2,OP,2026,{}\n", amount_text(price, 0)));
    }
    // A type no definition declares: checked, then ignored.
    out.push_str("CABG,*,MCC,2026,1000.00\n");
    out
}

/// The price the contract's lookup finds, in cents.
fn price_of(input: &Input, provider: &str, group: &str, period: &str) -> Option<i64> {
    let g = ["MCC", "NOMCC", "OP"].iter().position(|x| *x == group)?;
    match (provider, group, period) {
        ("P1", "MCC", "2026") if input.own_prices.0.is_some() => return input.own_prices.0,
        ("P2", "OP", "2026") if input.own_prices.1.is_some() => return input.own_prices.1,
        _ => {}
    }
    if usize::from(input.unpriced) == g {
        return None;
    }
    let p = ["2026", "2027"].iter().position(|x| *x == period)?;
    Some(input.prices[g][p])
}

fn join(rows: &[&Row]) -> String {
    rows.iter().map(|r| format!("{}\n", r.text)).collect()
}

fn new_case(input: &Input, rows: &[Row]) -> Case {
    let pricing = match input.cap {
        1 => "high_cost_percentile = \"80\"",
        2 => "high_cost_percentile = 50",
        _ => "",
    };
    let definition = lejr(input.lookback, pricing);
    let all: Vec<&Row> = rows.iter().collect();
    Case::new(
        &join(&all),
        &[("lejr.toml", &definition)],
        &price_rows(input),
    )
}

fn run(
    case: &Case,
    files: &[&str],
    as_of: Option<&str>,
    threads: usize,
) -> (Reconciliation, Outputs) {
    let recon = case
        .reconcile(files, as_of, false, threads)
        .expect("the run succeeds");
    let outputs = Outputs::of(&recon, case.dir.path());
    (recon, outputs)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(64)
    }
}

// ---------------------------------------------------------------------------
// The oracle of section 1.2 and 5: where each row must land.

#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    /// `(rows, cents)` per bucket: read, rejected, after_cutoff, void,
    /// superseded, final_action.
    buckets: BTreeMap<&'static str, (u64, i64)>,
    rejected_by_reason: BTreeMap<&'static str, u64>,
}

fn expected(rows: &[Row], as_of: Option<i32>) -> Expected {
    let mut out = Expected::default();
    let add = |out: &mut Expected, bucket: &'static str, row: &Row| {
        let entry = out.buckets.entry(bucket).or_default();
        entry.0 += 1;
        entry.1 += row.amount.unwrap_or(0);
    };
    let received = |row: &Row| as_of.is_none_or(|cutoff| row.version.1 <= cutoff);
    // Versions with a rejected row, per claim.
    let mut tainted: HashMap<(usize, VersionId), bool> = HashMap::new();
    for row in rows.iter().filter(|r| received(r)) {
        *tainted.entry((row.claim, row.version)).or_default() |= row.bad.is_some() || row.duplicate;
    }
    // Final-action version per claim: latest processed date, then V > R > O.
    let mut final_version: HashMap<usize, VersionId> = HashMap::new();
    for (&(claim, version), &bad) in &tainted {
        if bad {
            continue;
        }
        let best = final_version.entry(claim).or_insert(version);
        if (version.1, version.0) > (best.1, best.0) {
            *best = version;
        }
    }
    for row in rows {
        add(&mut out, "read", row);
        if !received(row) {
            add(&mut out, "after_cutoff", row);
        } else if tainted[&(row.claim, row.version)] {
            add(&mut out, "rejected", row);
            let reason = match (row.bad, row.duplicate) {
                (Some(reason), _) => reason,
                (None, true) => "duplicate_line",
                (None, false) => "claim_has_rejected_row",
            };
            *out.rejected_by_reason.entry(reason).or_default() += 1;
        } else if final_version[&row.claim] != row.version {
            add(&mut out, "superseded", row);
        } else if row.version.0 == 2 {
            add(&mut out, "void", row);
        } else {
            add(&mut out, "final_action", row);
        }
    }
    for bucket in [
        "read",
        "rejected",
        "after_cutoff",
        "void",
        "superseded",
        "final_action",
    ] {
        out.buckets.entry(bucket).or_default();
    }
    out
}

/// The engine's accounting as `Expected`, from the struct.
fn accounting_of(recon: &Reconciliation) -> Expected {
    let a = &recon.accounting;
    let tally = |t: &episode_recon::model::outcome::Tally| {
        (t.rows, i64::try_from(t.amount.cents()).unwrap())
    };
    let buckets = BTreeMap::from([
        ("read", tally(&a.read)),
        ("rejected", tally(&a.rejected)),
        ("after_cutoff", tally(&a.after_cutoff)),
        ("void", tally(&a.void)),
        ("superseded", tally(&a.superseded)),
        ("final_action", tally(&a.final_action)),
    ]);
    let rejected_by_reason = a
        .rejected_by_reason
        .iter()
        .map(|(r, n)| (r.name(), *n))
        .collect();
    Expected {
        buckets,
        rejected_by_reason,
    }
}

/// The summary's `rows` and `amounts` as `Expected`.
fn summary_accounting(summary: &serde_json::Value) -> Expected {
    let mut buckets = BTreeMap::new();
    for bucket in [
        "read",
        "rejected",
        "after_cutoff",
        "void",
        "superseded",
        "final_action",
    ] {
        let rows = summary["rows"][bucket]
            .as_u64()
            .unwrap_or_else(|| panic!("rows.{bucket}"));
        buckets.insert(bucket, (rows, json_cents(&summary["amounts"][bucket])));
    }
    let rejected_by_reason = summary["rejected_by_reason"]
        .as_object()
        .expect("rejected_by_reason")
        .iter()
        .map(|(reason, n)| {
            let name = [
                "bad_amount",
                "bad_date",
                "bad_line_number",
                "duplicate_line",
                "claim_has_rejected_row",
            ]
            .into_iter()
            .find(|r| r == reason)
            .unwrap_or_else(|| panic!("unexpected reason {reason}"));
            (name, n.as_u64().unwrap())
        })
        .collect();
    Expected {
        buckets,
        rejected_by_reason,
    }
}

// ---------------------------------------------------------------------------
// Parsing outputs.

fn fields(line: &str) -> Vec<&str> {
    assert!(
        !line.contains('"'),
        "no field of these outputs needs quotes: {line}"
    );
    line.split(',').collect()
}

/// `(reason, record)` of every reject, sorted: the rejects without file
/// names and row numbers.
fn reject_records(rejects: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = rejects
        .lines()
        .skip(1)
        .map(|line| {
            let mut parts = line.splitn(4, ',');
            let (_file, _row) = (parts.next(), parts.next());
            let reason = parts.next().expect("a reason").to_owned();
            let record = parts.next().expect("a record");
            let record = match record.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
                Some(inner) => inner.replace("\"\"", "\""),
                None => record.to_owned(),
            };
            (reason, record)
        })
        .collect();
    out.sort();
    out
}

// ---------------------------------------------------------------------------
// Property 1: money is conserved, and every figure derives from the ones
// below it.

/// Episodes, target, actual, capped and gain/loss totals.
type ProviderTotals = (u64, i64, i64, i64, i64);

fn check_conservation(
    input: &Input,
    rows: &[Row],
    recon: &Reconciliation,
    outputs: &Outputs,
) -> Result<(), TestCaseError> {
    // Rows and amounts add up: from the struct, and as the summary says.
    let engine = accounting_of(recon);
    let parts = [
        "rejected",
        "after_cutoff",
        "void",
        "superseded",
        "final_action",
    ];
    let (rows_sum, cents_sum) = parts.iter().fold((0, 0), |(r, c), p| {
        (r + engine.buckets[p].0, c + engine.buckets[p].1)
    });
    prop_assert_eq!(
        (rows_sum, cents_sum),
        engine.buckets["read"],
        "parts must add up to what was read"
    );
    prop_assert_eq!(
        engine.buckets["read"].0,
        rows.len() as u64,
        "rows.read must be the rows written"
    );
    let summary = outputs.summary_json();
    prop_assert_eq!(
        &summary_accounting(&summary),
        &engine,
        "summary.json must show the accounting"
    );
    prop_assert_eq!(&summary["rows"]["adds_up"], &serde_json::Value::Bool(true));
    prop_assert_eq!(
        &summary["amounts"]["adds_up"],
        &serde_json::Value::Bool(true)
    );
    prop_assert_eq!(&summary["check"], &serde_json::Value::Bool(true));

    // Per type: final-action money splits into inside and outside.
    let types = summary["episode_types"].as_object().expect("episode_types");
    prop_assert_eq!(types.keys().collect::<Vec<_>>(), vec!["LEJR"]);
    let lejr_summary = &types["LEJR"];
    let final_action = json_cents(&lejr_summary["final_action_amount"]);
    let inside = json_cents(&lejr_summary["inside_amount"]);
    let outside = json_cents(&lejr_summary["outside_amount"]);
    prop_assert_eq!(final_action, engine.buckets["final_action"].1);
    prop_assert_eq!(
        inside + outside,
        final_action,
        "inside + outside must be the final-action money"
    );
    prop_assert_eq!(&lejr_summary["adds_up"], &serde_json::Value::Bool(true));

    // Ledger: each episode's included money is its actual spending; a
    // post-acute stay of n days whose days a..=b lie in the window gives
    // round(allowed × b / n) − round(allowed × (a − 1) / n), each rounded
    // half away from zero; every row names its claim's provider and the
    // line's service date.
    let episodes: Vec<Vec<&str>> = outputs.episodes.lines().skip(1).map(fields).collect();
    let windows: HashMap<&str, (i32, i32)> = episodes
        .iter()
        .map(|e| (e[0], (day_of(e[6]), day_of(e[7]))))
        .collect();
    let service: HashMap<String, (i32, i32)> = rows
        .iter()
        .map(|r| (format!("C{}", r.claim), r.service))
        .collect();
    let written: HashMap<(String, usize), (&str, i32)> = rows
        .iter()
        .map(|r| {
            (
                (format!("C{}", r.claim), r.line),
                (r.provider.as_str(), r.service_day),
            )
        })
        .collect();
    let mut ledger_by_episode: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for line in outputs.ledger.lines().skip(1) {
        let f = fields(line);
        prop_assert_eq!(f.len(), 9, "ledger row {}", line);
        let (allowed, included) = (cents(f[4]), cents(f[5]));
        let (provider, service_day) = written[&(f[1].to_owned(), f[2].parse::<usize>().unwrap())];
        prop_assert_eq!(f[7], provider, "provider_id of {}", line);
        prop_assert_eq!(f[8], date(service_day), "service_date of {}", line);
        match f[6] {
            "anchor" | "included" | "prorated" => {}
            d if d.starts_with("excluded:") => prop_assert_eq!(included, 0, "{}", line),
            d => prop_assert!(false, "unknown disposition {}", d),
        }
        if matches!(f[3], "SNF" | "HHA" | "HOS") && !f[6].starts_with("excluded:") {
            let (from, thru) = service[f[1]];
            let (start, end) = windows[f[0]];
            // Days a..=b (1-based from from_date) of the n lie in the window.
            let (a, b, n) = (
                from.max(start) - from + 1,
                thru.min(end) - from + 1,
                thru - from + 1,
            );
            let k = b - a + 1;
            prop_assert!(k > 0, "a stay outside its episode's window: {}", line);
            prop_assert_eq!(
                included,
                scale_round(allowed, i64::from(b), i64::from(n))
                    - scale_round(allowed, i64::from(a - 1), i64::from(n)),
                "proration of {}",
                line
            );
            prop_assert_eq!(
                f[6],
                if k == n { "included" } else { "prorated" },
                "{}",
                line
            );
        } else if !f[6].starts_with("excluded:") {
            prop_assert_eq!(included, allowed, "{}", line);
        }
        let entry = ledger_by_episode.entry(f[0].to_owned()).or_default();
        entry.0 += 1;
        entry.1 += included;
    }
    let mut actual_total = 0;
    let mut ledger_lines = 0;
    for e in &episodes {
        prop_assert_eq!(e.len(), 19, "episode row {:?}", e);
        // No [eligibility] or [risk]: nothing canceled, no risk levels,
        // multiplier 1.
        prop_assert_eq!((e[15], e[16], e[17]), ("", "", "1"), "episode row {:?}", e);
        let (lines, included) = ledger_by_episode.get(e[0]).copied().unwrap_or_default();
        prop_assert_eq!(
            e[10].parse::<u64>().unwrap(),
            lines,
            "claim_lines of {}",
            e[0]
        );
        prop_assert_eq!(
            cents(e[11]),
            included,
            "actual of {} must be its ledger's included sum",
            e[0]
        );
        actual_total += cents(e[11]);
        ledger_lines += lines;
    }
    let ledger_total: i64 = ledger_by_episode.values().map(|v| v.1).sum();
    prop_assert_eq!(
        ledger_total,
        actual_total,
        "ledger included total vs episodes' actual total"
    );
    prop_assert_eq!(
        actual_total,
        inside,
        "inside_amount is the episodes' actual total"
    );
    prop_assert_eq!(lejr_summary["ledger_lines"].as_u64(), Some(ledger_lines));
    prop_assert_eq!(
        lejr_summary["episodes"].as_u64(),
        Some(episodes.len() as u64)
    );
    prop_assert!(
        ledger_by_episode
            .keys()
            .all(|k| episodes.iter().any(|e| e[0] == k)),
        "ledger rows of unknown episodes"
    );

    // Caps: capped <= actual, and the cap is the value at rank ceil(p/100 n).
    let mut actuals: BTreeMap<(&str, &str), Vec<i64>> = BTreeMap::new();
    for e in &episodes {
        actuals.entry((e[5], e[8])).or_default().push(cents(e[11]));
    }
    for list in actuals.values_mut() {
        list.sort_unstable();
    }
    // (episodes, target, actual, capped, gain_loss) per (provider, period).
    let mut per_provider: BTreeMap<(&str, &str), ProviderTotals> = BTreeMap::new();
    for e in &episodes {
        let (actual, capped) = (cents(e[11]), cents(e[12]));
        prop_assert!(capped <= actual, "capped > actual in {:?}", e);
        let expected_capped = match input.cap {
            0 => actual,
            cap => {
                let percentile = if cap == 1 { 80 } else { 50 };
                let list = &actuals[&(e[5], e[8])];
                let rank = (percentile * list.len()).div_ceil(100);
                actual.min(list[rank - 1])
            }
        };
        prop_assert_eq!(capped, expected_capped, "capped of {:?}", e);
        prop_assert_eq!(e[8], year_of(day_of(e[7])), "period of {:?}", e);
        let price = price_of(input, e[3], e[5], e[8]);
        match price {
            Some(price) => {
                let target = scale_round(price, 97, 100);
                prop_assert_eq!(e[9], "priced");
                prop_assert_eq!(e[18], amount_text(price, 0), "target_price of {:?}", e);
                prop_assert_eq!(cents(e[13]), target, "target of {:?}", e);
                prop_assert_eq!(cents(e[14]), target - capped, "gain_loss of {:?}", e);
                let p = per_provider.entry((e[3], e[8])).or_default();
                *p = (
                    p.0 + 1,
                    p.1 + target,
                    p.2 + actual,
                    p.3 + capped,
                    p.4 + target - capped,
                );
            }
            None => {
                prop_assert_eq!(e[9], "no_target_price");
                prop_assert_eq!((e[13], e[14], e[18]), ("", "", ""), "unpriced {:?}", e);
            }
        }
    }

    // Providers: totals, gain/loss and the stop-gain/stop-loss limits.
    let providers: Vec<Vec<&str>> = outputs.providers.lines().skip(1).map(fields).collect();
    let keys: Vec<(&str, &str)> = providers.iter().map(|p| (p[0], p[2])).collect();
    prop_assert_eq!(
        keys,
        per_provider.keys().copied().collect::<Vec<_>>(),
        "provider rows"
    );
    let mut reconciliation_total = 0;
    for p in &providers {
        prop_assert_eq!(p.len(), 10, "provider row {:?}", p);
        let (target, actual, capped, gain_loss, amount) = (
            cents(p[4]),
            cents(p[5]),
            cents(p[6]),
            cents(p[7]),
            cents(p[9]),
        );
        prop_assert_eq!(gain_loss, target - capped, "gain_loss_total of {:?}", p);
        let expected = per_provider[&(p[0], p[2])];
        prop_assert_eq!(
            (
                p[3].parse::<u64>().unwrap(),
                target,
                actual,
                capped,
                gain_loss
            ),
            expected,
            "totals of {:?}",
            p
        );
        let (high, low) = (scale_round(target, 20, 100), -scale_round(target, 10, 100));
        prop_assert!(
            low <= amount && amount <= high,
            "reconciliation outside limits {:?}",
            p
        );
        let expected_amount = gain_loss.clamp(low, high);
        prop_assert_eq!(amount, expected_amount, "reconciliation of {:?}", p);
        let limit_ok = match p[8] {
            "none" => low <= gain_loss && gain_loss <= high,
            "stop_gain" => gain_loss >= high,
            "stop_loss" => gain_loss <= low,
            _ => false,
        };
        prop_assert!(limit_ok, "limit of {:?}", p);
        reconciliation_total += amount;
    }
    prop_assert_eq!(json_cents(&summary["money"]["actual"]), actual_total);
    prop_assert_eq!(
        json_cents(&summary["money"]["reconciliation"]),
        reconciliation_total
    );
    prop_assert_eq!(summary["providers"].as_u64(), Some(providers.len() as u64));
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Property 1: money is conserved through every stage.
    #[test]
    fn money_is_conserved(input in input_strategy()) {
        let rows = render(&input.claims);
        let case = new_case(&input, &rows);
        let (recon, outputs) = run(&case, &["claims.csv"], None, 1);
        check_conservation(&input, &rows, &recon, &outputs)?;
    }

    /// Property 2a: outputs do not depend on the order of the input rows.
    #[test]
    fn outputs_do_not_depend_on_row_order(input in input_strategy(), keys in prop::collection::vec(any::<u32>(), 80)) {
        let rows = render(&input.claims);
        let case = new_case(&input, &rows);
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| (keys[i % keys.len()], i));
        let shuffled: Vec<&Row> = order.iter().map(|&i| &rows[i]).collect();
        case.write("shuffled.csv", &format!("{CLAIMS_HEADER}\n{}", join(&shuffled)));
        let (_, straight) = run(&case, &["claims.csv"], None, 1);
        let (_, reordered) = run(&case, &["shuffled.csv"], None, 1);
        prop_assert_eq!(&straight.episodes, &reordered.episodes);
        prop_assert_eq!(&straight.providers, &reordered.providers);
        prop_assert_eq!(&straight.ledger, &reordered.ledger);
        prop_assert_eq!(&straight.summary, &reordered.summary);
        prop_assert_eq!(reject_records(&straight.rejects), reject_records(&reordered.rejects));
    }

    /// Property 2b: outputs do not depend on how rows are split into files.
    #[test]
    fn outputs_do_not_depend_on_file_split(input in input_strategy(), parts in 2usize..=3, assignment in prop::collection::vec(0usize..3, 80)) {
        let rows = render(&input.claims);
        let case = new_case(&input, &rows);
        let names = ["part_a.csv", "part_b.csv", "part_c.csv"];
        for (f, name) in names.iter().enumerate().take(parts) {
            let mine: Vec<&Row> = rows.iter().enumerate().filter(|(i, _)| assignment[i % assignment.len()] % parts == f).map(|(_, r)| r).collect();
            case.write(name, &format!("{CLAIMS_HEADER}\n{}", join(&mine)));
        }
        let (_, whole) = run(&case, &["claims.csv"], None, 1);
        let (_, split) = run(&case, &names[..parts], None, 1);
        prop_assert_eq!(&whole.episodes, &split.episodes);
        prop_assert_eq!(&whole.providers, &split.providers);
        prop_assert_eq!(&whole.ledger, &split.ledger);
        // The same summary, but for a warning about each file that got no
        // row (RULES 48).
        let empty = |files: &[&str]| -> Vec<String> {
            files.iter().filter(|f| {
                std::fs::read_to_string(case.path(f)).unwrap().lines().count() == 1
            }).map(|f| (*f).to_owned()).collect()
        };
        // Takes the empty-file warnings out, and the key when none is left.
        let warned = |summary: &mut serde_json::Value| -> Vec<String> {
            let object = summary.as_object_mut().unwrap();
            let Some(warnings) = object.get_mut("warnings").and_then(|w| w.as_array_mut()) else {
                return Vec::new();
            };
            let (empty, other): (Vec<_>, Vec<_>) =
                warnings.drain(..).partition(|w| w["kind"] == "empty_claims_file");
            *warnings = other;
            if warnings.is_empty() {
                object.remove("warnings");
            }
            empty.iter().map(|w| w["file"].as_str().unwrap().to_owned()).collect()
        };
        let (mut whole_summary, mut split_summary) = (whole.summary_json(), split.summary_json());
        prop_assert_eq!(warned(&mut whole_summary), empty(&["claims.csv"]));
        prop_assert_eq!(warned(&mut split_summary), empty(&names[..parts]));
        prop_assert_eq!(whole_summary, split_summary);
        prop_assert_eq!(reject_records(&whole.rejects), reject_records(&split.rejects));
    }

    /// Property 2c: outputs do not depend on the thread count.
    #[test]
    fn outputs_do_not_depend_on_threads(input in input_strategy(), as_of in prop::option::of(0i32..450)) {
        let rows = render(&input.claims);
        let case = new_case(&input, &rows);
        let as_of = as_of.map(date);
        let (_, one) = run(&case, &["claims.csv"], as_of.as_deref(), 1);
        let (_, four) = run(&case, &["claims.csv"], as_of.as_deref(), 4);
        prop_assert_eq!(one, four);
    }

    /// Property 3: every row lands in exactly one bucket, the one the
    /// contract's final-action rules give it, with or without `--as-of`.
    #[test]
    fn every_row_lands_in_exactly_one_bucket(input in input_strategy(), as_of in prop::option::of(0i32..450)) {
        let rows = render(&input.claims);
        let case = new_case(&input, &rows);
        let as_of_text = as_of.map(date);
        let (recon, outputs) = run(&case, &["claims.csv"], as_of_text.as_deref(), 1);
        let engine = accounting_of(&recon);
        prop_assert_eq!(engine.buckets["read"].0, rows.len() as u64, "rows.read vs rows written");
        let parts = ["rejected", "after_cutoff", "void", "superseded", "final_action"];
        prop_assert_eq!(parts.iter().map(|p| engine.buckets[p].0).sum::<u64>(), rows.len() as u64);
        prop_assert_eq!(&engine, &expected(&rows, as_of), "accounting vs the test's oracle");
        let summary = outputs.summary_json();
        prop_assert_eq!(summary["as_of"].as_str(), as_of_text.as_deref());
        prop_assert_eq!(&summary_accounting(&summary), &engine);
        prop_assert_eq!(outputs.rejects.lines().count() - 1, engine.buckets["rejected"].0 as usize, "rejects.csv rows");
        check_conservation(&input, &rows, &recon, &outputs)?;
    }
}

// ---------------------------------------------------------------------------
// Property 4: final action of one claim against a tiny reference.

#[derive(Clone, Debug)]
struct VersionGen {
    /// 0 O, 1 R, 2 V.
    rank: u8,
    /// Days from 2026-04-10 (the claim's thru date); `None` on an original:
    /// the column is empty.
    processed: Option<i32>,
    amounts: Vec<i64>,
}

fn version_strategy() -> impl Strategy<Value = VersionGen> {
    (
        0u8..3,
        prop::option::weighted(0.85, -3i32..6),
        prop::collection::vec(-5_000i64..300_000, 1..=3),
    )
        .prop_map(|(rank, processed, amounts)| VersionGen {
            rank,
            // Only an original may leave the processed date empty.
            processed: if rank == 0 {
                processed
            } else {
                Some(processed.unwrap_or(0))
            },
            amounts,
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn final_action_matches_a_reference(versions in prop::collection::vec(version_strategy(), 1..=5), as_of in prop::option::weighted(0.3, 97i32..108)) {
        let thru = 99; // 2026-04-10
        let mut seen = Vec::new();
        let mut rows = String::new();
        let mut kept: Vec<(VersionId, i64)> = Vec::new();
        for v in &versions {
            let processed = thru + v.processed.unwrap_or(0);
            if seen.contains(&(v.rank, processed)) {
                continue;
            }
            seen.push((v.rank, processed));
            let record_type = ["O", "R", "V"][usize::from(v.rank)];
            let processed_text = if v.processed.is_some() { date(processed) } else { String::new() };
            for (i, amount) in v.amounts.iter().enumerate() {
                rows.push_str(&format!(
                    "C1,{},B1,IP,{},{},{},{record_type},{processed_text},,,,P1,,470,,,\n",
                    i + 1,
                    date(thru - 3),
                    date(thru),
                    amount_text(*amount, 0)
                ));
            }
            kept.push(((v.rank, processed), v.amounts.iter().sum()));
        }
        // The reference: drop versions after the cutoff, take the latest
        // processed date, V > R > O on a tie; a void leaves nothing.
        let received: Vec<&(VersionId, i64)> = kept.iter().filter(|(id, _)| as_of.is_none_or(|c| id.1 <= c)).collect();
        let best = received.iter().max_by_key(|(id, _)| (id.1, id.0));
        let (final_amount, void_amount) = match best {
            Some(((2, _), amount)) => (0, *amount),
            Some((_, amount)) => (*amount, 0),
            None => (0, 0),
        };
        let read: i64 = kept.iter().map(|k| k.1).sum();
        let after_cutoff: i64 = kept.iter().filter(|(id, _)| as_of.is_some_and(|c| id.1 > c)).map(|k| k.1).sum();

        let case = Case::new(&rows, &[("lejr.toml", &lejr(0, ""))], "LEJR,*,NOMCC,2026,20000.00\n");
        let as_of_text = as_of.map(date);
        let (_, outputs) = run(&case, &["claims.csv"], as_of_text.as_deref(), 1);
        let summary = outputs.summary_json();
        let amounts = &summary["amounts"];
        prop_assert_eq!(json_cents(&amounts["final_action"]), final_amount, "final_action");
        prop_assert_eq!(json_cents(&amounts["void"]), void_amount, "void");
        prop_assert_eq!(json_cents(&amounts["read"]), read, "read");
        prop_assert_eq!(json_cents(&amounts["after_cutoff"]), after_cutoff, "after_cutoff");
        prop_assert_eq!(json_cents(&amounts["superseded"]), read - after_cutoff - final_amount - void_amount, "superseded");
        prop_assert_eq!(json_cents(&amounts["rejected"]), 0, "rejected");
        // The claim is an LEJR anchor with a provider: unless it was voided
        // or not yet received, it is one episode holding all of its money.
        let expected_episodes = u64::from(matches!(best, Some(((0 | 1, _), _))));
        prop_assert_eq!(summary["episodes"]["total"].as_u64(), Some(expected_episodes));
        prop_assert_eq!(json_cents(&summary["episode_types"]["LEJR"]["inside_amount"]), final_amount);
    }
}

// ---------------------------------------------------------------------------
// Enrollment, risk and settlement inputs: in their own module.

mod enrollment;
