//! Pricing an earlier run again, with other target prices or pricing
//! settings, without reading its claims (`reprice`), and comparing several
//! price, participants and settlement files side by side (`scenarios`).
//!
//! Everything pricing needs is in the run's outputs: one actual amount per
//! episode, its type, provider, price group and end date. So a repriced run
//! is the full reconciliation with the new prices, byte for byte, at the
//! cost of reading one row per episode. Changes that would change which
//! lines an episode takes in (triggers, windows, inclusion, exclusion) need
//! the claims again and are refused.
//!
//! The same holds for parts of one run (disjoint beneficiaries, reconciled
//! apart, as the Spark path does): [`reprice_parts`] prices them together
//! into the run one reconciliation of all their claims makes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::definitions::EpisodeDefinition;
use crate::config::fingerprint::{RunRecord, TypeRecord, digest};
use crate::config::prices::TargetPrices;
use crate::config::risk_factors::RiskFactors;
use crate::engine::pricing::{self, EpisodeFigures, PriceError, TypePricing};
use crate::engine::reconcile::{Reconciliation, RunTotals, SettlementInputs};
use crate::engine::settle;
use crate::model::Date;
use crate::model::money::{Money, TooLarge};
use crate::model::outcome::{Accounting, BeneficiaryCounts, TypeTally};
use crate::model::warning::Warning;
use crate::output::report::{self, Cell, ColumnType, OutputFile, OutputFormat, RowSink, Table};
use crate::runs::prior_run::{self, PriorRun};

/// Why a run cannot be priced again.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The run's outputs could not be read.
    #[error(transparent)]
    Prior(#[from] prior_run::Error),
    /// The new definitions change what episodes hold.
    #[error(
        "{definitions}: episode type {id}: {what}; that changes which claim lines its episodes take in, so it needs the claims again: run `episode-recon reconcile` instead (reprice may change only [pricing] settings and target prices)"
    )]
    NeedsClaims {
        /// The definitions folder.
        definitions: PathBuf,
        /// The episode type.
        id: String,
        /// What differs.
        what: String,
    },
    /// An effective target, or a provider's or participant's total, does
    /// not fit an amount.
    #[error(transparent)]
    Pricing(#[from] PriceError),
    /// A total of the repriced run does not fit.
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    /// Parts of one run cannot be priced together.
    #[error("pricing the parts of a run together: {problem}")]
    Parts {
        /// What is wrong with them.
        problem: String,
    },
    /// The run's episodes carry risk levels (their type has `[risk]`) and
    /// no risk factors were given to price them with (RULES 42).
    #[error(
        "{name}: episode type {id} has [risk] (the run's episodes carry risk levels), which needs risk factor multipliers; expected --risk-factors FILE"
    )]
    NeedsRiskFactors {
        /// The run priced, as [`price_figures`] names it.
        name: String,
        /// The first episode type with risk levels, in the episodes' order.
        id: String,
    },
    /// Two scenarios of a comparison would have one label, and so one
    /// column name: a file given twice.
    #[error(
        "scenario \"{label}\" is given twice (a price, participants or settlement file named twice); expected each file once"
    )]
    SameScenario {
        /// The label both would have.
        label: String,
    },
    /// The run's summary does not describe its pricing readably.
    #[error(
        "{run}: summary.json: the pricing of episode type {id} does not read; give --definitions"
    )]
    BadRecord {
        /// The run folder.
        run: PathBuf,
        /// The episode type.
        id: String,
    },
}

impl crate::error::Classify for Error {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::Prior(e) => e.kind(),
            Error::NeedsClaims { .. } | Error::NeedsRiskFactors { .. } => ErrorKind::Configuration,
            Error::SameScenario { .. } => ErrorKind::Usage,
            Error::Pricing(e) => e.kind(),
            Error::TooLarge(e) => e.kind(),
            Error::BadRecord { .. } => ErrorKind::InputData,
            // The parts come from the caller's own runs, never the user's.
            Error::Parts { .. } => ErrorKind::Internal,
        }
    }
}

/// The types to price with and the run record of the result: from new
/// definitions after checking that only their pricing changed, else as the
/// run recorded them.
fn types_for(
    prior: &PriorRun,
    definitions: Option<(&Path, &[EpisodeDefinition])>,
    prices: &TargetPrices,
) -> Result<(Vec<TypePricing>, RunRecord), Error> {
    let Some((folder, definitions)) = definitions else {
        let types = prior.types().map_err(|id| Error::BadRecord {
            run: prior.dir.clone(),
            id,
        })?;
        return Ok((
            types,
            RunRecord::new(prior.record.definitions.clone(), prices),
        ));
    };
    let needs_claims = |id: &str, what: &str| Error::NeedsClaims {
        definitions: folder.to_owned(),
        id: id.to_owned(),
        what: what.to_owned(),
    };
    let before: BTreeMap<&str, &TypeRecord> = prior
        .record
        .definitions
        .iter()
        .map(|t| (t.id.as_str(), t))
        .collect();
    for definition in definitions {
        match before.get(definition.id.as_str()) {
            None => return Err(needs_claims(&definition.id, "it is new, not in the run")),
            Some(t) if t.episode_rules != digest(&definition.episode_rules()) => {
                return Err(needs_claims(
                    &definition.id,
                    "its triggers, price groups, window, inclusion or exclusion differ from the run's",
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(missing) = before
        .keys()
        .find(|id| !definitions.iter().any(|d| d.id == **id))
    {
        return Err(needs_claims(
            missing,
            "it is in the run but not in the new definitions",
        ));
    }
    Ok((
        TypePricing::of(definitions),
        RunRecord::of(definitions, prices),
    ))
}

/// Prices the episodes of `prior` again. `definitions`, when given (with
/// their folder, for messages), may differ from the run's only in their
/// `[pricing]` tables. Warnings about the pricing files given are shown
/// on stderr; the run's own warnings about its claims are kept, unshown.
pub fn reprice(
    prior: &PriorRun,
    definitions: Option<(&Path, &[EpisodeDefinition])>,
    prices: &TargetPrices,
    with: &RepriceWith<'_>,
) -> Result<Reconciliation, Error> {
    let repriced = price_again(prior, definitions, prices, with)?;
    pricing_warnings(&repriced).for_each(Warning::emit);
    Ok(repriced)
}

/// The warnings of a repriced run about the pricing files it was given.
fn pricing_warnings(repriced: &Reconciliation) -> impl Iterator<Item = &Warning> {
    repriced
        .warnings
        .iter()
        .filter(|w| w.kind.is_about_pricing())
}

/// [`reprice`] without showing warnings: `scenarios` shows each once,
/// however many scenarios a file is in.
fn price_again(
    prior: &PriorRun,
    definitions: Option<(&Path, &[EpisodeDefinition])>,
    prices: &TargetPrices,
    with: &RepriceWith<'_>,
) -> Result<Reconciliation, Error> {
    let (types, run) = types_for(prior, definitions, prices)?;
    let figures = figures_of(prior, &types)?;
    let read = RunAsRead {
        accounting: prior.accounting(&types)?,
        beneficiaries: prior.beneficiaries()?,
        claims_warnings: prior.claims_warnings()?,
        as_of: prior.as_of(),
    };
    let name = format!("repricing {}", prior.dir.display());
    price_figures(figures, read, (types, run), prices, with, &name)
}

/// The episode figures of `prior` with their types as indices into
/// `types`. Every type of the run is in `types` (checked by
/// [`types_for`], or taken from the run itself), so a type the episodes
/// name is always found.
fn figures_of(prior: &PriorRun, types: &[TypePricing]) -> Result<Vec<EpisodeFigures>, Error> {
    prior.figures(types).map_err(|id| Error::NeedsClaims {
        definitions: prior.dir.clone(),
        id,
        what: "the run has episodes of it but no definition".into(),
    })
}

/// What a run read, which pricing does not change: its accounting, its
/// beneficiaries rows' counts, its warnings about its claims, its cutoff.
struct RunAsRead {
    accounting: Accounting,
    beneficiaries: Option<BeneficiaryCounts>,
    claims_warnings: Vec<Warning>,
    as_of: Option<Date>,
}

/// Prices `figures` (sorted by episode id, then beneficiary) with the
/// types and record of `typed`: the global steps of a reconciliation, from
/// caps and floors to participant settlement. `name` names the run in a
/// total that does not fit.
fn price_figures(
    figures: Vec<EpisodeFigures>,
    read: RunAsRead,
    (types, run): (Vec<TypePricing>, RunRecord),
    prices: &TargetPrices,
    with: &RepriceWith<'_>,
    name: &str,
) -> Result<Reconciliation, Error> {
    // As a reconcile refuses `[risk]` without risk factors before it reads
    // a claim, rather than pricing every such episode `no_risk_factor`.
    if with.risk_factors.is_none()
        && let Some(episode) = figures.iter().find(|e| e.risk_levels.is_some())
    {
        return Err(Error::NeedsRiskFactors {
            name: name.to_owned(),
            id: types[episode.episode_type].id.clone(),
        });
    }
    let run = run.with_pricing_inputs(
        with.risk_factors,
        with.settlement.map(|s| (&s.participants, &s.settlement)),
    );
    // In the order a full reconcile finds them: pricing files, then claims.
    let ids: Vec<&str> = types.iter().map(|t| t.id.as_str()).collect();
    let mut warnings = pricing::unknown_types(&ids, prices, with.risk_factors);
    warnings.extend(read.claims_warnings);
    let episodes = pricing::price(figures, &types, prices, with.risk_factors)?;
    let providers = pricing::reconcile_providers(&episodes, &types)?;
    let participants = with
        .settlement
        .map(|s| settle::settle(&episodes, &s.participants, &s.settlement))
        .transpose()?;
    let totals = RunTotals::of(name, &types, &episodes, &providers, participants.as_ref())?;
    Ok(Reconciliation {
        files: Vec::new(),
        claim_files: 0,
        ledgers: Default::default(),
        rejects: Vec::new(),
        types,
        episodes,
        providers,
        accounting: read.accounting,
        as_of: read.as_of,
        beneficiaries: read.beneficiaries,
        participants,
        run,
        totals,
        warnings,
    })
}

/// Prices runs of disjoint beneficiaries together, as one run: the parts
/// of a reconciliation whose per-beneficiary work was done apart (by the
/// Spark path, one part per bucket of beneficiaries, each with the same
/// definitions, prices and cutoff), whose global steps (caps and floors
/// over every episode of a type, provider limits, settlement) need all
/// episodes at once. The result is the run one reconciliation of all the
/// claims would make, less its ledger and rejects (the parts'), as a
/// repriced run is: its episodes in the contract's order, its accounting
/// and beneficiaries counts the parts' sums, its claims warnings the
/// parts' in order.
pub fn reprice_parts(
    parts: &[PriorRun],
    prices: &TargetPrices,
    with: &RepriceWith<'_>,
) -> Result<Reconciliation, Error> {
    let Some(first) = parts.first() else {
        return Err(Error::Parts {
            problem: "no parts to price".into(),
        });
    };
    let typed = types_for(first, None, prices)?;
    let types = &typed.0;
    let mut figures = Vec::new();
    let mut read = RunAsRead {
        accounting: Accounting::default(),
        beneficiaries: None,
        claims_warnings: Vec::new(),
        as_of: first.as_of(),
    };
    read.accounting.types = vec![TypeTally::default(); types.len()];
    for part in parts {
        if part.record.definitions != first.record.definitions || part.as_of() != first.as_of() {
            return Err(Error::Parts {
                problem: format!(
                    "{} was made with other definitions or another cutoff than {}",
                    part.dir.display(),
                    first.dir.display()
                ),
            });
        }
        figures.extend(figures_of(part, types)?);
        read.accounting.merge(&part.accounting(types)?);
        if let Some(counts) = part.beneficiaries()? {
            let total = read.beneficiaries.get_or_insert_with(Default::default);
            total.read += counts.read;
            total.accepted += counts.accepted;
            for (reason, count) in counts.rejected_by_reason {
                *total.rejected_by_reason.entry(reason).or_default() += count;
            }
        }
        read.claims_warnings.extend(part.claims_warnings()?);
    }
    // The order a reconciliation sorts its episodes in (an id is shared by
    // two beneficiaries' episodes only when ids hold `:`, RULES 19b).
    figures.sort_by(|a, b| {
        (&a.episode_id, &a.beneficiary_id).cmp(&(&b.episode_id, &b.beneficiary_id))
    });
    let name = format!("pricing {} parts together", parts.len());
    let repriced = price_figures(figures, read, typed, prices, with, &name)?;
    pricing_warnings(&repriced).for_each(Warning::emit);
    Ok(repriced)
}

/// What a reprice prices with besides target prices: risk multipliers and
/// participant settlement, which a run's outputs do not hold (its risk
/// levels do, so enrollment is not needed again).
#[derive(Clone, Copy, Debug, Default)]
pub struct RepriceWith<'a> {
    /// Risk factor multipliers, needed when a type has `[risk]`.
    pub risk_factors: Option<&'a RiskFactors>,
    /// Participants and tracks, to settle per participant.
    pub settlement: Option<&'a SettlementInputs>,
}

/// Writes a repriced run: episodes, providers, participants and summary
/// anew; ledger and rejects copied from the run, since prices change
/// neither, into `format` whichever the run was written in (in the
/// Excel-safe view, copied with their text neutralized, so the folder
/// equals a full `reconcile --excel-safe`; as Parquet, their rows typed,
/// so the folder equals `reconcile --output-format parquet`; from a
/// Parquet run as CSV, the CSV files the run would have written). The run
/// itself is exact CSV or Parquet: [`PriorRun::load`] refuses an
/// Excel-safe one.
pub fn write(
    repriced: &Reconciliation,
    prior: &PriorRun,
    out: &Path,
    force: bool,
    format: OutputFormat,
) -> Result<(), report::Error> {
    let format = format.available()?;
    let ledger = prior.table_path(&report::LEDGER);
    let rejects = prior.table_path(&report::REJECTS);
    let mut files = vec![
        report::table_file(repriced, &report::EPISODES, format),
        report::table_file(repriced, &report::PROVIDERS, format),
        OutputFile::copy(&ledger, &report::LEDGER, format),
        OutputFile::copy(&rejects, &report::REJECTS, format),
        OutputFile::new("summary.json", |w| {
            report::write_summary_as(repriced, format, w)
        }),
    ];
    if repriced.participants.is_some() {
        files.push(report::table_file(repriced, &report::PARTICIPANTS, format));
    }
    report::write_folder(out, force, &files)
}

/// One settlement a scenario comparison prices with: a participants file
/// read against a settlement file, and both paths as given (for labels and
/// the summary).
#[derive(Debug)]
pub struct SettlementChoice {
    /// The participants file as given.
    pub participants: String,
    /// The settlement file as given.
    pub settlement: String,
    /// Both files, read and checked together (a participants file may name
    /// a track one settlement file has and another lacks).
    pub inputs: SettlementInputs,
}

/// One scenario's outcome in a comparison: a price file, with one
/// participants and settlement file when the comparison settles
/// participants.
#[derive(Debug)]
pub struct Scenario {
    /// The column name in `scenarios.csv` and `scenarios_participants.csv`:
    /// the files that vary across the scenarios, joined by [`LABEL_JOINER`].
    pub label: String,
    /// The price file as given.
    pub target_prices: String,
    /// The participants file as given, when the comparison settles
    /// participants.
    pub participants: Option<String>,
    /// The settlement file as given, with `participants`.
    pub settlement: Option<String>,
    /// The run priced with them.
    pub priced: Reconciliation,
}

/// What joins the varying file names of a scenario's label: a character
/// pair that reads as "with" and that no CSV writer needs to quote.
pub const LABEL_JOINER: &str = " + ";

/// The paragraph `reprice` prints, made before anything is written: the
/// difference between the new and the run's net reconciliation can exceed
/// what money holds (both sides may be 36 digits in an edited run folder).
pub fn paragraph(
    repriced: &Reconciliation,
    prior: &PriorRun,
    run: &Path,
    out: &Path,
) -> Result<String, TooLarge> {
    let settled = repriced.net_reconciliation();
    let before = prior.reconciliation();
    let difference = settled.checked_sub(before).ok_or_else(|| {
        TooLarge::new(format!(
            "repricing {}: the difference between the new net reconciliation {settled} and the run's {before}",
            run.display()
        ))
    })?;
    Ok(format!(
        "Repriced {} episodes of {} without reading claims: {} provider row(s) now settle a net {} (the run settled {}; difference {}). Outputs in {}.",
        repriced.episodes.len(),
        run.display(),
        repriced.providers.len(),
        settled,
        before,
        difference,
        out.display()
    ))
}

/// The paragraph `scenarios` prints: the net reconciliation (and with
/// participants, the net payment) of each scenario.
pub fn scenarios_paragraph(
    prior: &PriorRun,
    scenarios: &[Scenario],
    files: (usize, usize, usize),
    run: &Path,
    out: &Path,
) -> String {
    let (price_files, participants_files, settlement_files) = files;
    let totals: Vec<String> = scenarios
        .iter()
        .map(|s| format!("{}: {}", s.label, s.priced.net_reconciliation()))
        .collect();
    let settles = scenarios.iter().any(|s| s.settlement.is_some());
    let under = if settles {
        format!(
            "{} scenario(s) ({price_files} price file(s) x {participants_files} participants file(s) x {settlement_files} settlement file(s))",
            scenarios.len(),
        )
    } else {
        format!("{} price file(s)", scenarios.len())
    };
    let net_payments = if settles {
        let payments: Vec<String> = scenarios
            .iter()
            .map(|s| {
                let net = s.priced.totals.net_payment.unwrap_or_default();
                format!("{}: {}", s.label, net)
            })
            .collect();
        format!("; participants' net payment {}", payments.join(", "))
    } else {
        String::new()
    };
    format!(
        "Priced the {} episodes of {} under {}; net reconciliation {}{}. Outputs in {}.",
        prior.episodes.len(),
        run.display(),
        under,
        totals.join(", "),
        net_payments,
        out.display()
    )
}

/// Prices `prior` under every combination, in this order: every price file
/// × every settlement choice (the caller lists those participants file by
/// participants file, each against every settlement file in turn), so the
/// last file varies fastest. Without settlement choices, one scenario per
/// price file.
///
/// A scenario is labelled by the files that vary across the comparison
/// (those of a kind given more than once, as distinct paths), in the order
/// price file, participants file, settlement file; when nothing varies, by
/// its price file. So a comparison of price files alone keeps the price
/// paths as labels, whatever participants and settlement it prices with.
pub fn scenarios(
    prior: &PriorRun,
    price_files: &[(String, TargetPrices)],
    risk_factors: Option<&RiskFactors>,
    settlements: &[SettlementChoice],
) -> Result<Vec<Scenario>, Error> {
    let varies = |names: Vec<&str>| names.iter().collect::<BTreeSet<_>>().len() > 1;
    let prices_vary = varies(price_files.iter().map(|(p, _)| p.as_str()).collect());
    let participants_vary = varies(
        settlements
            .iter()
            .map(|s| s.participants.as_str())
            .collect(),
    );
    let settlement_vary = varies(settlements.iter().map(|s| s.settlement.as_str()).collect());
    let label = |prices: &str, choice: Option<&SettlementChoice>| {
        let mut parts = Vec::new();
        if prices_vary || !(participants_vary || settlement_vary) {
            parts.push(prices);
        }
        if let Some(choice) = choice {
            if participants_vary {
                parts.push(&choice.participants);
            }
            if settlement_vary {
                parts.push(&choice.settlement);
            }
        }
        parts.join(LABEL_JOINER)
    };
    // `None` stands for "no settlement" when no choice is given, so the
    // price loop runs once per price file either way.
    let choices: Vec<Option<&SettlementChoice>> = if settlements.is_empty() {
        vec![None]
    } else {
        settlements.iter().map(Some).collect()
    };
    // Each scenario with its label, made once. A label is a column of
    // `scenarios.csv`: one given twice would write two columns of one
    // name, which no reader tells apart, so all are checked before any is
    // priced.
    let label = &label;
    let planned: Vec<_> = price_files
        .iter()
        .flat_map(|(name, prices)| {
            choices
                .iter()
                .map(move |&choice| (name, prices, choice, label(name, choice)))
        })
        .collect();
    let mut seen = BTreeSet::new();
    if let Some((.., label)) = planned.iter().find(|(.., label)| !seen.insert(label)) {
        return Err(Error::SameScenario {
            label: label.clone(),
        });
    }
    let mut out = Vec::with_capacity(planned.len());
    for (prices_name, prices, choice, label) in planned {
        let with = RepriceWith {
            risk_factors,
            settlement: choice.map(|c| &c.inputs),
        };
        out.push(Scenario {
            label,
            target_prices: prices_name.clone(),
            participants: choice.map(|c| c.participants.clone()),
            settlement: choice.map(|c| c.settlement.clone()),
            priced: price_again(prior, None, prices, &with)?,
        });
    }
    scenario_warnings(&out).for_each(Warning::emit);
    Ok(out)
}

/// The warnings about the pricing files of a comparison, each once (a
/// risk factors file is in every scenario), in the order the scenarios
/// first meet them.
fn scenario_warnings(scenarios: &[Scenario]) -> impl Iterator<Item = &Warning> {
    let mut seen = Vec::new();
    scenarios
        .iter()
        .flat_map(|s| pricing_warnings(&s.priced))
        .filter(move |w| {
            let new = !seen.contains(w);
            if new {
                seen.push(*w);
            }
            new
        })
}

/// `summary.json` of a scenario comparison, keys in this order.
#[derive(Serialize)]
struct ScenariosSummary {
    run: String,
    scenarios: Vec<ScenarioSummary>,
    /// The pricing files' warnings, each once; absent when there is none,
    /// so a comparison without any is as before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<report::WarningEntry>,
    /// `true` when the CSV files were written with `--excel-safe`; absent
    /// otherwise, so an exact comparison's summary is as before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    excel_safe: bool,
    /// `"parquet"` when the tables were written as Parquet; absent for
    /// CSV, so a CSV comparison's summary is as before.
    #[serde(skip_serializing_if = "Option::is_none")]
    output_format: Option<&'static str>,
}

/// One scenario in `summary.json`. The settlement keys come after the
/// price keys (added later, so that a reader of the earlier keys is not
/// disturbed) and are null when the comparison settles no participants.
#[derive(Serialize)]
struct ScenarioSummary {
    target_prices: String,
    target_prices_fingerprint: String,
    priced: usize,
    no_target_price: usize,
    providers: usize,
    reconciliation: String,
    participants: Option<String>,
    settlement: Option<String>,
    participants_settled: Option<usize>,
    net_payment_reconciliation: Option<String>,
}

/// One row per key of any scenario, with each scenario's amount for it
/// (`None` where the scenario has no row), in key order.
fn side_by_side<K: Ord>(
    scenarios: &[Scenario],
    rows: impl Fn(&Reconciliation) -> Vec<(K, Money)>,
) -> BTreeMap<K, Vec<Option<Money>>> {
    let mut table: BTreeMap<K, Vec<Option<Money>>> = BTreeMap::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        for (key, amount) in rows(&scenario.priced) {
            table
                .entry(key)
                .or_insert_with(|| vec![None; scenarios.len()])[index] = Some(amount);
        }
    }
    table
}

/// The rows of a comparison's table: one per key, with each scenario's
/// amount (`None` where the scenario has no row).
struct SideBySide<const N: usize>(BTreeMap<[String; N], Vec<Option<Money>>>);

/// The table of `rows`, named `name`: the key columns (text), then one
/// money column per scenario, named by its label (text in a CSV header,
/// quoted and neutralized as text is: labels are file paths as given).
fn side_by_side_table<'c, const N: usize>(
    name: &'c str,
    columns: &'c [(&'c str, ColumnType)],
) -> Table<'c, SideBySide<N>> {
    Table {
        name,
        columns,
        rows: side_by_side_rows::<N>,
    }
}

/// The columns of a comparison's table: `key_columns`, then each
/// scenario's label.
fn side_by_side_columns<'c>(
    key_columns: &[&'c str],
    scenarios: &'c [Scenario],
) -> Vec<(&'c str, ColumnType)> {
    let keys = key_columns.iter().map(|k| (*k, ColumnType::Text));
    let amounts = scenarios
        .iter()
        .map(|s| (s.label.as_str(), ColumnType::Money));
    keys.chain(amounts).collect()
}

/// Each row's key fields and amounts (empty where a scenario has no row).
fn side_by_side_rows<const N: usize>(
    rows: &SideBySide<N>,
    out: &mut dyn RowSink,
) -> std::io::Result<()> {
    for (key, amounts) in &rows.0 {
        let amounts: Vec<String> = amounts
            .iter()
            .map(|a| a.map(|m| m.to_string()).unwrap_or_default())
            .collect();
        let mut row: Vec<Cell> = key.iter().map(|k| Cell::Text(k)).collect();
        row.extend(amounts.iter().map(|a| Cell::Figure(a)));
        out.row(&row)?;
    }
    Ok(())
}

/// Writes `scenarios.csv` (one row per provider, type and period of any
/// scenario, the reconciliation amount under each scenario side by side,
/// empty where a scenario has no row), `scenarios_participants.csv` when
/// the scenarios settle participants (one row per provider and period
/// settled in any scenario, its net payment reconciliation amount under
/// each), and `summary.json` (totals per scenario); the tables in
/// `format`, named `scenarios` and `scenarios_participants` with its
/// extension.
pub fn write_scenarios(
    prior: &PriorRun,
    scenarios: &[Scenario],
    out: &Path,
    force: bool,
    format: OutputFormat,
) -> Result<(), report::Error> {
    let format = format.available()?;
    let providers = side_by_side(scenarios, |priced| {
        priced
            .providers
            .iter()
            .map(|p| {
                let key = [
                    p.provider_id.to_string(),
                    priced.types[p.episode_type].id.clone(),
                    p.period.clone(),
                ];
                (key, p.reconciliation_amount)
            })
            .collect()
    });
    let settles = scenarios.iter().any(|s| s.priced.participants.is_some());
    let participants = side_by_side(scenarios, |priced| {
        priced
            .participants
            .iter()
            .flat_map(|settled| &settled.rows)
            .map(|p| {
                let key = [p.provider_id.to_string(), p.period.clone()];
                (key, p.net_payment_reconciliation_amount)
            })
            .collect()
    });
    let summary = ScenariosSummary {
        run: prior.dir.display().to_string(),
        scenarios: scenarios
            .iter()
            .map(|s| {
                let priced = s.priced.priced_episodes();
                let total = s.priced.net_reconciliation();
                let settled = s.priced.participants.as_ref();
                ScenarioSummary {
                    target_prices: s.target_prices.clone(),
                    target_prices_fingerprint: s.priced.run.target_prices_fingerprint.clone(),
                    priced,
                    no_target_price: s.priced.episodes.len() - priced,
                    providers: s.priced.providers.len(),
                    reconciliation: total.to_string(),
                    participants: s.participants.clone(),
                    settlement: s.settlement.clone(),
                    participants_settled: settled.map(|p| p.rows.len()),
                    net_payment_reconciliation: s.priced.totals.net_payment.map(|n| n.to_string()),
                }
            })
            .collect(),
        warnings: scenario_warnings(scenarios)
            .map(report::WarningEntry::of)
            .collect(),
        excel_safe: format.summary_keys().0,
        output_format: format.summary_keys().1,
    };
    let (providers, participants) = (SideBySide(providers), SideBySide(participants));
    let provider_columns =
        side_by_side_columns(&["provider_id", "episode_type", "period"], scenarios);
    let participant_columns = side_by_side_columns(&["provider_id", "period"], scenarios);
    let provider_table = side_by_side_table("scenarios", &provider_columns);
    let participant_table = side_by_side_table("scenarios_participants", &participant_columns);
    let mut files = vec![
        report::table_file(&providers, &provider_table, format),
        OutputFile::new("summary.json", |w| report::write_json(w, &summary)),
    ];
    if settles {
        files.insert(
            1,
            report::table_file(&participants, &participant_table, format),
        );
    }
    report::write_folder(out, force, &files)
}
