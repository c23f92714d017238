//! Pricing an earlier run again, with other target prices or pricing
//! settings, without reading its claims (`reprice`), and comparing several
//! price files side by side (`scenarios`).
//!
//! Everything pricing needs is in the run's outputs: one actual amount per
//! episode, its type, provider, price group and end date. So a repriced run
//! is the full reconciliation with the new prices, byte for byte, at the
//! cost of reading one row per episode. Changes that would change which
//! lines an episode takes in (triggers, windows, inclusion, exclusion) need
//! the claims again and are refused.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::definitions::EpisodeDefinition;
use crate::fingerprint::{RunRecord, TypeRecord, digest};
use crate::money::Money;
use crate::prices::TargetPrices;
use crate::pricing::{self, InexactError, TypePricing};
use crate::prior_run::{self, PriorRun};
use crate::reconcile::{Reconciliation, SettlementInputs};
use crate::report::{self, OutputFile};
use crate::risk_factors::RiskFactors;
use crate::settlement;

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
    /// A price cannot be computed exactly.
    #[error(transparent)]
    Inexact(#[from] InexactError),
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

/// The types to price with and the run record of the result: from new
/// definitions after checking that only their pricing changed, else as the
/// run recorded them.
fn types_for(
    prior: &PriorRun,
    definitions: Option<(&Path, &[EpisodeDefinition])>,
    prices: &TargetPrices,
) -> Result<(Vec<TypePricing>, RunRecord), Error> {
    let Some((folder, definitions)) = definitions else {
        let types = prior
            .record
            .definitions
            .iter()
            .map(|t| {
                let pricing = t.pricing.to_pricing().ok_or_else(|| Error::BadRecord {
                    run: prior.dir.clone(),
                    id: t.id.clone(),
                })?;
                Ok(TypePricing {
                    id: t.id.clone(),
                    post_days: t.post_days,
                    pricing,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
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
/// `[pricing]` tables.
pub fn reprice(
    prior: &PriorRun,
    definitions: Option<(&Path, &[EpisodeDefinition])>,
    prices: &TargetPrices,
    with: &RepriceWith<'_>,
) -> Result<Reconciliation, Error> {
    let (types, run) = types_for(prior, definitions, prices)?;
    let run = run.with_pricing_inputs(
        with.risk_factors,
        with.settlement.map(|s| (&s.participants, &s.settlement)),
    );
    // Every type of the run is in `types` (checked above, or taken from the
    // run itself), so a type the episodes name is always found.
    let figures = prior.figures(&types).map_err(|id| Error::NeedsClaims {
        definitions: prior.dir.clone(),
        id,
        what: "the run has episodes of it but no definition".into(),
    })?;
    let accounting = prior.accounting(&types)?;
    let beneficiaries = prior.beneficiaries()?;
    let episodes = pricing::price(figures, &types, prices, with.risk_factors)?;
    let providers = pricing::reconcile_providers(&episodes, &types);
    let participants = with
        .settlement
        .map(|s| settlement::settle(&episodes, &s.participants, &s.settlement))
        .transpose()?;
    Ok(Reconciliation {
        files: Vec::new(),
        claim_files: 0,
        ledgers: Vec::new(),
        rejects: Vec::new(),
        types,
        episodes,
        providers,
        accounting,
        as_of: prior.as_of(),
        beneficiaries,
        participants,
        run,
    })
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
/// neither.
pub fn write(
    repriced: &Reconciliation,
    prior: &PriorRun,
    out: &Path,
    force: bool,
) -> Result<(), report::Error> {
    let ledger = prior.dir.join("ledger.csv");
    let rejects = prior.dir.join("rejects.csv");
    let mut files = vec![
        OutputFile::new("episodes.csv", |w: &mut dyn Write| {
            report::write_episodes(repriced, w)
        }),
        OutputFile::new("providers.csv", |w: &mut dyn Write| {
            report::write_providers(repriced, w)
        }),
        OutputFile::copy("ledger.csv", &ledger),
        OutputFile::copy("rejects.csv", &rejects),
        OutputFile::new("summary.json", |w: &mut dyn Write| {
            report::write_summary(repriced, w)
        }),
    ];
    if repriced.participants.is_some() {
        files.push(OutputFile::new(
            report::PARTICIPANTS_FILE,
            |w: &mut dyn Write| report::write_participants(repriced, w),
        ));
    }
    report::write_folder(out, force, &files)
}

/// One price file's outcome in a scenario comparison.
#[derive(Debug)]
pub struct Scenario {
    /// The price file as given.
    pub label: String,
    /// The run priced with it.
    pub priced: Reconciliation,
}

/// Prices `prior` with each price file: the analyst's side-by-side view.
pub fn scenarios(
    prior: &PriorRun,
    price_files: &[(String, TargetPrices)],
    with: &RepriceWith<'_>,
) -> Result<Vec<Scenario>, Error> {
    price_files
        .iter()
        .map(|(label, prices)| {
            Ok(Scenario {
                label: label.clone(),
                priced: reprice(prior, None, prices, with)?,
            })
        })
        .collect()
}

/// `summary.json` of a scenario comparison, keys in this order.
#[derive(Serialize)]
struct ScenariosSummary {
    run: String,
    scenarios: Vec<ScenarioSummary>,
}

#[derive(Serialize)]
struct ScenarioSummary {
    target_prices: String,
    target_prices_fingerprint: String,
    priced: usize,
    no_target_price: usize,
    providers: usize,
    reconciliation: String,
}

/// Writes `scenarios.csv` (one row per provider, type and period of any
/// scenario, the reconciliation amount under each price file side by side,
/// empty where a scenario has no row) and `summary.json` (totals per
/// scenario).
pub fn write_scenarios(
    prior: &PriorRun,
    scenarios: &[Scenario],
    out: &Path,
    force: bool,
) -> Result<(), report::Error> {
    type Key = (String, String, String);
    let mut table: BTreeMap<Key, Vec<Option<Money>>> = BTreeMap::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        for p in &scenario.priced.providers {
            let key = (
                p.provider_id.to_string(),
                scenario.priced.types[p.episode_type].id.clone(),
                p.period.clone(),
            );
            table
                .entry(key)
                .or_insert_with(|| vec![None; scenarios.len()])[index] =
                Some(p.reconciliation_amount);
        }
    }
    let write_table = |w: &mut dyn Write| {
        let mut header = vec![
            "provider_id".to_owned(),
            "episode_type".into(),
            "period".into(),
        ];
        header.extend(scenarios.iter().map(|s| s.label.clone()));
        report::write_row(w, &header)?;
        for ((provider, episode_type, period), amounts) in &table {
            let mut row = vec![provider.clone(), episode_type.clone(), period.clone()];
            row.extend(
                amounts
                    .iter()
                    .map(|a| a.map(|m| m.to_string()).unwrap_or_default()),
            );
            report::write_row(w, &row)?;
        }
        Ok(())
    };
    let summary = ScenariosSummary {
        run: prior.dir.display().to_string(),
        scenarios: scenarios
            .iter()
            .map(|s| {
                let priced = s.priced.priced_episodes();
                let total = s.priced.net_reconciliation();
                ScenarioSummary {
                    target_prices: s.label.clone(),
                    target_prices_fingerprint: s.priced.run.target_prices_fingerprint.clone(),
                    priced,
                    no_target_price: s.priced.episodes.len() - priced,
                    providers: s.priced.providers.len(),
                    reconciliation: total.to_string(),
                }
            })
            .collect(),
    };
    let write_summary = |w: &mut dyn Write| report::write_json(w, &summary);
    report::write_folder(
        out,
        force,
        &[
            OutputFile::new("scenarios.csv", write_table),
            OutputFile::new("summary.json", write_summary),
        ],
    )
}
