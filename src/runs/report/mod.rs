//! The HTML report of a run (`episode-recon report`): one self-contained
//! page for the people who act on a reconciliation, built from a run
//! folder without its claims.
//!
//! This module owns what the page says and where each figure comes from;
//! [`charts`] draws the pictures and `templates/report.html` lays the page
//! out (escaping every text from the run: ids and rejected records are
//! shown, never interpreted as markup).
//!
//! Episodes, provider and participant rows are read whole through
//! [`PriorRun`], as `true-up` reads them; the ledger and the rejects are
//! streamed ([`stream_table`]): the report keeps one running total per
//! episode and claim category, the ledger lines of the few costliest
//! episodes of each provider and type, and a few examples per reject
//! reason, never the files.
//!
//! Every figure on the page is printed from the run's exact amounts (or
//! checked sums of them) and carries a `data-src` attribute naming where
//! it comes from, so a test can check each against the files:
//! `summary:<dotted key>`, `<file>:<row index>:<column>` (the table's CSV
//! name, `episodes.csv`, whichever format the run was written in, so the
//! page of a Parquet run is its CSV twin's; row index from 0, after the
//! header; `previous/` for the earlier run of a true-up), or
//! one of the derived figures:
//! `cap_effect|limit_effect:providers.csv:<i>`,
//! `quality_effect|track_limit_effect:participants.csv:<i>`,
//! `spend:<category>` (of the provider and type of its section) and
//! `spend:<category>:episodes.csv:<i>`, `rejects:<reason>`, and in the
//! true-up rows `due`, `gain_loss_change` and `changes:<kind>`.

pub mod charts;

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::engine::pricing::{self, Status};
use crate::model::money::{Money, TooLarge};
use crate::output::report;
use crate::runs::prior_run::{self, PriorEpisode, PriorRun, stream_table};
use crate::runs::true_up::{self, Change};
use crate::runtime::cleanup::StagedFile;
use charts::{ChartError, EpisodePoint, Step, dollars};

/// A report that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The run folder (or the previous one) cannot be read back.
    #[error(transparent)]
    Run(#[from] prior_run::Error),
    /// The two runs cannot be compared.
    #[error(transparent)]
    TrueUp(#[from] true_up::Error),
    /// A sum of the run's amounts does not fit.
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    /// The run's summary records a type's pricing that does not read back.
    #[error(
        "{run}: summary.json: the pricing recorded for episode type {id} does not read back; expected the output of `episode-recon reconcile`"
    )]
    BadRecord {
        /// The run folder.
        run: PathBuf,
        /// The type.
        id: String,
    },
    /// `--out` exists and `--force` was not given.
    #[error("{path}: the file exists; expected a new file (use --force to replace it)")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// `--out` would replace a file of the run.
    #[error("{path}: this is a file of the run the report reads; expected a new file")]
    OverwritesRun {
        /// The file.
        path: PathBuf,
    },
    /// The page could not be written.
    #[error("{path}: cannot write the report: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A chart could not be drawn: a bug.
    #[error(transparent)]
    Chart(#[from] ChartError),
    /// The template did not render: a bug.
    #[error("rendering the report page failed: {0}")]
    Template(String),
}

impl crate::error::Classify for Error {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::Run(e) => e.kind(),
            Error::TrueUp(e) => e.kind(),
            Error::TooLarge(e) => e.kind(),
            Error::BadRecord { .. } => ErrorKind::InputData,
            Error::Exists { .. } | Error::OverwritesRun { .. } => ErrorKind::Usage,
            Error::Write { .. } => ErrorKind::Environment,
            Error::Chart(_) | Error::Template(_) => ErrorKind::Internal,
        }
    }
}

/// The page layout, compiled into the binary so the command needs no
/// file beside it.
const TEMPLATE: &str = include_str!("../../../templates/report.html");

/// How many of the costliest episodes of each provider and type the page
/// lists with their ledger lines.
pub const COSTLIEST: usize = 5;

/// How many rejected rows of each reason the page shows as examples.
pub const REJECT_EXAMPLES: usize = 3;

/// How many canceled episodes of each reason the page lists by id.
pub const CANCELED_LISTED: usize = 25;

/// Where an episode's money went, as a reader names it: by claim type,
/// with the anchor stay and readmissions told apart.
pub const CATEGORIES: [&str; 9] = [
    "anchor",
    "readmissions",
    "SNF",
    "home health",
    "hospice",
    "outpatient",
    "Part B",
    "DME",
    "other",
];

/// The category of a ledger line: its disposition first (the anchor's
/// lines), then its claim type (an inpatient stay other than the anchor
/// is a readmission).
pub fn category(claim_type: &str, disposition: &str) -> usize {
    if disposition == "anchor" {
        return 0;
    }
    match claim_type {
        "IP" => 1,
        "SNF" => 2,
        "HHA" => 3,
        "HOS" => 4,
        "OP" => 5,
        "PB" => 6,
        "DME" => 7,
        _ => 8,
    }
}

/// `1234567.89` as `1,234,567.89`: digits grouped in the exact text, never
/// through a float.
pub fn grouped(text: &str) -> String {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (whole, fraction) = match rest.find('.') {
        Some(dot) => rest.split_at(dot),
        None => (rest, ""),
    };
    let mut out = String::with_capacity(text.len() + whole.len() / 3);
    out.push_str(sign);
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out.push_str(fraction);
    out
}

/// A figure on the page: its text and where it comes from.
#[derive(Clone, Debug, Serialize)]
struct Fig {
    text: String,
    src: String,
}

fn money(amount: Money, src: String) -> Fig {
    Fig {
        text: grouped(&amount.to_string()),
        src,
    }
}

fn count(n: u64, src: String) -> Fig {
    Fig {
        text: grouped(&n.to_string()),
        src,
    }
}

/// A figure of the summary, as its JSON holds it (money strings exact).
fn summary_fig(summary: &serde_json::Value, key: &str) -> Fig {
    let value = key
        .split('.')
        .fold(summary, |v, k| v.get(k).unwrap_or(&serde_json::Value::Null));
    let text = match value {
        serde_json::Value::String(s) => grouped(s),
        serde_json::Value::Number(n) => grouped(&n.to_string()),
        _ => "–".to_owned(),
    };
    Fig {
        text,
        src: format!("summary:{key}"),
    }
}

fn checked_sub(a: Money, b: Money, what: impl FnOnce() -> String) -> Result<Money, TooLarge> {
    a.checked_sub(b).ok_or_else(|| TooLarge::new(what()))
}

/// The page, as the template reads it.
#[derive(Serialize)]
struct Page {
    run: String,
    as_of: String,
    flow: Vec<FlowPart>,
    read_rows: Fig,
    read_amount: Fig,
    flow_svg: String,
    statuses: Vec<Named>,
    status_svg: String,
    money: Vec<Named>,
    canceled_by_reason: Vec<Named>,
    providers: Vec<ProviderView>,
    canceled: Vec<CanceledGroup>,
    rejects: Vec<RejectGroup>,
    true_up: Option<TrueUpView>,
}

#[derive(Serialize)]
struct FlowPart {
    name: &'static str,
    colour: String,
    rows: Fig,
    amount: Fig,
}

#[derive(Serialize)]
struct Named {
    name: String,
    fig: Fig,
}

#[derive(Serialize)]
struct ProviderView {
    id: String,
    anchor: String,
    types: Vec<TypeView>,
    settlements: Vec<SettlementView>,
}

#[derive(Serialize)]
struct TypeView {
    episode_type: String,
    episodes: usize,
    over_target: usize,
    chart_svg: String,
    spend: Vec<Named>,
    rows: Vec<ProviderRowView>,
    costly: Vec<CostlyView>,
}

#[derive(Serialize)]
struct ProviderRowView {
    period: String,
    episodes: Fig,
    target_total: Fig,
    actual_total: Fig,
    cap_effect: Fig,
    gain_loss_total: Fig,
    limit: String,
    limit_effect: Fig,
    reconciliation_amount: Fig,
    waterfall_svg: String,
}

#[derive(Serialize)]
struct CostlyView {
    id: String,
    anchor: String,
    period: String,
    status: &'static str,
    actual: Fig,
    target: Option<Fig>,
    gain_loss: Option<Fig>,
    drivers: Vec<Named>,
    lines: Vec<LineView>,
}

#[derive(Serialize)]
struct LineView {
    claim_id: String,
    line_number: String,
    claim_type: String,
    allowed: Fig,
    included: Fig,
    disposition: String,
    provider_id: String,
    service_date: String,
}

#[derive(Serialize)]
struct SettlementView {
    period: String,
    track: String,
    quality_score: String,
    episodes: Fig,
    target_total: Fig,
    capped_total: Fig,
    reconciliation_amount: Fig,
    quality_effect: Fig,
    quality_adjusted_amount: Fig,
    limit: String,
    limit_effect: Fig,
    net: Fig,
    waterfall_svg: String,
}

#[derive(Serialize)]
struct CanceledGroup {
    reason: String,
    count: Fig,
    episodes: Vec<CanceledRow>,
    more: usize,
}

#[derive(Serialize)]
struct CanceledRow {
    id: String,
    provider_id: String,
    episode_type: String,
    start: String,
}

#[derive(Serialize)]
struct RejectGroup {
    reason: String,
    count: Fig,
    examples: Vec<RejectExample>,
}

#[derive(Serialize)]
struct RejectExample {
    file: String,
    row: String,
    record: String,
}

#[derive(Serialize)]
struct TrueUpView {
    previous: String,
    new: usize,
    dropped: usize,
    changed: usize,
    providers: Vec<ProviderChangeView>,
    participants: Vec<ParticipantChangeView>,
    chart_svg: String,
}

#[derive(Serialize)]
struct ProviderChangeView {
    provider_id: String,
    episode_type: String,
    period: String,
    previous: Option<Fig>,
    current: Option<Fig>,
    due: Fig,
    gain_loss_change: Fig,
    changes: Vec<Named>,
    limit: String,
}

#[derive(Serialize)]
struct ParticipantChangeView {
    provider_id: String,
    period: String,
    previous: Option<Fig>,
    current: Option<Fig>,
    due: Fig,
    why: String,
}

/// What the ledger says of each episode: its included money by category,
/// and the lines of the episodes the page lists.
struct LedgerFacts {
    spend: Vec<[Money; CATEGORIES.len()]>,
    lines: FxHashMap<usize, Vec<LineView>>,
}

/// Streams `ledger.csv` once: a running total per episode and category,
/// and the lines of the `listed` episodes.
fn read_ledger(run: &PriorRun, listed: &[bool]) -> Result<LedgerFacts, Error> {
    const COLUMNS: [&str; 9] = [
        "episode_id",
        "claim_id",
        "line_number",
        "claim_type",
        "allowed_amount",
        "included_amount",
        "disposition",
        "provider_id",
        "service_date",
    ];
    let index: FxHashMap<&str, usize> = run
        .episodes
        .iter()
        .enumerate()
        .map(|(i, e)| (e.episode_id.as_str(), i))
        .collect();
    let mut facts = LedgerFacts {
        spend: vec![[Money::ZERO; CATEGORIES.len()]; run.episodes.len()],
        lines: FxHashMap::default(),
    };
    // Ledger lines come grouped by episode: one lookup per episode.
    let mut current: Option<(String, usize)> = None;
    let mut record = 0usize;
    let episodes_file = run.file_name(&report::EPISODES);
    stream_table(&run.table_path(&report::LEDGER), &COLUMNS, |row| {
        let id = row.text(0)?;
        let episode = match &current {
            Some((last, i)) if last == id => *i,
            _ => {
                let i = *index.get(id).ok_or_else(|| {
                    row.error(format!("episode {id:?} is not in {episodes_file}"))
                })?;
                current = Some((id.to_owned(), i));
                i
            }
        };
        let included = row.money(5)?;
        let slot = &mut facts.spend[episode][category(row.text(3)?, row.text(6)?)];
        *slot = slot
            .checked_add(included)
            .ok_or_else(|| row.error("the episode's included amounts do not fit".into()))?;
        if listed[episode] {
            let src = |column: &str| format!("ledger.csv:{record}:{column}");
            facts.lines.entry(episode).or_default().push(LineView {
                claim_id: row.text(1)?.to_owned(),
                line_number: row.text(2)?.to_owned(),
                claim_type: row.text(3)?.to_owned(),
                allowed: money(row.money(4)?, src("allowed_amount")),
                included: money(included, src("included_amount")),
                disposition: row.text(6)?.to_owned(),
                provider_id: row.text(7)?.to_owned(),
                service_date: row.text(8)?.to_owned(),
            });
        }
        record += 1;
        Ok(())
    })?;
    Ok(facts)
}

/// Streams `rejects.csv`: the rows per reason and the first few of each.
fn read_rejects(run: &PriorRun) -> Result<Vec<RejectGroup>, Error> {
    let mut groups: BTreeMap<String, (u64, Vec<RejectExample>)> = BTreeMap::new();
    stream_table(
        &run.table_path(&report::REJECTS),
        &["file", "row", "reason", "record"],
        |row| {
            let (n, examples) = groups.entry(row.lossy(2).into_owned()).or_default();
            *n += 1;
            if examples.len() < REJECT_EXAMPLES {
                examples.push(RejectExample {
                    file: row.lossy(0).into_owned(),
                    row: row.lossy(1).into_owned(),
                    record: row.lossy(3).into_owned(),
                });
            }
            Ok(())
        },
    )?;
    Ok(groups
        .into_iter()
        .map(|(reason, (n, examples))| RejectGroup {
            count: count(n, format!("rejects:{reason}")),
            reason,
            examples,
        })
        .collect())
}

/// The overview: rows read and where they went, episodes by status, the
/// money and the settlement.
fn overview(run: &PriorRun) -> Result<(Vec<FlowPart>, String, Vec<Named>, String), Error> {
    let s = &run.summary;
    const PARTS: [&str; 5] = [
        "rejected",
        "after_cutoff",
        "void",
        "superseded",
        "final_action",
    ];
    let flow: Vec<FlowPart> = PARTS
        .iter()
        .enumerate()
        .map(|(i, name)| FlowPart {
            name,
            colour: charts::colour(i),
            rows: summary_fig(s, &format!("rows.{name}")),
            amount: summary_fig(s, &format!("amounts.{name}")),
        })
        .collect();
    let rows: Vec<u64> = PARTS
        .iter()
        .map(|name| s["rows"][name].as_u64().unwrap_or(0))
        .collect();
    let flow_svg = charts::stacked_bar(&rows)?;
    const STATUSES: [&str; 4] = ["priced", "no_target_price", "no_risk_factor", "canceled"];
    let statuses: Vec<Named> = STATUSES
        .iter()
        .map(|name| Named {
            name: (*name).to_owned(),
            fig: summary_fig(s, &format!("episodes.{name}")),
        })
        .collect();
    let values: Vec<f64> = STATUSES
        .iter()
        .map(|name| s["episodes"][name].as_u64().unwrap_or(0) as f64)
        .collect();
    let status_svg = charts::bars(&STATUSES, &values)?;
    Ok((flow, flow_svg, statuses, status_svg))
}

/// Builds the report page of the run in `dir`, with the true-up against
/// `previous` when given.
pub fn build(dir: &Path, previous: Option<&Path>) -> Result<String, Error> {
    let run = PriorRun::load(dir)?;
    let before = previous.map(PriorRun::load).transpose()?;
    let types = run.types().map_err(|id| Error::BadRecord {
        run: dir.to_owned(),
        id,
    })?;
    let figures = run.figures(&types).map_err(|id| Error::BadRecord {
        run: dir.to_owned(),
        id,
    })?;
    let periods: Vec<String> = run.episodes.iter().map(|e| e.period.clone()).collect();
    let bounds = pricing::group_bounds(&figures, &periods, &types);
    let bounds_of = |i: usize| {
        let f = &figures[i];
        bounds
            .get(&(f.episode_type, f.price_group.as_str(), periods[i].as_str()))
            .copied()
            .unwrap_or_default()
    };

    // Episodes by provider and type, costliest first.
    let mut groups: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, e) in run.episodes.iter().enumerate() {
        if e.status != Status::Canceled {
            groups
                .entry((e.provider_id.as_str(), e.episode_type.as_str()))
                .or_default()
                .push(i);
        }
    }
    let mut listed = vec![false; run.episodes.len()];
    for members in groups.values_mut() {
        let by_cost = |&a: &usize, &b: &usize| {
            let (ea, eb) = (&run.episodes[a], &run.episodes[b]);
            eb.actual
                .cmp(&ea.actual)
                .then(ea.episode_id.cmp(&eb.episode_id))
        };
        members.sort_by(by_cost);
        for &i in members.iter().take(COSTLIEST) {
            listed[i] = true;
        }
    }
    let mut ledger = read_ledger(&run, &listed)?;
    let rejects = read_rejects(&run)?;

    let mut providers: BTreeMap<&str, ProviderView> = BTreeMap::new();
    let mut provider_rows: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    for (i, p) in run.providers.iter().enumerate() {
        provider_rows
            .entry((p.provider_id.as_str(), p.episode_type.as_str()))
            .or_default()
            .push(i);
    }
    let mut anchors = 0usize;
    for ((provider, episode_type), members) in &groups {
        let view = providers.entry(provider).or_insert_with(|| {
            anchors += 1;
            ProviderView {
                id: (*provider).to_owned(),
                anchor: format!("p-{anchors}"),
                types: Vec::new(),
                settlements: Vec::new(),
            }
        });
        let mut points: Vec<EpisodePoint> = members
            .iter()
            .map(|&i| {
                let e = &run.episodes[i];
                let b = bounds_of(i);
                EpisodePoint {
                    actual: dollars(e.actual),
                    target: e.target.map(dollars),
                    cap: b.cap.map(dollars),
                    floor: b.floor.map(dollars),
                }
            })
            .collect();
        points.sort_by(|a, b| a.actual.total_cmp(&b.actual));
        let mut spend = [Money::ZERO; CATEGORIES.len()];
        for &i in members {
            for (total, amount) in spend.iter_mut().zip(ledger.spend[i]) {
                *total = total.checked_add(amount).ok_or_else(|| {
                    TooLarge::new(format!("provider {provider}, {episode_type}: spending"))
                })?;
            }
        }
        let rows = provider_rows
            .get(&(*provider, *episode_type))
            .map(|rows| rows.iter().map(|&i| provider_row(&run, i)).collect())
            .transpose_result()?;
        let costly = members
            .iter()
            .take(COSTLIEST)
            .map(|&i| costly_view(&run.episodes[i], i, &ledger.spend[i], &mut ledger.lines))
            .collect();
        view.types.push(TypeView {
            episode_type: (*episode_type).to_owned(),
            episodes: members.len(),
            over_target: members
                .iter()
                .filter(|&&i| {
                    let e = &run.episodes[i];
                    e.gain_loss.is_some_and(|g| g < Money::ZERO)
                })
                .count(),
            chart_svg: charts::episodes(&points)?,
            spend: CATEGORIES
                .iter()
                .zip(spend)
                .map(|(name, amount)| Named {
                    name: (*name).to_owned(),
                    fig: money(amount, format!("spend:{name}")),
                })
                .collect(),
            rows: rows.unwrap_or_default(),
            costly,
        });
    }
    for (i, p) in run.participants.iter().flatten().enumerate() {
        if let Some(view) = providers.get_mut(p.provider_id.as_str()) {
            view.settlements.push(settlement_view(&run, p, i)?);
        }
    }

    let (flow, flow_svg, statuses, status_svg) = overview(&run)?;
    let s = &run.summary;
    let mut money_keys = vec![
        ("actual spending", "money.actual"),
        ("capped spending", "money.capped"),
        ("target", "money.target"),
        ("gain or loss", "money.gain_loss"),
        ("reconciliation (providers)", "money.reconciliation"),
    ];
    if run.participants.is_some() {
        money_keys.push((
            "net payment (participants)",
            "participants.net_payment_reconciliation",
        ));
    }
    let canceled_by_reason = s["canceled_by_reason"]
        .as_object()
        .map(|reasons| {
            reasons
                .keys()
                .map(|reason| Named {
                    name: reason.clone(),
                    fig: summary_fig(s, &format!("canceled_by_reason.{reason}")),
                })
                .collect()
        })
        .unwrap_or_default();
    let page = Page {
        run: dir.display().to_string(),
        as_of: run.as_of().map_or("none".into(), |d| d.to_string()),
        read_rows: summary_fig(s, "rows.read"),
        read_amount: summary_fig(s, "amounts.read"),
        flow,
        flow_svg,
        statuses,
        status_svg,
        money: money_keys
            .into_iter()
            .map(|(name, key)| Named {
                name: name.into(),
                fig: summary_fig(s, key),
            })
            .collect(),
        canceled_by_reason,
        providers: providers.into_values().collect(),
        canceled: canceled(&run.episodes),
        rejects,
        true_up: before
            .as_ref()
            .map(|before| true_up_view(before, &run))
            .transpose()?,
    };
    render(&page)
}

/// `Option<Vec<Result>>` to `Result<Option<Vec>>`.
trait TransposeResult<T> {
    fn transpose_result(self) -> Result<Option<Vec<T>>, Error>;
}

impl<T> TransposeResult<T> for Option<Vec<Result<T, Error>>> {
    fn transpose_result(self) -> Result<Option<Vec<T>>, Error> {
        self.map(|rows| rows.into_iter().collect()).transpose()
    }
}

/// One row of `providers.csv` with its waterfall: target total, less
/// actual spending, plus what the cap and floor took off, is the gain or
/// loss; the type's stop-gain or stop-loss turns it into the
/// reconciliation amount.
fn provider_row(run: &PriorRun, i: usize) -> Result<ProviderRowView, Error> {
    let p = &run.providers[i];
    let at = |column: &str| format!("providers.csv:{i}:{column}");
    let what = |figure: &str| {
        format!(
            "{}: {} row {}: {figure}",
            run.dir.display(),
            run.file_name(&report::PROVIDERS),
            run.row_number(i)
        )
    };
    let cap_effect = checked_sub(p.actual_total, p.capped_total, || what("the cap effect"))?;
    let limit_effect = checked_sub(p.reconciliation_amount, p.gain_loss_total, || {
        what("the limit's effect")
    })?;
    let waterfall_svg = charts::waterfall(
        &[
            "target",
            "actual",
            "cap/floor",
            "gain/loss",
            "limit",
            "reconciliation",
        ],
        &[
            Step::Total(dollars(p.target_total)),
            Step::Change(-dollars(p.actual_total)),
            Step::Change(dollars(cap_effect)),
            Step::Total(dollars(p.gain_loss_total)),
            Step::Change(dollars(limit_effect)),
            Step::Total(dollars(p.reconciliation_amount)),
        ],
    )?;
    Ok(ProviderRowView {
        period: p.period.clone(),
        episodes: count(p.episodes, at("episodes")),
        target_total: money(p.target_total, at("target_total")),
        actual_total: money(p.actual_total, at("actual_total")),
        cap_effect: money(cap_effect, format!("cap_effect:providers.csv:{i}")),
        gain_loss_total: money(p.gain_loss_total, at("gain_loss_total")),
        limit: p.limit.clone(),
        limit_effect: money(limit_effect, format!("limit_effect:providers.csv:{i}")),
        reconciliation_amount: money(p.reconciliation_amount, at("reconciliation_amount")),
        waterfall_svg,
    })
}

/// A participant's settlement for a period with its waterfall: the
/// reconciliation amount over all its types, the quality adjustment, the
/// track's limit, and what is paid or owed.
fn settlement_view(
    run: &PriorRun,
    p: &prior_run::PriorParticipant,
    i: usize,
) -> Result<SettlementView, Error> {
    let at = |column: &str| format!("participants.csv:{i}:{column}");
    let what = |figure: &str| {
        let file = run.file_name(&report::PARTICIPANTS);
        format!("{file} row {}: {figure}", run.row_number(i))
    };
    let quality_effect = checked_sub(p.quality_adjusted_amount, p.reconciliation_amount, || {
        what("the quality adjustment")
    })?;
    let limit_effect = checked_sub(
        p.net_payment_reconciliation_amount,
        p.quality_adjusted_amount,
        || what("the track limit's effect"),
    )?;
    let waterfall_svg = charts::waterfall(
        &[
            "target",
            "capped",
            "reconciliation",
            "quality",
            "limit",
            "net payment",
        ],
        &[
            Step::Total(dollars(p.target_total)),
            Step::Change(-dollars(p.capped_total)),
            Step::Total(dollars(p.reconciliation_amount)),
            Step::Change(dollars(quality_effect)),
            Step::Change(dollars(limit_effect)),
            Step::Total(dollars(p.net_payment_reconciliation_amount)),
        ],
    )?;
    Ok(SettlementView {
        period: p.period.clone(),
        track: p.track.clone(),
        quality_score: p.quality_score.clone(),
        episodes: count(p.episodes, at("episodes")),
        target_total: money(p.target_total, at("target_total")),
        capped_total: money(p.capped_total, at("capped_total")),
        reconciliation_amount: money(p.reconciliation_amount, at("reconciliation_amount")),
        quality_effect: money(
            quality_effect,
            format!("quality_effect:participants.csv:{i}"),
        ),
        quality_adjusted_amount: money(p.quality_adjusted_amount, at("quality_adjusted_amount")),
        limit: p.limit.clone(),
        limit_effect: money(
            limit_effect,
            format!("track_limit_effect:participants.csv:{i}"),
        ),
        net: money(
            p.net_payment_reconciliation_amount,
            at("net_payment_reconciliation_amount"),
        ),
        waterfall_svg,
    })
}

/// One of the costliest episodes: its figures, what drove its spending,
/// and its ledger lines (taken out of `lines`).
fn costly_view(
    e: &PriorEpisode,
    i: usize,
    spend: &[Money; CATEGORIES.len()],
    lines: &mut FxHashMap<usize, Vec<LineView>>,
) -> CostlyView {
    let at = |column: &str| format!("episodes.csv:{i}:{column}");
    CostlyView {
        id: e.episode_id.clone(),
        anchor: format!("e-{i}"),
        period: e.period.clone(),
        status: e.status.name(),
        actual: money(e.actual, at("actual_amount")),
        target: e.target.map(|t| money(t, at("target_amount"))),
        gain_loss: e.gain_loss.map(|g| money(g, at("gain_loss"))),
        drivers: CATEGORIES
            .iter()
            .zip(spend)
            .filter(|(_, amount)| **amount != Money::ZERO)
            .map(|(name, &amount)| Named {
                name: (*name).to_owned(),
                fig: money(amount, format!("spend:{name}:episodes.csv:{i}")),
            })
            .collect(),
        lines: lines.remove(&i).unwrap_or_default(),
    }
}

/// The canceled episodes by reason, the first few of each listed.
fn canceled(episodes: &[PriorEpisode]) -> Vec<CanceledGroup> {
    let mut by_reason: BTreeMap<&str, Vec<&PriorEpisode>> = BTreeMap::new();
    for e in episodes {
        if let Some(reason) = &e.cancel {
            by_reason.entry(reason.name()).or_default().push(e);
        }
    }
    by_reason
        .into_iter()
        .map(|(reason, list)| CanceledGroup {
            reason: reason.to_owned(),
            count: count(
                list.len() as u64,
                format!("summary:canceled_by_reason.{reason}"),
            ),
            more: list.len().saturating_sub(CANCELED_LISTED),
            episodes: list
                .iter()
                .take(CANCELED_LISTED)
                .map(|e| CanceledRow {
                    id: e.episode_id.clone(),
                    provider_id: e.provider_id.to_string(),
                    episode_type: e.episode_type.clone(),
                    start: e.start.to_string(),
                })
                .collect(),
        })
        .collect()
}

/// What changed since `before`, per provider row and participant, and why:
/// the episodes that came, went or changed under it, and its limit.
fn true_up_view(before: &PriorRun, now: &PriorRun) -> Result<TrueUpView, Error> {
    let comparison = true_up::compare(before, now)?;
    let summary = comparison.summary();
    // Each episode counts under the row it is now in, or was in if dropped.
    let mut why: BTreeMap<(&str, &str, &str), ([u64; 3], Money)> = BTreeMap::new();
    for change in &comparison.episodes {
        let Some(e) = change.current.as_ref().or(change.previous.as_ref()) else {
            continue;
        };
        let kind = match change.change {
            Change::New => 0,
            Change::Dropped => 1,
            Change::Changed => 2,
            Change::Unchanged => continue,
        };
        let entry = why
            .entry((&e.provider_id, &e.episode_type, &e.period))
            .or_default();
        entry.0[kind] += 1;
        entry.1 = entry
            .1
            .checked_add(change.gain_loss_change())
            .ok_or_else(|| TooLarge::new("true-up: the gain or loss change of a provider row"))?;
    }
    let row_index = |run: &PriorRun| -> BTreeMap<(String, String, String), usize> {
        run.providers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let key = (
                    p.provider_id.clone(),
                    p.episode_type.clone(),
                    p.period.clone(),
                );
                (key, i)
            })
            .collect()
    };
    let (before_rows, now_rows) = (row_index(before), row_index(now));
    let mut providers = Vec::new();
    let mut dues = Vec::new();
    for row in &comparison.providers {
        let key = (
            row.provider_id.as_str(),
            row.episode_type.as_str(),
            row.period.as_str(),
        );
        let (counts, gain_loss_change) = why.get(&key).copied().unwrap_or_default();
        let due = row.amount_due();
        if due == Money::ZERO && counts == [0; 3] {
            continue;
        }
        let side = |rows: &BTreeMap<(String, String, String), usize>,
                    prefix: &str,
                    p: &Option<prior_run::PriorProvider>| {
            p.as_ref().and_then(|p| {
                let key = (
                    p.provider_id.clone(),
                    p.episode_type.clone(),
                    p.period.clone(),
                );
                let i = rows.get(&key)?;
                Some(money(
                    p.reconciliation_amount,
                    format!("{prefix}providers.csv:{i}:reconciliation_amount"),
                ))
            })
        };
        let limit_of = |p: &Option<prior_run::PriorProvider>| {
            p.as_ref().map_or("–".to_owned(), |p| p.limit.clone())
        };
        dues.push(dollars(due));
        providers.push(ProviderChangeView {
            provider_id: row.provider_id.clone(),
            episode_type: row.episode_type.clone(),
            period: row.period.clone(),
            previous: side(&before_rows, "previous/", &row.previous),
            current: side(&now_rows, "", &row.current),
            due: money(due, "due".into()),
            gain_loss_change: money(gain_loss_change, "gain_loss_change".into()),
            changes: ["new", "dropped", "changed"]
                .iter()
                .zip(counts)
                .map(|(kind, n)| Named {
                    name: (*kind).to_owned(),
                    fig: count(n, format!("changes:{kind}")),
                })
                .collect(),
            limit: format!("{} → {}", limit_of(&row.previous), limit_of(&row.current)),
        });
    }
    let mut participants = Vec::new();
    for row in comparison.participants.iter().flatten() {
        let due = row.amount_due();
        if due == Money::ZERO {
            continue;
        }
        let side = |run: &PriorRun, prefix: &str, p: &Option<prior_run::PriorParticipant>| {
            p.as_ref().map(|p| {
                let i = run
                    .participants
                    .iter()
                    .flatten()
                    .position(|q| q == p)
                    .unwrap_or(0);
                money(
                    p.net_payment_reconciliation_amount,
                    format!("{prefix}participants.csv:{i}:net_payment_reconciliation_amount"),
                )
            })
        };
        let describe = |p: &Option<prior_run::PriorParticipant>| {
            p.as_ref().map_or("not settled".to_owned(), |p| {
                format!(
                    "{} episodes, quality {}, limit {}",
                    p.episodes, p.quality_score, p.limit
                )
            })
        };
        participants.push(ParticipantChangeView {
            provider_id: row.provider_id.clone(),
            period: row.period.clone(),
            previous: side(before, "previous/", &row.previous),
            current: side(now, "", &row.current),
            due: money(due, "due".into()),
            why: format!("{} → {}", describe(&row.previous), describe(&row.current)),
        });
    }
    let labels: Vec<String> = (1..=dues.len()).map(|i| i.to_string()).collect();
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    Ok(TrueUpView {
        previous: before.dir.display().to_string(),
        new: summary.new as usize,
        dropped: summary.dropped as usize,
        changed: summary.changed as usize,
        chart_svg: charts::bars(&labels, &dues.iter().map(|d| d.abs()).collect::<Vec<_>>())?,
        providers,
        participants,
    })
}

/// The page from its figures.
fn render(page: &Page) -> Result<String, Error> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| Error::Template(e.to_string()))?;
    env.get_template("report.html")
        .and_then(|t| t.render(page))
        .map_err(|e| Error::Template(e.to_string()))
}

/// Writes `html` to `out`, staged beside it and renamed into place, so an
/// interrupted or failed write never leaves a partial page. An existing
/// `out` is replaced only with `force`, and never when it is a file of
/// the run.
pub fn write(html: &str, out: &Path, force: bool, runs: &[&Path]) -> Result<(), Error> {
    let canonical = |p: &Path| std::fs::canonicalize(p).ok();
    if let Some(target) = canonical(out) {
        let in_run = runs.iter().any(|dir| {
            canonical(dir).is_some_and(|dir| target.parent() == Some(dir.as_path()))
                && target.file_name().is_some_and(|n| {
                    let n = n.to_string_lossy();
                    n.ends_with(".csv") || n.ends_with(".parquet") || n == "summary.json"
                })
        });
        if in_run {
            return Err(Error::OverwritesRun {
                path: out.to_owned(),
            });
        }
        if !force {
            return Err(Error::Exists {
                path: out.to_owned(),
            });
        }
    }
    let write_error = |source| Error::Write {
        path: out.to_owned(),
        source,
    };
    let parent = crate::runtime::tunables::folder_beside(out);
    std::fs::create_dir_all(parent).map_err(write_error)?;
    let name = out.file_name().map_or_else(
        || "report.html".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut staged = BufWriter::new(StagedFile::new_in(parent, &name).map_err(write_error)?);
    staged.write_all(html.as_bytes()).map_err(write_error)?;
    let staged = staged
        .into_inner()
        .map_err(|e| write_error(e.into_error()))?;
    staged.persist(out).map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_inserts_separators_in_the_exact_text() {
        assert_eq!(grouped("0.00"), "0.00");
        assert_eq!(grouped("123.45"), "123.45");
        assert_eq!(grouped("1234.50"), "1,234.50");
        assert_eq!(grouped("-1234567.89"), "-1,234,567.89");
        assert_eq!(grouped("100000"), "100,000");
        assert_eq!(
            grouped("123456789012345678901234567890123456.01"),
            "123,456,789,012,345,678,901,234,567,890,123,456.01"
        );
    }

    #[test]
    fn the_anchor_and_readmissions_are_told_apart() {
        assert_eq!(CATEGORIES[category("IP", "anchor")], "anchor");
        assert_eq!(CATEGORIES[category("OP", "anchor")], "anchor");
        assert_eq!(CATEGORIES[category("IP", "included")], "readmissions");
        assert_eq!(CATEGORIES[category("SNF", "prorated")], "SNF");
        assert_eq!(CATEGORIES[category("HHA", "included")], "home health");
        assert_eq!(CATEGORIES[category("PB", "excluded:x")], "Part B");
        assert_eq!(CATEGORIES[category("XYZ", "included")], "other");
    }
}
