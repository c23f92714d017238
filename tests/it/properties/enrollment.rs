//! Property tests of the enrollment, risk and settlement inputs (contract
//! 1.5, 1.6, 2.7, 3.1 to 3.3 and 3.6) on random data.
//!
//! A world is the parent module's random claims (beneficiaries B1..B6, LEJR
//! and CHF triggers, replacements, voids, bad rows) split over two claims
//! files, plus:
//! - two beneficiaries files of monthly rows (2025-10 to 2027-04) with
//!   gaps, flags `Y`/`N`/empty in either case, a categorical `region`, an
//!   integer-like `hcc`, births (some on 29 February) and deaths, and
//!   occasional bad rows of every reject reason of 1.5 (the second file may
//!   order its columns differently);
//! - two definitions, LEJR and CHF, each with a random `[eligibility]`, a
//!   random `[risk]` (age and hcc banded, dual and region categorical),
//!   discount, percentiles, stop limits and `period_date`, sometimes in one
//!   overlap group, both by year or both by quarter;
//! - target prices, risk factors (with `*` fallbacks and gaps),
//!   participants and settlement tracks, drawn twice ("A" and "B") so that
//!   a run can be repriced with other files.
//!
//! An oracle written here, in integers, says which beneficiaries rows are
//! rejected and why, which episodes are canceled and why, each episode's
//! risk levels, multiplier, target, cap and floor, and each provider's and
//! participant's settlement.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use super::{
    ClaimGen, Kind, LineGen, Row, claim_strategy, date, day_of, fields, is_leap, json_cents, render,
};
use crate::support::{CLAIMS_HEADER, Case};
use episode_recon::config::definitions;
use episode_recon::config::prices::TargetPrices;
use episode_recon::config::risk_factors::RiskFactors;
use episode_recon::config::settlement::{Participants, Settlement};
use episode_recon::engine::reconcile::{self, Inputs, Reconciliation, SettlementInputs};
use episode_recon::input::source::Input;
use episode_recon::output::report;
use episode_recon::runs::prior_run::PriorRun;
use episode_recon::runs::reprice::{self, RepriceWith};

// ---------------------------------------------------------------------------
// Fixed vocabularies, with their values in integers.

const FLAGS: [&str; 5] = ["part_a", "part_b", "managed_care", "esrd", "dual"];
/// Risk factors and their levels: age with one of `AGE_BANDS` (the levels
/// of all three), hcc with bands [1, 2, 4].
const FACTORS: [&str; 4] = ["age", "dual", "region", "hcc"];
const AGE_BANDS: [&[i64]; 3] = [&[65, 75, 85], &[66, 74, 82], &[74]];
const LEVELS: [&[&str]; 4] = [
    &[
        "<65", "65-74", "75-84", "85+", "<66", "66-73", "74-81", "82+", "<74", "74+",
    ],
    &["Y", "N"],
    &["north", "south", "east", "west"],
    &["<1", "1", "2-3", "4+"],
];
const HCC_BANDS: &[i64] = &[1, 2, 4];
/// Ages on an anchor's start that sit on an edge of `AGE_BANDS`; 66, 74
/// and 82 years before 2026 are leap years.
const AGES: [i32; 6] = [65, 66, 74, 75, 82, 85];

/// The bands of a factor in a definition.
fn bands(def: &DefGen, factor: usize) -> Option<&'static [i64]> {
    match FACTORS[factor] {
        "age" => Some(AGE_BANDS[def.age_bands]),
        "hcc" => Some(HCC_BANDS),
        _ => None,
    }
}
/// Values of `region` and `hcc`; the last ones give no level (no row, or
/// not an integer), and are drawn more rarely (see [`pick`]).
const REGIONS: [&str; 6] = ["north", "south", "east", "west", "", "North"];
const HCC: [&str; 11] = ["0", "1", "2", "3", "4", "5", "-1", "03", "", "x", "2.0"];

/// An index into a list of `len` values whose first `good` give a level:
/// a draw below `4 × good` picks one of those, a larger one the others.
fn pick(draw: u8, good: usize, len: usize) -> usize {
    let draw = usize::from(draw);
    if draw < 4 * good {
        draw % good
    } else {
        good + draw % (len - good)
    }
}
/// Multipliers as written, and in thousandths.
const MULTIPLIERS: [(&str, i128); 8] = [
    ("1", 1000),
    ("0.85", 850),
    ("1.10", 1100),
    ("1.234", 1234),
    ("0.9", 900),
    ("1.5", 1500),
    ("2", 2000),
    ("0.999", 999),
];
/// Shares (discount, stop limits, quality rates) as written, and in
/// ten-thousandths.
const SHARES: [(&str, i64); 6] = [
    ("0", 0),
    ("0.05", 500),
    ("0.1", 1000),
    ("0.20", 2000),
    ("0.025", 250),
    ("1", 10_000),
];
const DISCOUNTS: [(&str, i64); 3] = [("0", 0), ("0.03", 300), ("0.125", 1250)];
/// Quality scores as written, and in hundredths.
const SCORES: [(&str, i64); 8] = [
    ("0", 0),
    ("100", 10_000),
    ("80", 8000),
    ("55.5", 5550),
    ("12.25", 1225),
    ("99.99", 9999),
    ("50.0", 5000),
    ("7", 700),
];
/// Percentiles in tenths: high_cost_percentile and low_cost_percentile.
const HIGH: [Option<i64>; 5] = [None, Some(800), Some(500), Some(995), Some(1000)];
const LOW: [Option<i64>; 5] = [None, Some(10), Some(100), Some(255), Some(500)];
const PROVIDERS: [&str; 4] = ["P1", "P2", "P3", "P9"];
const TRACKS: [&str; 2] = ["A", "T_2"];

/// The two episode types: id, post_days, price groups.
const TYPES: [(&str, i32, &[&str]); 2] = [
    ("CHF", 30, &["291", "292"]),
    ("LEJR", 90, &["MCC", "NOMCC", "OP"]),
];

/// Month number (year × 12 + month − 1) of the first beneficiaries month,
/// 2025-10, and how many months are drawn.
const FIRST_MONTH: i32 = 2025 * 12 + 9;
const MONTHS: usize = 19;

fn periods(quarter: bool) -> Vec<String> {
    let mut out = Vec::new();
    for year in [2026, 2027] {
        if quarter {
            out.extend((1..=4).map(|q| format!("{year}Q{q}")));
        } else {
            out.push(year.to_string());
        }
    }
    out
}

/// `(year, month, day)` of a day counted from 2026-01-01.
fn ymd(day: i32) -> (i32, i32, i32) {
    let text = date(day);
    (
        text[..4].parse().unwrap(),
        text[5..7].parse().unwrap(),
        text[8..10].parse().unwrap(),
    )
}

fn month_of(day: i32) -> i32 {
    let (y, m, _) = ymd(day);
    y * 12 + m - 1
}

fn period_of(day: i32, quarter: bool) -> String {
    let (y, m, _) = ymd(day);
    if quarter {
        format!("{y}Q{}", (m - 1) / 3 + 1)
    } else {
        y.to_string()
    }
}

/// `n / d` rounded half away from zero.
fn round_div(n: i128, d: i128) -> i64 {
    let half = d / 2;
    let q = if n >= 0 {
        (n + half) / d
    } else {
        -((-n + half) / d)
    };
    i64::try_from(q).unwrap()
}

// ---------------------------------------------------------------------------
// Generators.

#[derive(Clone, Debug)]
struct MonthDraw {
    /// 0: the month is missing (only for a noisy beneficiary).
    present: u8,
    flags: [u8; 5],
    region: u8,
    hcc: u8,
    /// `YYYYMM` instead of `YYYY-MM`.
    compact: bool,
    /// Which beneficiaries file the row goes to.
    file: u8,
}

#[derive(Clone, Copy, Debug)]
enum BadBene {
    FieldCount,
    Encoding,
    Missing,
    Month,
    Date,
    Flag,
    Duplicate,
    Inconsistent,
}

#[derive(Clone, Debug)]
struct BeneGen {
    /// Year, month, day of birth; a 29 February now and then.
    birth: Option<(i32, i32, i32)>,
    /// Day of death from 2026-01-01.
    death: Option<i32>,
    /// Moves the death next to one of the beneficiary's IP anchors: which,
    /// its anchor end (false) or a post-discharge end (true), days off.
    death_near: Option<(u8, bool, i32)>,
    /// Moves the birthday next to an IP anchor's start: which, days off,
    /// the age there (an index into `AGES`), or born on 29 February.
    birthday_near: Option<(u8, i32, usize, bool)>,
    /// A clean beneficiary is enrolled every month with the usual flags.
    clean: bool,
    months: Vec<MonthDraw>,
    /// Extra rows that are rejected (or make others rejected): what, which
    /// month, a style draw, which file.
    bad: Vec<(BadBene, usize, u8, u8)>,
}

#[derive(Clone, Debug)]
struct Eligibility {
    months_before: i32,
    require: Vec<usize>,
    exclude: Vec<usize>,
    /// 0 ignore (or absent), 1 anchor, 2 episode.
    death: u8,
    /// Write `death = "ignore"` rather than leave it out.
    explicit_ignore: bool,
}

#[derive(Clone, Debug)]
struct DefGen {
    eligibility: Option<Eligibility>,
    /// Factor indexes into `FACTORS`, in definition order.
    risk: Option<Vec<usize>>,
    /// Index into `AGE_BANDS`.
    age_bands: usize,
    lookback: u32,
    anchor_end: bool,
    discount: usize,
    high: usize,
    low: usize,
    stop_gain: Option<usize>,
    stop_loss: Option<usize>,
}

#[derive(Clone, Debug)]
struct TrackGen {
    stop_gain: Option<usize>,
    stop_loss: Option<usize>,
    quality_gain: Option<usize>,
    quality_loss: Option<usize>,
}

/// What a run is priced with: target prices, risk factors, participants
/// and tracks.
#[derive(Clone, Debug)]
struct PricingGen {
    /// Per (type, group, period) slot: the `*` price and P1's own, cents.
    prices: Vec<(Option<i64>, Option<i64>)>,
    /// Per (scope `*`/CHF/LEJR, factor, level) slot: a multiplier index.
    risk: Vec<Option<usize>>,
    /// Per (provider, period) slot: track and score indexes.
    participants: Vec<Option<(usize, usize)>>,
    tracks: [TrackGen; 2],
    /// Settle participants at all.
    settle: bool,
}

#[derive(Clone, Debug)]
struct World {
    claims: Vec<ClaimGen>,
    /// Which claims file each claims row goes to.
    claim_split: Vec<u8>,
    benes: Vec<BeneGen>,
    /// The second beneficiaries file writes its columns in another order.
    reordered_columns: bool,
    /// A record with an unterminated quote ends this beneficiaries file.
    bad_csv: Option<u8>,
    defs: [DefGen; 2],
    overlap: bool,
    quarter: bool,
    pricing: PricingGen,
}

fn month_strategy() -> impl Strategy<Value = MonthDraw> {
    (
        prop_oneof![1 => Just(0u8), 12 => Just(1u8)],
        [0u8..200, 0u8..200, 0u8..200, 0u8..200, 0u8..200],
        0u8..24,
        0u8..36,
        prop::bool::weighted(0.2),
        0u8..2,
    )
        .prop_map(|(present, flags, region, hcc, compact, file)| MonthDraw {
            present,
            flags,
            region,
            hcc,
            compact,
            file,
        })
}

fn bad_bene_strategy() -> impl Strategy<Value = (BadBene, usize, u8, u8)> {
    let what = prop_oneof![
        1 => Just(BadBene::FieldCount),
        1 => Just(BadBene::Encoding),
        1 => Just(BadBene::Missing),
        1 => Just(BadBene::Month),
        1 => Just(BadBene::Date),
        1 => Just(BadBene::Flag),
        2 => Just(BadBene::Duplicate),
        1 => Just(BadBene::Inconsistent),
    ];
    (what, 0..MONTHS, 0u8..6, 0u8..2)
}

fn bene_strategy() -> impl Strategy<Value = BeneGen> {
    let birth = prop_oneof![
        1 => Just(None),
        8 => (1930i32..1967, 1i32..=12, 1i32..=28).prop_map(Some),
        1 => prop::sample::select(vec![1940, 1948, 1952, 1960]).prop_map(|y| Some((y, 2, 29))),
    ];
    (
        birth,
        prop::option::weighted(0.25, 0i32..480),
        prop::bool::weighted(0.6),
        prop::collection::vec(month_strategy(), MONTHS),
        prop_oneof![3 => Just(vec![]), 1 => prop::collection::vec(bad_bene_strategy(), 1..=2)],
        (
            prop::option::weighted(0.5, (any::<u8>(), any::<bool>(), -2i32..=2)),
            prop::option::weighted(0.6, (any::<u8>(), -1i32..=1, 0..AGES.len(), any::<bool>())),
        ),
    )
        .prop_map(
            |(birth, death, clean, months, bad, (death_near, birthday_near))| BeneGen {
                birth,
                death,
                death_near,
                birthday_near,
                clean,
                months,
                bad,
            },
        )
}

fn subset(n: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::sample::subsequence((0..n).collect::<Vec<_>>(), 0..=n).prop_shuffle()
}

fn def_strategy() -> impl Strategy<Value = DefGen> {
    let require = prop_oneof![
        4 => prop::sample::subsequence(vec![0usize, 1], 0..=2).prop_shuffle(),
        1 => subset(5),
    ];
    let exclude = prop_oneof![
        4 => prop::sample::subsequence(vec![2usize, 3], 0..=2).prop_shuffle(),
        1 => subset(5),
    ];
    let eligibility = (0i32..=2, require, exclude, 0u8..3, any::<bool>()).prop_map(
        |(months_before, require, exclude, death, explicit_ignore)| Eligibility {
            months_before,
            require,
            exclude,
            death,
            explicit_ignore,
        },
    );
    let risk = prop::sample::subsequence(vec![0usize, 1, 2, 3], 1..=4).prop_shuffle();
    (
        prop::option::weighted(0.6, eligibility),
        prop::option::weighted(0.7, risk),
        0u32..5,
        any::<bool>(),
        0..DISCOUNTS.len(),
        0..HIGH.len(),
        0..LOW.len(),
        prop::option::weighted(0.7, 0usize..4),
        (prop::option::weighted(0.7, 0usize..4), 0..AGE_BANDS.len()),
    )
        .prop_map(
            |(
                eligibility,
                risk,
                lookback,
                anchor_end,
                discount,
                high,
                low,
                stop_gain,
                (stop_loss, age_bands),
            )| {
                DefGen {
                    eligibility,
                    risk,
                    age_bands,
                    lookback,
                    anchor_end,
                    discount,
                    high,
                    low,
                    stop_gain,
                    stop_loss,
                }
            },
        )
}

fn track_strategy() -> impl Strategy<Value = TrackGen> {
    let share = || prop::option::weighted(0.7, 0..SHARES.len());
    (share(), share(), share(), share()).prop_map(
        |(stop_gain, stop_loss, quality_gain, quality_loss)| TrackGen {
            stop_gain,
            stop_loss,
            quality_gain,
            quality_loss,
        },
    )
}

fn pricing_strategy() -> impl Strategy<Value = PricingGen> {
    let price = || 300_000i64..2_500_000;
    let slot = (
        prop::option::weighted(0.85, price()),
        prop::option::weighted(0.25, price()),
    );
    let levels: usize = LEVELS.iter().map(|l| l.len()).sum();
    let risk_slot = |p: f64| prop::option::weighted(p, 0..MULTIPLIERS.len());
    (
        prop::collection::vec(slot, 5 * 8),
        (
            prop::collection::vec(risk_slot(0.9), levels),
            prop::collection::vec(risk_slot(0.3), 2 * levels),
        ),
        prop::collection::vec(
            prop::option::weighted(0.7, (0..TRACKS.len(), 0..SCORES.len())),
            PROVIDERS.len() * 8,
        ),
        [track_strategy(), track_strategy()],
        prop::bool::weighted(0.85),
    )
        .prop_map(
            |(prices, (star, own), participants, tracks, settle)| PricingGen {
                prices,
                risk: star.into_iter().chain(own).collect(),
                participants,
                tracks,
                settle,
            },
        )
}

/// A plain anchor of LEJR (IP DRG 469 or 470, OP HCPCS 27447) or CHF (IP
/// DRG 291 or 292) with a provider, for B1..B7, so that each world has
/// episodes enough to price and settle.
fn anchor_strategy() -> impl Strategy<Value = ClaimGen> {
    let line = (1i64..2_000_000, 0u8..4).prop_map(|(cents, code)| LineGen {
        cents,
        offset: 0,
        code,
        style: 0,
    });
    (
        1u8..=7,
        prop_oneof![3 => Just(Kind::Ip), 1 => Just(Kind::Op)],
        prop_oneof![
            3 => 0u16..340,
            1 => prop::sample::select(vec![58u16, 58, 58, 59, 30, 31, 89, 90, 180, 181, 333]),
        ],
        0u16..40,
        1u8..=3,
        prop::sample::select(vec![0u8, 3, 8, 9]),
        prop::collection::vec(line, 1..=2),
    )
        .prop_map(
            |(bene, kind, from, length, provider, drg, lines)| ClaimGen {
                bene,
                kind,
                from,
                length,
                provider: Some(provider),
                drg,
                cancer_dx: false,
                lines,
                o_delay: None,
                o_blank_type: false,
                extra: vec![],
                bad: None,
                chain: None,
            },
        )
}

fn world_strategy() -> impl Strategy<Value = World> {
    (
        (
            prop::collection::vec(anchor_strategy(), 4..=14),
            prop::collection::vec(claim_strategy(), 1..=24),
        )
            .prop_map(|(mut anchors, claims)| {
                anchors.extend(claims);
                anchors
            }),
        prop::collection::vec(0u8..2, 80),
        prop::collection::vec(bene_strategy(), 7),
        any::<bool>(),
        prop::option::weighted(0.15, 0u8..2),
        [def_strategy(), def_strategy()],
        any::<bool>(),
        prop::bool::weighted(0.3),
        pricing_strategy(),
    )
        .prop_map(
            |(
                claims,
                claim_split,
                benes,
                reordered_columns,
                bad_csv,
                defs,
                overlap,
                quarter,
                pricing,
            )| World {
                claims,
                claim_split,
                benes,
                reordered_columns,
                bad_csv,
                defs,
                overlap,
                quarter,
                pricing,
            },
        )
}

// ---------------------------------------------------------------------------
// Beneficiaries rows and the oracle of 1.5.

const BENE_COLUMNS: [&str; 11] = [
    "beneficiary_id",
    "month",
    "birth_date",
    "death_date",
    "part_a",
    "part_b",
    "managed_care",
    "esrd",
    "dual",
    "region",
    "hcc",
];

/// One written beneficiaries row and what the test knows of it.
#[derive(Clone, Debug)]
struct BeneRow {
    /// Fields in `BENE_COLUMNS` order.
    fields: Vec<Vec<u8>>,
    file: usize,
    /// Drop the last field when writing (`bad_field_count`).
    short: bool,
    bene: String,
    month: i32,
    /// A row check that fails.
    bad: Option<&'static str>,
}

fn flag_text(draw: u8, usual_y: bool) -> String {
    let text = match (draw % 100, usual_y) {
        (0..=93, true) | (94..=96, false) => "Y",
        (0..=93, false) | (94..=96, true) => "N",
        _ => "",
    };
    if draw >= 185 {
        text.to_lowercase()
    } else {
        text.to_owned()
    }
}

fn dual_text(draw: u8) -> String {
    let text = match draw % 100 {
        0..=29 => "Y",
        30..=89 => "N",
        _ => "",
    };
    if draw >= 150 {
        text.to_lowercase()
    } else {
        text.to_owned()
    }
}

fn month_text(month: i32, compact: bool) -> String {
    let (y, m) = (month / 12, month % 12 + 1);
    if compact {
        format!("{y:04}{m:02}")
    } else {
        format!("{y:04}-{m:02}")
    }
}

fn bene_rows(world: &World) -> Vec<BeneRow> {
    let mut rows = Vec::new();
    for (b, draws) in world.benes.iter().enumerate() {
        let bene = format!("B{}", b + 1);
        // (start, end, post_days) of the beneficiary's unchained IP anchors.
        let anchors: Vec<(i32, i32, i32)> = world
            .claims
            .iter()
            .filter(|c| {
                usize::from(c.bene) == b + 1
                    && c.kind == Kind::Ip
                    && c.chain.is_none()
                    && c.provider.is_some()
                    && matches!(c.drg, 0..=5 | 8 | 9)
            })
            .map(|c| {
                let from = i32::from(c.from);
                let end = (from + c.kind.days(c.length) - 1).min(364);
                (from, end, if c.drg >= 8 { 30 } else { 90 })
            })
            .collect();
        let near = |which: u8| anchors.get(usize::from(which) % anchors.len().max(1));
        let mut birth_date = draws.birth;
        if let (Some(_), Some((which, off, age, feb29))) = (birth_date, draws.birthday_near)
            && let Some(&(start, _, _)) = near(which)
        {
            let (year, m, d) = ymd((start + off).max(0));
            let year = year - AGES[age];
            birth_date = Some(if feb29 && is_leap(year) {
                (year, 2, 29)
            } else {
                (year, m, d)
            });
        }
        let birth = birth_date
            .map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
            .unwrap_or_default();
        let mut death_day = draws.death;
        if let (Some(_), Some((which, post, off))) = (death_day, draws.death_near)
            && let Some(&(_, end, post_days)) = near(which)
        {
            // `date` counts from 2026-01-01: no earlier day.
            death_day = Some((if post { end + post_days - 1 } else { end } + off).max(0));
        }
        let death = death_day.map(date).unwrap_or_default();
        let row_of = |i: usize, draw: &MonthDraw| {
            let month = FIRST_MONTH + i as i32;
            let mut flags: Vec<String> = (0..4).map(|f| flag_text(draw.flags[f], f < 2)).collect();
            if draws.clean {
                flags = vec!["Y".into(), "Y".into(), "N".into(), "N".into()];
            }
            flags.push(dual_text(draw.flags[4]));
            // A compact row writes its dates `YYYYMMDD`: the same values.
            let day = |d: &String| {
                if draw.compact {
                    d.replace('-', "")
                } else {
                    d.clone()
                }
            };
            let mut fields: Vec<Vec<u8>> = vec![
                bene.clone().into_bytes(),
                month_text(month, draw.compact).into_bytes(),
                day(&birth).into_bytes(),
                day(&death).into_bytes(),
            ];
            fields.extend(flags.into_iter().map(String::into_bytes));
            // Fields are trimmed: a padded value is the same value.
            let region = REGIONS[pick(draw.region, 4, REGIONS.len())];
            fields.push(if draw.hcc.is_multiple_of(5) {
                format!("  {region} ").into_bytes()
            } else {
                region.as_bytes().to_vec()
            });
            fields.push(HCC[pick(draw.hcc, 8, HCC.len())].as_bytes().to_vec());
            BeneRow {
                fields,
                file: usize::from(draw.file),
                short: false,
                bene: bene.clone(),
                month,
                bad: None,
            }
        };
        for (i, draw) in draws.months.iter().enumerate() {
            if draws.clean || draw.present > 0 {
                rows.push(row_of(i, draw));
            }
        }
        for &(what, i, style, file) in &draws.bad {
            let mut row = row_of(i, &draws.months[(i + 7) % MONTHS]);
            row.file = usize::from(file);
            match what {
                BadBene::FieldCount => {
                    row.short = true;
                    row.bad = Some("bad_field_count");
                }
                BadBene::Encoding => {
                    row.fields[9] = b"no\xffrth".to_vec();
                    row.bad = Some("bad_encoding");
                }
                BadBene::Missing => {
                    row.fields[usize::from(style % 2)] = Vec::new();
                    row.bad = Some("missing_field");
                }
                BadBene::Month => {
                    row.fields[1] = ["2026-13", "202600", "26-01", "2026-1", "x", "2026-02-01"]
                        [usize::from(style)]
                    .as_bytes()
                    .to_vec();
                    row.bad = Some("bad_month");
                }
                BadBene::Date => {
                    row.fields[2 + usize::from(style % 2)] = b"1950-02-30".to_vec();
                    row.bad = Some("bad_date");
                }
                BadBene::Flag => {
                    row.fields[4 + usize::from(style % 5)] =
                        [b"X".as_slice(), b"yes", b"1"][usize::from(style % 3)].to_vec();
                    row.bad = Some("bad_flag");
                }
                // A second row for the month (its other fields from another
                // month's draw); the oracle finds the duplicate.
                BadBene::Duplicate => {}
                // Another birth or death date (an empty one is a value too).
                BadBene::Inconsistent => {
                    let column = 2 + usize::from(style % 2);
                    row.fields[column] = if row.fields[column].is_empty() {
                        b"1949-12-31".to_vec()
                    } else if style >= 4 {
                        Vec::new()
                    } else {
                        b"1949-12-31".to_vec()
                    };
                }
            }
            rows.push(row);
        }
    }
    rows
}

/// The column order of a beneficiaries file.
fn column_order(world: &World, file: usize) -> Vec<usize> {
    if file == 1 && world.reordered_columns {
        vec![10, 3, 0, 9, 8, 2, 7, 6, 1, 5, 4]
    } else {
        (0..BENE_COLUMNS.len()).collect()
    }
}

/// The bytes of the two beneficiaries files, and each row's `(file, row)`.
fn bene_files(world: &World, rows: &[BeneRow]) -> ([Vec<u8>; 2], Vec<(usize, u64)>) {
    let mut files = [Vec::new(), Vec::new()];
    let mut next_row = [2u64, 2];
    let mut places = Vec::new();
    for (f, file) in files.iter_mut().enumerate() {
        let header: Vec<&str> = column_order(world, f)
            .iter()
            .map(|&c| BENE_COLUMNS[c])
            .collect();
        file.extend_from_slice(header.join(",").as_bytes());
        file.push(b'\n');
    }
    for row in rows {
        let order = column_order(world, row.file);
        let mut fields: Vec<&[u8]> = order.iter().map(|&c| row.fields[c].as_slice()).collect();
        if row.short {
            fields.pop();
        }
        let file = &mut files[row.file];
        file.extend_from_slice(&fields.join(&b","[..]));
        file.push(b'\n');
        places.push((row.file, next_row[row.file]));
        next_row[row.file] += 1;
    }
    (files, places)
}

/// What the beneficiaries files hold once checked: the reason of each
/// rejected row, and each beneficiary's accepted months.
#[derive(Debug, Default)]
struct Enrollment {
    /// Per row of `bene_rows`: `None` accepted, else the reason.
    reasons: Vec<Option<&'static str>>,
    /// Accepted rows per beneficiary: birth, death, and per month the
    /// fields.
    benes: HashMap<String, Accepted>,
}

#[derive(Debug, Default)]
struct Accepted {
    birth: String,
    death: String,
    months: BTreeMap<i32, Vec<String>>,
}

fn enrollment(rows: &[BeneRow]) -> Enrollment {
    let mut reasons: Vec<Option<&'static str>> = rows.iter().map(|r| r.bad).collect();
    // Per beneficiary, among the rows that passed: duplicate months.
    let mut by_bene: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        if row.bad.is_none() {
            by_bene.entry(&row.bene).or_default().push(i);
        }
    }
    let mut benes = HashMap::new();
    for (bene, indexes) in by_bene {
        let mut per_month: BTreeMap<i32, usize> = BTreeMap::new();
        for &i in &indexes {
            *per_month.entry(rows[i].month).or_default() += 1;
        }
        let mut left = Vec::new();
        for &i in &indexes {
            if per_month[&rows[i].month] > 1 {
                reasons[i] = Some("duplicate_month");
            } else {
                left.push(i);
            }
        }
        let text = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap().trim().to_owned();
        // Dates as `YYYY-MM-DD`, whichever way they were written.
        let day = |b: &[u8]| {
            let t = text(b).replace('-', "");
            if t.is_empty() {
                t
            } else {
                format!("{}-{}-{}", &t[..4], &t[4..6], &t[6..])
            }
        };
        let dates: BTreeSet<(String, String)> = left
            .iter()
            .map(|&i| (day(&rows[i].fields[2]), day(&rows[i].fields[3])))
            .collect();
        if dates.len() > 1 {
            for &i in &left {
                reasons[i] = Some("inconsistent_beneficiary");
            }
            continue;
        }
        let Some(&first) = left.first() else { continue };
        let accepted = Accepted {
            birth: day(&rows[first].fields[2]),
            death: day(&rows[first].fields[3]),
            months: left
                .iter()
                .map(|&i| {
                    (
                        rows[i].month,
                        rows[i].fields.iter().map(|f| text(f)).collect(),
                    )
                })
                .collect(),
        };
        benes.insert(bene.to_owned(), accepted);
    }
    Enrollment { reasons, benes }
}

// ---------------------------------------------------------------------------
// Definitions, prices, risk factors, participants, settlement.

fn definition(world: &World, t: usize) -> String {
    let def = &world.defs[t];
    let (id, post, _) = TYPES[t];
    let trigger = if id == "LEJR" {
        "drg = [\"469\", \"470\"]\nhcpcs = [\"27447\"]\nprice_groups = { \"469\" = \"MCC\", \"470\" = \"NOMCC\", \"27447\" = \"OP\" }"
    } else {
        "drg = [\"291\", \"292\"]"
    };
    let overlap = if world.overlap {
        "overlap_group = \"TEAM\""
    } else {
        ""
    };
    let list = |names: &[usize], from: &[&str]| {
        names
            .iter()
            .map(|&i| format!("\"{}\"", from[i]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!(
        "id = \"{id}\"\n\n[trigger]\n{trigger}\n{overlap}\n\n[window]\nlookback_days = {}\npost_days = {post}\n\n[include]\nclaim_types = [\"IP\", \"SNF\", \"HHA\", \"HOS\", \"OP\", \"PB\", \"DME\"]\nprorate = [\"SNF\", \"HHA\", \"HOS\"]\n\n[exclude]\ndrg = [\"871\"]\nhcpcs = [\"J9035\"]\nprincipal_dx = [\"C50*\"]\n\n",
        def.lookback
    );
    if let Some(e) = &def.eligibility {
        text.push_str(&format!(
            "[eligibility]\nmonths_before = {}\nrequire = [{}]\nexclude = [{}]\n",
            e.months_before,
            list(&e.require, &FLAGS),
            list(&e.exclude, &FLAGS)
        ));
        match (e.death, e.explicit_ignore) {
            (1, _) => text.push_str("death = \"anchor\"\n"),
            (2, _) => text.push_str("death = \"episode\"\n"),
            (_, true) => text.push_str("death = \"ignore\"\n"),
            _ => {}
        }
        text.push('\n');
    }
    if let Some(factors) = &def.risk {
        let bands: Vec<String> = factors
            .iter()
            .filter_map(|&f| {
                bands(def, f).map(|b| {
                    let edges: Vec<String> = b.iter().map(i64::to_string).collect();
                    format!("{} = [{}]", FACTORS[f], edges.join(", "))
                })
            })
            .collect();
        text.push_str(&format!(
            "[risk]\nfactors = [{}]\nbands = {{ {} }}\n\n",
            list(factors, &FACTORS),
            bands.join(", ")
        ));
    }
    text.push_str(&format!(
        "[pricing]\nperiod = \"{}\"\nperiod_date = \"{}\"\ndiscount = \"{}\"\n",
        if world.quarter { "quarter" } else { "year" },
        if def.anchor_end {
            "anchor_end"
        } else {
            "episode_end"
        },
        DISCOUNTS[def.discount].0
    ));
    let (high, low) = percentiles(def);
    let tenths = |p: i64| format!("\"{}.{}\"", p / 10, p % 10);
    if let Some(p) = high {
        text.push_str(&format!("high_cost_percentile = {}\n", tenths(p)));
    }
    if let Some(p) = low {
        text.push_str(&format!("low_cost_percentile = {}\n", tenths(p)));
    }
    for (key, share) in [("stop_gain", def.stop_gain), ("stop_loss", def.stop_loss)] {
        if let Some(s) = share {
            text.push_str(&format!("{key} = \"{}\"\n", SHARES[s].0));
        }
    }
    text
}

/// High and low percentiles in tenths; a floor not below the cap is
/// dropped (it would be an invalid definition).
fn percentiles(def: &DefGen) -> (Option<i64>, Option<i64>) {
    let high = HIGH[def.high];
    let low = LOW[def.low].filter(|l| high.is_none_or(|h| *l < h));
    (high, low)
}

/// The price slot of `(type, group, period)`.
fn price_slot(t: usize, group: usize, period: usize) -> usize {
    let base = if t == 0 { 0 } else { 2 };
    (base + group) * 8 + period
}

fn price_file(world: &World, pricing: &PricingGen) -> String {
    let mut out = String::from("episode_type,provider_id,price_group,period,target_price\n");
    for (t, (id, _, groups)) in TYPES.iter().enumerate() {
        for (g, group) in groups.iter().enumerate() {
            for (p, period) in periods(world.quarter).iter().enumerate() {
                let (star, own) = pricing.prices[price_slot(t, g, p)];
                if let Some(price) = star {
                    out.push_str(&format!("{id},*,{group},{period},{}\n", money(price)));
                }
                if let Some(price) = own {
                    out.push_str(&format!("{id},P1,{group},{period},{}\n", money(price)));
                }
            }
        }
    }
    out
}

/// The price the contract's lookup finds (3.2), in cents.
fn price_of(
    world: &World,
    pricing: &PricingGen,
    t: usize,
    provider: &str,
    group: &str,
    period: &str,
) -> Option<i64> {
    let g = TYPES[t].2.iter().position(|x| *x == group)?;
    let p = periods(world.quarter).iter().position(|x| x == period)?;
    let (star, own) = pricing.prices[price_slot(t, g, p)];
    match own {
        Some(price) if provider == "P1" => Some(price),
        _ => star,
    }
}

/// The slot of a `(scope, factor, level)` risk row: scope 0 is `*`, 1 CHF,
/// 2 LEJR.
fn risk_slot(scope: usize, factor: usize, level: usize) -> usize {
    let levels: usize = LEVELS.iter().map(|l| l.len()).sum();
    let before: usize = LEVELS[..factor].iter().map(|l| l.len()).sum();
    scope * levels + before + level
}

fn risk_file(pricing: &PricingGen) -> String {
    let mut out = String::from("episode_type,factor,level,multiplier\n");
    for (scope, name) in ["*", "CHF", "LEJR"].iter().enumerate() {
        for (f, factor) in FACTORS.iter().enumerate() {
            for (l, level) in LEVELS[f].iter().enumerate() {
                if let Some(m) = pricing.risk[risk_slot(scope, f, l)] {
                    out.push_str(&format!("{name},{factor},{level},{}\n", MULTIPLIERS[m].0));
                }
            }
        }
    }
    out
}

/// The multiplier of a factor level for type `t`, in thousandths.
fn multiplier_of(pricing: &PricingGen, t: usize, factor: usize, level: &str) -> Option<i128> {
    let l = LEVELS[factor].iter().position(|x| *x == level)?;
    pricing.risk[risk_slot(1 + t, factor, l)]
        .or(pricing.risk[risk_slot(0, factor, l)])
        .map(|m| MULTIPLIERS[m].1)
}

fn participants_file(world: &World, pricing: &PricingGen) -> String {
    let mut out = String::from("provider_id,period,track,quality_score\n");
    for (p, provider) in PROVIDERS.iter().enumerate() {
        for (q, period) in periods(world.quarter).iter().enumerate() {
            if let Some((track, score)) = pricing.participants[p * 8 + q] {
                out.push_str(&format!(
                    "{provider},{period},{},{}\n",
                    TRACKS[track], SCORES[score].0
                ));
            }
        }
    }
    out
}

fn participant_of(
    world: &World,
    pricing: &PricingGen,
    provider: &str,
    period: &str,
) -> Option<(usize, usize)> {
    let p = PROVIDERS.iter().position(|x| *x == provider)?;
    let q = periods(world.quarter).iter().position(|x| x == period)?;
    pricing.participants[p * 8 + q]
}

fn settlement_file(pricing: &PricingGen) -> String {
    let mut out = String::new();
    for (name, track) in TRACKS.iter().zip(&pricing.tracks) {
        out.push_str(&format!("[track.{name}]\n"));
        for (key, share) in [
            ("stop_gain", track.stop_gain),
            ("stop_loss", track.stop_loss),
            ("quality_gain", track.quality_gain),
            ("quality_loss", track.quality_loss),
        ] {
            if let Some(s) = share {
                out.push_str(&format!("{key} = \"{}\"\n", SHARES[s].0));
            }
        }
        out.push('\n');
    }
    out
}

fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

// ---------------------------------------------------------------------------
// Cases and runs.

/// A world on disk, with the test's knowledge of it.
struct Scene {
    case: Case,
    world: World,
    rows: Vec<Row>,
    bene_rows: Vec<BeneRow>,
    /// `(file, row)` of each beneficiaries row.
    places: Vec<(usize, u64)>,
    enrollment: Enrollment,
}

const CLAIMS_FILES: [&str; 2] = ["claims_0.csv", "claims_1.csv"];
const BENE_FILES: [&str; 2] = ["beneficiaries_0.csv", "beneficiaries_1.csv"];

fn scene(world: &World, other: Option<&PricingGen>) -> Scene {
    let case = Case::empty();
    let rows = render(&world.claims);
    for (f, name) in CLAIMS_FILES.iter().enumerate() {
        let mine: String = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| usize::from(world.claim_split[i % world.claim_split.len()]) == f)
            .map(|(_, r)| format!("{}\n", r.text))
            .collect();
        case.write(name, &format!("{CLAIMS_HEADER}\n{mine}"));
    }
    let bene_rows = bene_rows(world);
    let (mut files, places) = bene_files(world, &bene_rows);
    if let Some(f) = world.bad_csv {
        files[usize::from(f)].extend_from_slice(b"B1,\"2026-01,,,Y,Y,N,N,N,north,1");
    }
    for (name, bytes) in BENE_FILES.iter().zip(&files) {
        case.write_bytes(name, bytes);
    }
    for (t, (id, _, _)) in TYPES.iter().enumerate() {
        case.write(
            &format!("definitions/{}.toml", id.to_lowercase()),
            &definition(world, t),
        );
    }
    let write_pricing = |suffix: &str, pricing: &PricingGen| {
        case.write(&format!("prices_{suffix}.csv"), &price_file(world, pricing));
        case.write(&format!("risk_{suffix}.csv"), &risk_file(pricing));
        case.write(
            &format!("participants_{suffix}.csv"),
            &participants_file(world, pricing),
        );
        case.write(
            &format!("settlement_{suffix}.toml"),
            &settlement_file(pricing),
        );
    };
    write_pricing("a", &world.pricing);
    if let Some(other) = other {
        write_pricing("b", other);
    }
    let enrollment = enrollment(&bene_rows);
    Scene {
        case,
        world: world.clone(),
        rows,
        bene_rows,
        places,
        enrollment,
    }
}

/// How one run is made.
#[derive(Clone, Copy, Debug)]
struct How {
    threads: usize,
    claims_reversed: bool,
    benes_reversed: bool,
    memory_limit: Option<u64>,
    /// Price with the "b" files.
    other: bool,
}

const PLAIN: How = How {
    threads: 1,
    claims_reversed: false,
    benes_reversed: false,
    memory_limit: None,
    other: false,
};

/// The loaded pricing inputs of suffix "a" or "b".
struct Loaded {
    prices: TargetPrices,
    risk_factors: RiskFactors,
    settlement: Option<SettlementInputs>,
}

impl Scene {
    fn pricing(&self, other: Option<&PricingGen>) -> (&'static str, PricingGen) {
        match other {
            Some(p) => ("b", p.clone()),
            None => ("a", self.world.pricing.clone()),
        }
    }

    fn load(&self, suffix: &str, settle: bool) -> Loaded {
        let path = |name: &str| self.case.path(name);
        let settlement = settle.then(|| {
            let settlement = Settlement::load(&path(&format!("settlement_{suffix}.toml")))
                .expect("valid settlement");
            let participants =
                Participants::load(&path(&format!("participants_{suffix}.csv")), &settlement)
                    .expect("valid participants");
            SettlementInputs {
                participants,
                settlement,
            }
        });
        Loaded {
            prices: TargetPrices::load(&path(&format!("prices_{suffix}.csv")))
                .expect("valid prices"),
            risk_factors: RiskFactors::load(&path(&format!("risk_{suffix}.csv")))
                .expect("valid risk factors"),
            settlement,
        }
    }

    fn definitions(&self) -> Vec<definitions::EpisodeDefinition> {
        definitions::load_dir(&self.case.path("definitions")).expect("valid definitions")
    }

    /// Runs `reconcile` through the library.
    fn run(&self, how: How, other: Option<&PricingGen>) -> Reconciliation {
        let (suffix, pricing) = if how.other {
            self.pricing(other)
        } else {
            self.pricing(None)
        };
        let loaded = self.load(suffix, pricing.settle);
        let files = |names: &[&str; 2], reversed: bool| -> Vec<PathBuf> {
            let mut paths: Vec<PathBuf> = names.iter().map(|n| self.case.path(n)).collect();
            if reversed {
                paths.reverse();
            }
            paths
        };
        let spill = self.case.path("spill");
        std::fs::create_dir_all(&spill).expect("spill folder");
        let inputs = Inputs {
            memory_limit: how.memory_limit,
            spill_dir: spill,
            beneficiaries: Input::files(files(&BENE_FILES, how.benes_reversed)),
            risk_factors: Some(loaded.risk_factors),
            settlement: loaded.settlement,
            ..Inputs::new(
                files(&CLAIMS_FILES, how.claims_reversed),
                self.definitions(),
                loaded.prices,
            )
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(how.threads)
            .build()
            .expect("a pool");
        pool.install(|| reconcile::run(inputs))
            .unwrap_or_else(|e| panic!("the run fails: {e}"))
    }
}

/// Every output of a run as bytes, by file name.
fn outputs(recon: &Reconciliation) -> BTreeMap<&'static str, Vec<u8>> {
    type Writer =
        fn(&Reconciliation, report::CsvView, &mut dyn std::io::Write) -> std::io::Result<()>;
    let mut files: Vec<(&'static str, Writer)> = vec![
        ("episodes.csv", report::write_episodes),
        ("providers.csv", report::write_providers),
        ("ledger.csv", report::write_ledger),
        ("rejects.csv", report::write_rejects),
        ("summary.json", report::write_summary),
    ];
    if recon.participants.is_some() {
        files.push(("participants.csv", report::write_participants));
    }
    files
        .into_iter()
        .map(|(name, write)| {
            let mut buffer = Vec::new();
            write(recon, report::CsvView::Exact, &mut buffer).expect("write to memory");
            (name, buffer)
        })
        .collect()
}

/// Every file of a folder as bytes, by name.
fn folder(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let entry = entry.expect("an entry");
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).expect("read output"),
            )
        })
        .collect()
}

/// The first file that differs between two sets of outputs, shown.
fn difference<K: Ord + std::fmt::Display>(
    a: &BTreeMap<K, Vec<u8>>,
    b: &BTreeMap<K, Vec<u8>>,
) -> Option<String> {
    let names = |m: &BTreeMap<K, Vec<u8>>| m.keys().map(|k| k.to_string()).collect::<Vec<_>>();
    if names(a) != names(b) {
        return Some(format!("files {:?} vs {:?}", names(a), names(b)));
    }
    a.iter()
        .zip(b)
        .find(|((_, x), (_, y))| x != y)
        .map(|((name, x), (_, y))| {
            format!(
                "{name} differs\n--- left:\n{}\n--- right:\n{}",
                String::from_utf8_lossy(x),
                String::from_utf8_lossy(y)
            )
        })
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("UTF-8 output")
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

// ---------------------------------------------------------------------------
// The episode oracle (2.7, 3.1 to 3.5).

/// What the contract says of one episode, given the engine's list of
/// episodes (which episodes rule 3 opens is pinned elsewhere).
#[derive(Debug, PartialEq, Eq)]
struct EpisodeFacts {
    period: String,
    status: &'static str,
    cancel_reason: String,
    risk_levels: String,
    risk_multiplier: String,
    target_price: String,
}

fn anchor_days(scene: &Scene, t: usize, anchor: &str, end: i32) -> (i32, i32) {
    let anchor_end = end - (TYPES[t].1 - 1);
    let index: usize = anchor[1..].parse().expect("claim ids are C<n>");
    let start = if scene.world.claims[index].kind == Kind::Ip {
        scene
            .rows
            .iter()
            .find(|r| r.claim == index)
            .expect("the anchor's rows")
            .service
            .0
    } else {
        anchor_end
    };
    (start, anchor_end)
}

fn cancel_reason(
    eligibility: &Eligibility,
    accepted: Option<&Accepted>,
    (anchor_start, anchor_end, end): (i32, i32, i32),
) -> Option<String> {
    let death = accepted
        .filter(|a| !a.death.is_empty())
        .map(|a| day_of(&a.death));
    if let Some(death) = death {
        let limit = match eligibility.death {
            1 => Some(anchor_end),
            2 => Some(end),
            _ => None,
        };
        if limit.is_some_and(|l| death <= l) {
            return Some("death".into());
        }
    }
    let first = month_of(anchor_start) - eligibility.months_before;
    let last = month_of(death.map_or(end, |d| d.min(end)));
    let months: Vec<Option<&Vec<String>>> = (first..=last)
        .map(|m| accepted.and_then(|a| a.months.get(&m)))
        .collect();
    if months.iter().any(Option::is_none) {
        return Some("no_enrollment".into());
    }
    let flag = |row: &Option<&Vec<String>>, f: usize| row.unwrap()[4 + f].to_uppercase();
    for &f in &eligibility.require {
        if months.iter().any(|m| flag(m, f) != "Y") {
            return Some(FLAGS[f].into());
        }
    }
    for &f in &eligibility.exclude {
        if months.iter().any(|m| flag(m, f) == "Y") {
            return Some(FLAGS[f].into());
        }
    }
    None
}

fn band_level(value: i64, bands: &[i64]) -> String {
    if value < bands[0] {
        return format!("<{}", bands[0]);
    }
    let last = *bands.last().unwrap();
    if value >= last {
        return format!("{last}+");
    }
    let i = bands.iter().rposition(|b| *b <= value).unwrap();
    let (low, high) = (bands[i], bands[i + 1]);
    if high == low + 1 {
        low.to_string()
    } else {
        format!("{low}-{}", high - 1)
    }
}

fn integer(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn risk_level(
    def: &DefGen,
    factor: usize,
    accepted: Option<&Accepted>,
    anchor_start: i32,
) -> Option<String> {
    let accepted = accepted?;
    let value: i64 = if FACTORS[factor] == "age" {
        if accepted.birth.is_empty() {
            return None;
        }
        let (by, bm, bd): (i32, i32, i32) = (
            accepted.birth[..4].parse().unwrap(),
            accepted.birth[5..7].parse().unwrap(),
            accepted.birth[8..10].parse().unwrap(),
        );
        let (ay, am, ad) = ymd(anchor_start);
        let birthday = if (bm, bd) == (2, 29) && !is_leap(ay) {
            (3, 1)
        } else {
            (bm, bd)
        };
        i64::from(ay - by - i32::from((am, ad) < birthday))
    } else {
        let row = accepted.months.get(&month_of(anchor_start))?;
        let column = BENE_COLUMNS
            .iter()
            .position(|c| *c == FACTORS[factor])
            .unwrap();
        let value = &row[column];
        if value.is_empty() {
            return None;
        }
        match bands(def, factor) {
            None if FLAGS.contains(&FACTORS[factor]) => return Some(value.to_uppercase()),
            None => return Some(value.clone()),
            Some(_) => integer(value)?,
        }
    };
    Some(band_level(value, bands(def, factor).unwrap()))
}

/// A product of multipliers in thousandths, written as the contract asks:
/// a plain decimal without trailing zeros.
fn decimal_text(numerator: i128, decimals: u32) -> String {
    let scale = 10i128.pow(decimals);
    let (whole, fraction) = (numerator / scale, numerator % scale);
    if fraction == 0 {
        return whole.to_string();
    }
    let fraction = format!("{fraction:0width$}", width = decimals as usize);
    format!("{whole}.{}", fraction.trim_end_matches('0'))
}

/// `(facts, effective target in cents)` of an episode row.
fn facts(scene: &Scene, pricing: &PricingGen, e: &[&str]) -> (EpisodeFacts, Option<i64>) {
    let world = &scene.world;
    let t = TYPES
        .iter()
        .position(|x| x.0 == e[1])
        .expect("a known type");
    let def = &world.defs[t];
    let end = day_of(e[7]);
    let (anchor_start, anchor_end) = anchor_days(scene, t, e[4], end);
    let period = period_of(if def.anchor_end { anchor_end } else { end }, world.quarter);
    let accepted = scene.enrollment.benes.get(e[2]);
    let reason = def
        .eligibility
        .as_ref()
        .and_then(|el| cancel_reason(el, accepted, (anchor_start, anchor_end, end)));
    if let Some(reason) = reason {
        let facts = EpisodeFacts {
            period,
            status: "canceled",
            cancel_reason: reason,
            risk_levels: String::new(),
            risk_multiplier: String::new(),
            target_price: String::new(),
        };
        return (facts, None);
    }
    let price = price_of(world, pricing, t, e[3], e[5], &period);
    let (mut levels, mut product, mut complete) = (Vec::new(), 1000i128, true);
    let mut decimals = 3;
    if let Some(factors) = &def.risk {
        product = 1;
        decimals = 0;
        for &f in factors {
            let level = risk_level(def, f, accepted, anchor_start);
            levels.push(format!(
                "{}={}",
                FACTORS[f],
                level.clone().unwrap_or_default()
            ));
            match level.and_then(|l| multiplier_of(pricing, t, f, &l)) {
                Some(m) => {
                    product *= m;
                    decimals += 3;
                }
                None => complete = false,
            }
        }
    }
    let status = match (price, complete) {
        (None, _) => "no_target_price",
        (Some(_), false) => "no_risk_factor",
        (Some(_), true) => "priced",
    };
    let target = price.filter(|_| complete).map(|price| {
        let discount = i128::from(10_000 - DISCOUNTS[def.discount].1);
        round_div(
            i128::from(price) * product * discount,
            10i128.pow(decimals) * 10_000,
        )
    });
    let facts = EpisodeFacts {
        period,
        status,
        cancel_reason: String::new(),
        risk_levels: levels.join(";"),
        risk_multiplier: if complete {
            decimal_text(product, decimals)
        } else {
            String::new()
        },
        target_price: price.map(money).unwrap_or_default(),
    };
    (facts, target)
}

/// Checks episodes, ledger, providers, participants and the summary of a
/// run against the oracle; `pricing` is what the run was priced with.
fn check_figures(
    scene: &Scene,
    pricing: &PricingGen,
    out: &BTreeMap<&'static str, Vec<u8>>,
) -> Result<(), TestCaseError> {
    let world = &scene.world;
    let summary: serde_json::Value =
        serde_json::from_slice(&out["summary.json"]).expect("summary.json is JSON");
    prop_assert_eq!(&summary["check"], &serde_json::Value::Bool(true), "check");

    // Ledger rows per episode.
    let mut ledger: BTreeMap<&str, (u64, i64)> = BTreeMap::new();
    for line in text(&out["ledger.csv"]).lines().skip(1) {
        let f = fields(line);
        let entry = ledger.entry(f[0]).or_default();
        entry.0 += 1;
        entry.1 += super::cents(f[5]);
    }
    let episodes: Vec<Vec<&str>> = text(&out["episodes.csv"])
        .lines()
        .skip(1)
        .map(fields)
        .collect();
    let mut canceled_by_reason: BTreeMap<String, u64> = BTreeMap::new();
    // Actual spending per (type, group, period) of episodes not canceled.
    let mut spending: BTreeMap<(&str, &str, String), Vec<i64>> = BTreeMap::new();
    let mut targets: Vec<Option<i64>> = Vec::new();
    let mut inside: BTreeMap<&str, i64> = BTreeMap::new();
    for e in &episodes {
        prop_assert_eq!(e.len(), 19, "episode row {:?}", e);
        let (expected, target) = facts(scene, pricing, e);
        let got = EpisodeFacts {
            period: e[8].to_owned(),
            status: match e[9] {
                "priced" => "priced",
                "no_target_price" => "no_target_price",
                "no_risk_factor" => "no_risk_factor",
                "canceled" => "canceled",
                other => return Err(TestCaseError::fail(format!("status {other}"))),
            },
            cancel_reason: e[15].to_owned(),
            risk_levels: e[16].to_owned(),
            risk_multiplier: e[17].to_owned(),
            target_price: e[18].to_owned(),
        };
        prop_assert_eq!(&got, &expected, "episode {:?}", e);
        let (lines, included) = ledger.get(e[0]).copied().unwrap_or_default();
        prop_assert_eq!(
            e[10].parse::<u64>().unwrap(),
            lines,
            "claim_lines of {:?}",
            e
        );
        if e[9] == "canceled" {
            *canceled_by_reason.entry(e[15].to_owned()).or_default() += 1;
            prop_assert_eq!(lines, 0, "a canceled episode has ledger rows: {:?}", e);
            prop_assert_eq!(
                (e[11], e[12], e[13], e[14]),
                ("", "", "", ""),
                "a canceled episode has amounts: {:?}",
                e
            );
        } else {
            prop_assert_eq!(super::cents(e[11]), included, "actual of {:?}", e);
            *inside.entry(e[1]).or_default() += included;
            spending
                .entry((e[1], e[5], e[8].to_owned()))
                .or_default()
                .push(included);
        }
        targets.push(target);
    }
    for list in spending.values_mut() {
        list.sort_unstable();
    }
    prop_assert!(
        ledger.keys().all(|k| episodes.iter().any(|e| e[0] == *k)),
        "ledger rows of unknown episodes"
    );

    // Caps, floors, targets, gains; provider and participant totals.
    type Totals = (u64, i64, i64, i64);
    let mut per_provider: BTreeMap<(&str, &str, &str), Totals> = BTreeMap::new();
    let mut per_participant: BTreeMap<(&str, &str), Totals> = BTreeMap::new();
    for (e, target) in episodes.iter().zip(&targets) {
        if e[9] == "canceled" {
            continue;
        }
        let t = TYPES.iter().position(|x| x.0 == e[1]).unwrap();
        let list = &spending[&(e[1], e[5], e[8].to_owned())];
        let n = list.len() as i64;
        let at = |tenths: i64| list[usize::try_from((tenths * n + 999) / 1000 - 1).unwrap()];
        let (high, low) = percentiles(&world.defs[t]);
        let actual = super::cents(e[11]);
        let mut capped = actual;
        if let Some(h) = high {
            capped = capped.min(at(h));
        }
        if let Some(l) = low {
            capped = capped.max(at(l));
        }
        prop_assert_eq!(super::cents(e[12]), capped, "capped of {:?}", e);
        match target {
            Some(target) => {
                prop_assert_eq!(super::cents(e[13]), *target, "target of {:?}", e);
                prop_assert_eq!(super::cents(e[14]), target - capped, "gain_loss of {:?}", e);
                let p = per_provider.entry((e[3], e[1], e[8])).or_default();
                *p = (p.0 + 1, p.1 + target, p.2 + actual, p.3 + capped);
                let q = per_participant.entry((e[3], e[8])).or_default();
                *q = (q.0 + 1, q.1 + target, q.2 + actual, q.3 + capped);
            }
            None => prop_assert_eq!((e[13], e[14]), ("", ""), "unpriced {:?}", e),
        }
    }

    // providers.csv (3.5).
    let providers: Vec<Vec<&str>> = text(&out["providers.csv"])
        .lines()
        .skip(1)
        .map(fields)
        .collect();
    let keys: Vec<(&str, &str, &str)> = providers.iter().map(|p| (p[0], p[1], p[2])).collect();
    prop_assert_eq!(
        keys,
        per_provider.keys().copied().collect::<Vec<_>>(),
        "provider rows"
    );
    for p in &providers {
        let t = TYPES.iter().position(|x| x.0 == p[1]).unwrap();
        let def = &world.defs[t];
        let (count, target, actual, capped) = per_provider[&(p[0], p[1], p[2])];
        let net = target - capped;
        let (limit, amount) = limited(
            net,
            target,
            def.stop_gain.map(|s| SHARES[s].1),
            def.stop_loss.map(|s| SHARES[s].1),
        );
        let expected = vec![
            p[0].to_owned(),
            p[1].to_owned(),
            p[2].to_owned(),
            count.to_string(),
            money(target),
            money(actual),
            money(capped),
            money(net),
            limit.to_owned(),
            money(amount),
        ];
        prop_assert_eq!(
            p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
            expected,
            "provider row"
        );
    }

    // participants.csv (3.6).
    check_participants(scene, pricing, out, &summary, &per_participant)?;

    // Summary: episodes by status and reason; money splits per type.
    let count = |status: &str| episodes.iter().filter(|e| e[9] == status).count() as u64;
    for status in ["priced", "no_target_price", "no_risk_factor", "canceled"] {
        prop_assert_eq!(
            summary["episodes"][status].as_u64(),
            Some(count(status)),
            "{}",
            status
        );
    }
    let reasons: BTreeMap<String, u64> = summary["canceled_by_reason"]
        .as_object()
        .expect("canceled_by_reason")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    prop_assert_eq!(reasons, canceled_by_reason, "canceled_by_reason");
    let final_action = json_cents(&summary["amounts"]["final_action"]);
    for (id, _, _) in TYPES {
        let s = &summary["episode_types"][id];
        let (fa, ins, outs) = (
            json_cents(&s["final_action_amount"]),
            json_cents(&s["inside_amount"]),
            json_cents(&s["outside_amount"]),
        );
        prop_assert_eq!(fa, final_action, "{} final_action_amount", id);
        prop_assert_eq!(ins + outs, fa, "{}: inside + outside", id);
        prop_assert_eq!(ins, inside.get(id).copied().unwrap_or(0), "{} inside", id);
        prop_assert_eq!(&s["adds_up"], &serde_json::Value::Bool(true));
        let canceled = episodes
            .iter()
            .filter(|e| e[1] == id && e[9] == "canceled")
            .count();
        prop_assert_eq!(
            s["canceled"].as_u64(),
            Some(canceled as u64),
            "{} canceled",
            id
        );
    }
    Ok(())
}

/// Stop-gain and stop-loss of 3.5 and 3.6: `(limit, amount)`; shares in
/// ten-thousandths, limits rounded to cents, binding only strictly beyond.
fn limited(amount: i64, target: i64, gain: Option<i64>, loss: Option<i64>) -> (&'static str, i64) {
    let high = gain.map(|g| round_div(i128::from(target) * i128::from(g), 10_000));
    let low = loss.map(|l| -round_div(i128::from(target) * i128::from(l), 10_000));
    match (high, low) {
        (Some(h), _) if amount > h => ("stop_gain", h),
        (_, Some(l)) if amount < l => ("stop_loss", l),
        _ => ("none", amount),
    }
}

fn check_participants(
    scene: &Scene,
    pricing: &PricingGen,
    out: &BTreeMap<&'static str, Vec<u8>>,
    summary: &serde_json::Value,
    per_participant: &BTreeMap<(&str, &str), (u64, i64, i64, i64)>,
) -> Result<(), TestCaseError> {
    if !pricing.settle {
        prop_assert!(
            !out.contains_key("participants.csv"),
            "participants.csv without --participants"
        );
        prop_assert_eq!(&summary["participants"], &serde_json::Value::Null);
        return Ok(());
    }
    let rows: Vec<Vec<&str>> = text(&out["participants.csv"])
        .lines()
        .skip(1)
        .map(fields)
        .collect();
    let mut expected_rows = Vec::new();
    let (mut unsettled, mut net_total) = (0u64, 0i64);
    for (&(provider, period), &(count, target, _, capped)) in per_participant {
        let Some((track, score)) = participant_of(&scene.world, pricing, provider, period) else {
            unsettled += 1;
            continue;
        };
        let draws = &pricing.tracks[track];
        let share = |s: Option<usize>| i128::from(s.map_or(0, |s| SHARES[s].1));
        let s = i128::from(SCORES[score].1);
        let r = target - capped;
        // Q = R × (1 − rate × part / 100): rate in 10^-4, score in 10^-2.
        let q = match r.cmp(&0) {
            std::cmp::Ordering::Greater => round_div(
                i128::from(r) * (100_000_000 - share(draws.quality_gain) * (10_000 - s)),
                100_000_000,
            ),
            std::cmp::Ordering::Less => round_div(
                i128::from(r) * (100_000_000 - share(draws.quality_loss) * s),
                100_000_000,
            ),
            std::cmp::Ordering::Equal => 0,
        };
        let (limit, net) = limited(
            q,
            target,
            draws.stop_gain.map(|s| SHARES[s].1),
            draws.stop_loss.map(|s| SHARES[s].1),
        );
        // The invariant, apart from the formula: the net lies within the
        // track's limits of the target total.
        if let Some(g) = draws.stop_gain {
            prop_assert!(net <= round_div(i128::from(target) * i128::from(SHARES[g].1), 10_000));
        }
        if let Some(l) = draws.stop_loss {
            prop_assert!(net >= -round_div(i128::from(target) * i128::from(SHARES[l].1), 10_000));
        }
        net_total += net;
        expected_rows.push(vec![
            provider.to_owned(),
            period.to_owned(),
            TRACKS[track].to_owned(),
            SCORES[score].0.to_owned(),
            count.to_string(),
            money(target),
            money(capped),
            money(r),
            money(q),
            limit.to_owned(),
            money(net),
        ]);
    }
    let got: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
        .collect();
    prop_assert_eq!(got, expected_rows, "participants.csv");
    let p = &summary["participants"];
    let settled = rows.len() as u64;
    prop_assert_eq!(p["settled"].as_u64(), Some(settled), "participants.settled");
    prop_assert_eq!(
        p["unsettled"].as_u64(),
        Some(unsettled),
        "participants.unsettled"
    );
    prop_assert_eq!(
        settled + unsettled,
        per_participant.len() as u64,
        "settled + unsettled = (provider, period) pairs with a priced episode"
    );
    let rows_total: i64 = rows.iter().map(|r| super::cents(r[10])).sum();
    prop_assert_eq!(rows_total, net_total);
    prop_assert_eq!(
        json_cents(&p["net_payment_reconciliation"]),
        rows_total,
        "net_payment_reconciliation"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// The properties.

proptest! {
    #![proptest_config(config(64))]

    /// Determinism (the contract's preamble) with the new inputs: every
    /// output, `participants.csv` and `summary.json` included, is the same
    /// bytes whatever the thread count (1, 2, 4), the order in which the
    /// claims files and the beneficiaries files are given, and the memory
    /// limit (none, or small enough to spill).
    #[test]
    fn outputs_do_not_depend_on_threads_file_order_or_memory_limit(
        world in world_strategy(),
        threads in prop::sample::select(vec![2usize, 4]),
        claims_reversed in any::<bool>(),
        benes_reversed in any::<bool>(),
        memory_limit in prop::sample::select(vec![None, Some(1u64), Some(4 << 10)]),
    ) {
        let scene = scene(&world, None);
        let plain = outputs(&scene.run(PLAIN, None));
        let how = How { threads, claims_reversed, benes_reversed, memory_limit, other: false };
        let other = outputs(&scene.run(how, None));
        if let Some(d) = difference(&plain, &other) {
            return Err(TestCaseError::fail(format!("{how:?}: {d}")));
        }
    }

    /// Beneficiaries rows are never lost (1.5, 5): `read = rejected +
    /// accepted`, `read` is the rows written, each rejected row is in
    /// `rejects.csv` with the file, row and reason the contract's checks
    /// give it (row checks first, then `duplicate_month`, then
    /// `inconsistent_beneficiary`), and the reasons are counted.
    #[test]
    fn every_beneficiaries_row_is_rejected_or_accepted(world in world_strategy()) {
        let scene = scene(&world, None);
        let out = outputs(&scene.run(PLAIN, None));
        let summary: serde_json::Value = serde_json::from_slice(&out["summary.json"]).unwrap();
        let b = &summary["beneficiaries"];
        let written = scene.bene_rows.len() as u64 + u64::from(world.bad_csv.is_some());
        let (read, rejected, accepted) = (b["read"].as_u64().unwrap(), b["rejected"].as_u64().unwrap(), b["accepted"].as_u64().unwrap());
        prop_assert_eq!(read, written, "beneficiaries.read");
        prop_assert_eq!(read, rejected + accepted, "read = rejected + accepted");
        prop_assert_eq!(&b["adds_up"], &serde_json::Value::Bool(true));

        // The oracle's rejects, as (file, row, reason).
        let mut expected: Vec<(String, u64, String)> = Vec::new();
        for (reason, (file, row)) in scene.enrollment.reasons.iter().zip(&scene.places) {
            if let Some(reason) = reason {
                expected.push((BENE_FILES[*file].to_owned(), *row, (*reason).to_owned()));
            }
        }
        if let Some(f) = world.bad_csv {
            let f = usize::from(f);
            let row = scene.places.iter().filter(|p| p.0 == f).count() as u64 + 2;
            expected.push((BENE_FILES[f].to_owned(), row, "bad_csv".to_owned()));
        }
        expected.sort();
        let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
        for (_, _, reason) in &expected {
            *by_reason.entry(reason.clone()).or_default() += 1;
        }
        let got_by_reason: BTreeMap<String, u64> = b["rejected_by_reason"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
        prop_assert_eq!(&got_by_reason, &by_reason, "beneficiaries.rejected_by_reason");
        prop_assert_eq!(got_by_reason.keys().cloned().collect::<Vec<_>>(), by_reason.keys().cloned().collect::<Vec<_>>(), "text order");

        let mut reader = csv::ReaderBuilder::new().from_reader(out["rejects.csv"].as_slice());
        let mut got = Vec::new();
        for record in reader.byte_records() {
            let record = record.expect("rejects.csv is CSV");
            let file = String::from_utf8_lossy(&record[0]).into_owned();
            let Some(name) = BENE_FILES.iter().find(|n| file.ends_with(*n)) else { continue };
            got.push(((*name).to_owned(), String::from_utf8_lossy(&record[1]).parse::<u64>().unwrap(), String::from_utf8_lossy(&record[2]).into_owned()));
        }
        prop_assert_eq!(&got, &expected, "beneficiaries rows in rejects.csv");
        prop_assert_eq!(written - got.len() as u64, accepted, "rejects.csv rows + accepted = data rows");
        // Claims rows are counted apart.
        prop_assert_eq!(summary["rows"]["read"].as_u64(), Some(scene.rows.len() as u64));
    }

    /// Money still adds up with canceled episodes (2.7, 4): the summary's
    /// check holds, per type inside + outside = final-action money and
    /// inside is the sum of the episodes that stand, and a canceled episode
    /// has no ledger row and empty amounts. Beyond that, each episode's
    /// cancel reason, period, status, risk levels and multiplier, target,
    /// cap and floor (2.7, 3.1 to 3.4), each provider row (3.5) and each
    /// participant row (3.6) are what the contract computes from the
    /// inputs.
    #[test]
    fn figures_follow_the_contract_with_cancellations(world in world_strategy()) {
        let scene = scene(&world, None);
        let out = outputs(&scene.run(PLAIN, None));
        check_figures(&scene, &world.pricing, &out)?;
    }

    /// Settlement (3.6) holds on its own inputs: with other random
    /// participants, tracks and scores (and other prices and risk factors),
    /// every net payment lies within [−stop_loss × target total, stop_gain
    /// × target total] rounded to cents, `settled + unsettled` is the
    /// number of (provider, period) pairs with a priced episode of any
    /// type, `settled` the rows of participants.csv, and
    /// `net_payment_reconciliation` their sum.
    #[test]
    fn participants_are_settled_within_their_limits(world in world_strategy(), other in pricing_strategy()) {
        let scene = scene(&world, Some(&other));
        let how = How { other: true, ..PLAIN };
        let out = outputs(&scene.run(how, Some(&other)));
        check_figures(&scene, &other, &out)?;
    }

    /// Repricing (3.x without claims): `reprice` of a run with the run's own
    /// prices, risk factors, participants and settlement writes the run
    /// back byte for byte; with other prices, risk factors, tracks and
    /// quality scores it writes exactly what a full `reconcile` with those
    /// files writes, participants.csv included.
    #[test]
    fn reprice_equals_reconcile_with_the_new_inputs(world in world_strategy(), other in pricing_strategy(), given_definitions in any::<bool>()) {
        let scene = scene(&world, Some(&other));
        let run_a = scene.case.path("run_a");
        report::write_outputs(&scene.run(PLAIN, None), &run_a, false, report::CsvView::Exact).expect("write run a");
        let run_b = scene.case.path("run_b");
        report::write_outputs(&scene.run(How { other: true, ..PLAIN }, Some(&other)), &run_b, false, report::CsvView::Exact).expect("write run b");
        let prior = PriorRun::load(&run_a).expect("run a reads back");
        let definitions = scene.definitions();
        let definitions_dir = scene.case.path("definitions");
        let given = given_definitions.then_some((definitions_dir.as_path(), definitions.as_slice()));
        for (suffix, settle, expected) in [("a", world.pricing.settle, &run_a), ("b", other.settle, &run_b)] {
            let loaded = scene.load(suffix, settle);
            let with = RepriceWith { risk_factors: Some(&loaded.risk_factors), settlement: loaded.settlement.as_ref() };
            let repriced = reprice::reprice(&prior, given, &loaded.prices, &with)
                .unwrap_or_else(|e| panic!("reprice with {suffix}: {e}"));
            let out = scene.case.path(&format!("reprice_{suffix}"));
            reprice::write(&repriced, &prior, &out, false, report::OutputFormat::Csv(report::CsvView::Exact)).expect("write the reprice");
            if let Some(d) = difference(&folder(expected), &folder(&out)) {
                return Err(TestCaseError::fail(format!("reprice with {suffix}: {d}")));
            }
        }
    }
}
