//! True-up: compare two reconciliations of the same performance period and
//! settle only the difference.
//!
//! A payer reconciles a period after a short claims run-out, then runs the
//! reconciliation again as late claims, replacements and voids arrive. Money
//! already paid must not be paid twice, so what is due now is, per
//! `(provider, episode type, period)`, the current reconciliation amount
//! minus the previous one. This module reads nothing but two output folders
//! (through [`PriorRun`]): it matches episodes by id, says which are new,
//! dropped, changed or unchanged, and shows in its summary that the changes
//! add up to the difference between the two runs' totals.
//!
//! Runs that settled participants (`--participants`, `--settlement`) are
//! compared per participant and period too, in `true_up_participants.csv`:
//! the net payment reconciliation amount is what a TEAM hospital is paid or
//! repays, so it is what a true-up settles for it.
//!
//! Two runs are comparable only when they were made with the same
//! definitions and the same target prices (their fingerprints, recorded in
//! each `summary.json`, agree): a difference that comes from changed rules
//! or prices is not a true-up of late claims, and settling it as one would
//! hide a price change inside a claims correction.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::money::{Money, TooLarge};
use crate::output::report::{
    self, Cell, ColumnType, CsvView, OutputFile, OutputFormat, RowSink, Table,
};
use crate::runs::prior_run::{self, PriorEpisode, PriorParticipant, PriorProvider, PriorRun};

use Cell::{Figure, Text};

/// Why two runs could not be compared.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A run folder could not be read back.
    #[error(transparent)]
    Prior(#[from] prior_run::Error),
    /// The runs were made with different definitions or target prices, so
    /// their difference is not a true-up.
    #[error(
        "cannot true up {current} against {previous}: {what}; a true-up compares two runs of the same definitions and target prices that differ only in their claims"
    )]
    Incomparable {
        /// The previous run's folder.
        previous: PathBuf,
        /// The current run's folder.
        current: PathBuf,
        /// Which fingerprint differs, and what to do about it.
        what: Mismatch,
    },
    /// Two episodes of one run share an id (ids holding `:`), so episodes
    /// cannot be matched between runs by id.
    #[error(
        "{run}: episode id {id:?} is written twice; a true-up matches episodes by id, so beneficiary and claim ids must not hold ':' (RULES 19b)"
    )]
    SharedEpisodeId {
        /// The run folder.
        run: PathBuf,
        /// The id.
        id: String,
    },
    /// A change between the runs, or a total of changes, does not fit:
    /// amounts read back have up to 36 digits, and the difference of two
    /// may not.
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
}

impl crate::error::Classify for Error {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::Prior(e) => e.kind(),
            Error::Incomparable { .. } | Error::SharedEpisodeId { .. } => ErrorKind::InputData,
            Error::TooLarge(e) => e.kind(),
        }
    }
}

/// Which of the fingerprints recorded in two runs' summaries differ. Kept
/// apart from the message so callers (and tests) can tell the cases apart
/// without parsing text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The episode definitions differ (episode rules or pricing settings).
    Definitions {
        /// The previous run's definitions fingerprint.
        previous: String,
        /// The current run's definitions fingerprint.
        current: String,
    },
    /// The target prices differ.
    TargetPrices {
        /// The previous run's target prices fingerprint.
        previous: String,
        /// The current run's target prices fingerprint.
        current: String,
    },
    /// The risk factor files differ (or one run had none).
    RiskFactors {
        /// The previous run's risk factors fingerprint, empty without one.
        previous: String,
        /// The current run's, empty without one.
        current: String,
    },
    /// The participants or settlement files differ (or one run had none).
    Settlement {
        /// The previous run's settlement fingerprint, empty without one.
        previous: String,
        /// The current run's, empty without one.
        current: String,
    },
}

impl fmt::Display for Mismatch {
    /// Names the fingerprint, both values, and what to do instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Definitions { previous, current } => write!(
                f,
                "the runs were made with different episode definitions (definitions fingerprint {previous} before, {current} now); reconcile both with the same definitions folder, or treat the new definitions as a new reconciliation"
            ),
            Mismatch::TargetPrices { previous, current } => write!(
                f,
                "the runs were made with different target prices (target prices fingerprint {previous} before, {current} now); a price change is a reprice, not a true-up: price the earlier run again with the new prices (`episode-recon reprice`), or reconcile both with the same target prices file"
            ),
            Mismatch::RiskFactors { previous, current } => write!(
                f,
                "the runs were made with different risk factors (fingerprint {previous:?} before, {current:?} now; empty is none); a coefficient change is a reprice, not a true-up: use `episode-recon reprice --risk-factors`, or reconcile both with the same file"
            ),
            Mismatch::Settlement { previous, current } if previous.is_empty() => write!(
                f,
                "only the current run settled participants (settlement fingerprint {current}), so there is no earlier participant settlement to true up against; reconcile both runs with the same --participants and --settlement files, or both without"
            ),
            Mismatch::Settlement { previous, current } if current.is_empty() => write!(
                f,
                "only the previous run settled participants (settlement fingerprint {previous}), so its participant payments would be left without a current figure; reconcile both runs with the same --participants and --settlement files, or both without"
            ),
            Mismatch::Settlement { previous, current } => write!(
                f,
                "the runs were made with different participants or settlement files (fingerprint {previous:?} before, {current:?} now; empty is none); a track or quality score change is a reprice, not a true-up: use `episode-recon reprice --participants --settlement`, or reconcile both with the same files"
            ),
        }
    }
}

/// How an episode fared between the two runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// Only in the current run: a trigger that arrived late.
    New,
    /// Only in the previous run: its anchor was voided or replaced away.
    Dropped,
    /// In both, with some field of its `episodes.csv` row different.
    Changed,
    /// In both, identical.
    Unchanged,
}

impl Change {
    /// Every change, in the order of this enum (the README's table is
    /// checked against it).
    pub const ALL: [Change; 4] = [
        Change::New,
        Change::Dropped,
        Change::Changed,
        Change::Unchanged,
    ];

    /// The name written in `true_up_episodes.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Change::New => "new",
            Change::Dropped => "dropped",
            Change::Changed => "changed",
            Change::Unchanged => "unchanged",
        }
    }
}

/// One episode in either run: a row of `true_up_episodes.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpisodeChange {
    /// `TYPE:beneficiary:anchor`, the key episodes are matched on.
    pub episode_id: String,
    /// Episode type (the current run's, else the previous one's).
    pub episode_type: String,
    /// The beneficiary (the current run's, else the previous one's).
    pub beneficiary_id: String,
    /// New, dropped, changed or unchanged.
    pub change: Change,
    /// The previous run's row, if it had the episode.
    pub previous: Option<PriorEpisode>,
    /// The current run's row, if it has the episode.
    pub current: Option<PriorEpisode>,
    /// Current minus previous gain or loss, computed (checked) on matching.
    gain_loss_change: Money,
}

impl EpisodeChange {
    /// The previous gain or loss, 0.00 when absent or unpriced: what the
    /// episode contributed to the previous settlement.
    pub fn previous_gain_loss(&self) -> Money {
        gain_loss(&self.previous)
    }

    /// The current gain or loss, 0.00 when absent or unpriced.
    pub fn current_gain_loss(&self) -> Money {
        gain_loss(&self.current)
    }

    /// Current minus previous gain or loss: how much this episode moved
    /// the settlement before stop limits.
    pub fn gain_loss_change(&self) -> Money {
        self.gain_loss_change
    }
}

fn gain_loss(episode: &Option<PriorEpisode>) -> Money {
    episode
        .as_ref()
        .and_then(|e| e.gain_loss)
        .unwrap_or(Money::ZERO)
}

/// One `(provider, episode type, period)` in either run: a row of
/// `true_up_providers.csv`, and what is to be paid now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderChange {
    /// The provider.
    pub provider_id: String,
    /// Episode type.
    pub episode_type: String,
    /// Period.
    pub period: String,
    /// The previous run's row, if it had one.
    pub previous: Option<PriorProvider>,
    /// The current run's row, if it has one.
    pub current: Option<PriorProvider>,
    /// Current minus previous reconciliation, computed (checked) on matching.
    amount_due: Money,
}

impl ProviderChange {
    /// What was settled before (0.00 without a row).
    pub fn previous_reconciliation(&self) -> Money {
        reconciliation(&self.previous)
    }

    /// What would be settled now (0.00 without a row).
    pub fn current_reconciliation(&self) -> Money {
        reconciliation(&self.current)
    }

    /// The amount due now: current minus previous reconciliation, so that
    /// what was already settled is not settled twice (positive: the payer
    /// owes the provider).
    pub fn amount_due(&self) -> Money {
        self.amount_due
    }
}

fn reconciliation(provider: &Option<PriorProvider>) -> Money {
    provider
        .as_ref()
        .map_or(Money::ZERO, |p| p.reconciliation_amount)
}

/// One `(provider, period)` settled in either run: a row of
/// `true_up_participants.csv`, and what is to be paid to or repaid by the
/// participant now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantChange {
    /// The participant (a provider).
    pub provider_id: String,
    /// Period.
    pub period: String,
    /// The previous run's row, if it had one.
    pub previous: Option<PriorParticipant>,
    /// The current run's row, if it has one.
    pub current: Option<PriorParticipant>,
    /// Current minus previous net payment, computed (checked) on matching.
    amount_due: Money,
}

impl ParticipantChange {
    /// What was paid (or repaid) before: 0.00 without a row.
    pub fn previous_net_payment(&self) -> Money {
        net_payment(&self.previous)
    }

    /// What would be paid now: 0.00 without a row.
    pub fn current_net_payment(&self) -> Money {
        net_payment(&self.current)
    }

    /// Current minus previous net payment, as for providers: what was
    /// already paid is not paid twice (positive: Medicare owes the
    /// participant).
    pub fn amount_due(&self) -> Money {
        self.amount_due
    }
}

fn net_payment(participant: &Option<PriorParticipant>) -> Money {
    participant
        .as_ref()
        .map_or(Money::ZERO, |p| p.net_payment_reconciliation_amount)
}

/// The comparison of two runs: every episode and provider row of either,
/// matched, and the reconciliation totals each run reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrueUp {
    /// The previous run's folder, as given.
    pub previous: PathBuf,
    /// The current run's folder, as given.
    pub current: PathBuf,
    /// Episodes by id.
    pub episodes: Vec<EpisodeChange>,
    /// Provider rows by provider, type and period (text order).
    pub providers: Vec<ProviderChange>,
    /// Participant rows by provider and period (text order), when both
    /// runs settled participants; `None` when neither did (runs where only
    /// one did are refused: their settlement fingerprints differ).
    pub participants: Option<Vec<ParticipantChange>>,
    /// `money.reconciliation` of the previous run's summary, to check that
    /// its provider rows were read whole.
    pub previous_reported: Money,
    /// `money.reconciliation` of the current run's summary.
    pub current_reported: Money,
    /// Counts and totals, summed (checked) on comparing.
    summary: Summary,
}

/// `current − previous`, or [`TooLarge`] naming `what` in the current run's
/// `file`: each side may be a 36-digit amount read back.
fn difference(
    file: &Path,
    what: impl fmt::Display,
    current: Money,
    previous: Money,
) -> Result<Money, TooLarge> {
    current.checked_sub(previous).ok_or_else(|| {
        TooLarge::new(format!(
            "{}: {what}: the change (current {current} − previous {previous})",
            file.display()
        ))
    })
}

/// A warning when `previous` saw claims `current` did not (its cutoff is
/// later, or it had none and `current` has one): a later run sees at
/// least the claims of an earlier one, so the two are likely swapped.
pub fn swapped_runs(previous: &PriorRun, current: &PriorRun) -> Option<String> {
    let cutoff = |run: &PriorRun| {
        run.as_of()
            .map_or("no cutoff".to_owned(), |d| format!("cutoff {d}"))
    };
    let swapped = match (previous.as_of(), current.as_of()) {
        (Some(earlier), Some(later)) => later < earlier,
        (None, Some(_)) => true,
        (_, None) => false,
    };
    swapped.then(|| {
        format!(
            "--previous ({}) saw claims that --current ({}) did not: are the two runs swapped?",
            cutoff(previous),
            cutoff(current)
        )
    })
}

/// Compares two runs of the same definitions and target prices.
///
/// Refuses ([`Error::Incomparable`]) runs whose definitions or target
/// prices fingerprints differ: only a difference in claims is a true-up.
pub fn compare(previous: &PriorRun, current: &PriorRun) -> Result<TrueUp, Error> {
    if let Some(warning) = swapped_runs(previous, current) {
        tracing::warn!("{warning}");
    }
    let (p, c) = (&previous.record, &current.record);
    let mismatch = if p.definitions_fingerprint != c.definitions_fingerprint {
        Some(Mismatch::Definitions {
            previous: p.definitions_fingerprint.clone(),
            current: c.definitions_fingerprint.clone(),
        })
    } else if p.target_prices_fingerprint != c.target_prices_fingerprint {
        Some(Mismatch::TargetPrices {
            previous: p.target_prices_fingerprint.clone(),
            current: c.target_prices_fingerprint.clone(),
        })
    } else if p.risk_factors_fingerprint != c.risk_factors_fingerprint {
        Some(Mismatch::RiskFactors {
            previous: p.risk_factors_fingerprint.clone().unwrap_or_default(),
            current: c.risk_factors_fingerprint.clone().unwrap_or_default(),
        })
    } else if p.settlement_fingerprint != c.settlement_fingerprint {
        Some(Mismatch::Settlement {
            previous: p.settlement_fingerprint.clone().unwrap_or_default(),
            current: c.settlement_fingerprint.clone().unwrap_or_default(),
        })
    } else {
        None
    };
    if let Some(what) = mismatch {
        return Err(Error::Incomparable {
            previous: previous.dir.clone(),
            current: current.dir.clone(),
            what,
        });
    }

    let mut episodes: BTreeMap<&str, (Option<&PriorEpisode>, Option<&PriorEpisode>)> =
        BTreeMap::new();
    for (run, is_current) in [(previous, false), (current, true)] {
        for e in &run.episodes {
            let pair = episodes.entry(&e.episode_id).or_default();
            let side = if is_current { &mut pair.1 } else { &mut pair.0 };
            if side.replace(e).is_some() {
                return Err(Error::SharedEpisodeId {
                    run: run.dir.clone(),
                    id: e.episode_id.clone(),
                });
            }
        }
    }
    let episodes_file = current.table_path(&report::EPISODES);
    let episodes = episodes
        .into_iter()
        .map(|(id, (before, now))| -> Result<EpisodeChange, TooLarge> {
            let change = match (before, now) {
                (None, _) => Change::New,
                (_, None) => Change::Dropped,
                // Every field of the row that a run computes is in
                // `PriorEpisode` (status, cancel reason and risk levels
                // included), so row equality is this.
                (Some(b), Some(n)) if b == n => Change::Unchanged,
                _ => Change::Changed,
            };
            let either = now.or(before).expect("one side is present");
            let previous = before.cloned();
            let current_row = now.cloned();
            let gain_loss_change = difference(
                &episodes_file,
                format_args!("episode {id}: gain_loss"),
                gain_loss(&current_row),
                gain_loss(&previous),
            )?;
            Ok(EpisodeChange {
                episode_id: id.to_owned(),
                episode_type: either.episode_type.clone(),
                beneficiary_id: either.beneficiary_id.to_string(),
                change,
                previous,
                current: current_row,
                gain_loss_change,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    type Key<'a> = (&'a str, &'a str, &'a str);
    let mut providers: BTreeMap<Key, (Option<&PriorProvider>, Option<&PriorProvider>)> =
        BTreeMap::new();
    for p in &previous.providers {
        providers
            .entry((&p.provider_id, &p.episode_type, &p.period))
            .or_default()
            .0 = Some(p);
    }
    for p in &current.providers {
        providers
            .entry((&p.provider_id, &p.episode_type, &p.period))
            .or_default()
            .1 = Some(p);
    }
    let providers_file = current.table_path(&report::PROVIDERS);
    let providers = providers
        .into_iter()
        .map(|((provider, episode_type, period), (before, now))| {
            let (previous, current_row) = (before.cloned(), now.cloned());
            let amount_due = difference(
                &providers_file,
                format_args!(
                    "provider {provider}, episode type {episode_type}, period {period}: reconciliation_amount"
                ),
                reconciliation(&current_row),
                reconciliation(&previous),
            )?;
            Ok(ProviderChange {
                provider_id: provider.to_owned(),
                episode_type: episode_type.to_owned(),
                period: period.to_owned(),
                previous,
                current: current_row,
                amount_due,
            })
        })
        .collect::<Result<Vec<_>, TooLarge>>()?;

    // Equal settlement fingerprints mean both runs settled participants or
    // neither did (`PriorRun::load` ties `participants.csv` to the
    // fingerprint), so a one-sided pair is never compared as if the missing
    // side had paid nothing.
    let participants = match (&previous.participants, &current.participants) {
        (Some(before), Some(now)) => {
            let file = current.table_path(&report::PARTICIPANTS);
            Some(match_participants(&file, before, now)?)
        }
        _ => None,
    };

    let previous_reported = reported_reconciliation(previous)?;
    let current_reported = reported_reconciliation(current)?;
    let summary = Summary::of(
        &format!(
            "true-up of {} against {}",
            current.dir.display(),
            previous.dir.display()
        ),
        &episodes,
        &providers,
        participants.as_deref(),
        (previous_reported, current_reported),
    )?;
    Ok(TrueUp {
        previous: previous.dir.clone(),
        current: current.dir.clone(),
        episodes,
        providers,
        participants,
        previous_reported,
        current_reported,
        summary,
    })
}

/// The participant rows of two runs matched by provider and period.
fn match_participants(
    current_file: &Path,
    before: &[PriorParticipant],
    now: &[PriorParticipant],
) -> Result<Vec<ParticipantChange>, TooLarge> {
    type Pair<'a> = (Option<&'a PriorParticipant>, Option<&'a PriorParticipant>);
    let mut rows: BTreeMap<(&str, &str), Pair> = BTreeMap::new();
    for p in before {
        rows.entry((&p.provider_id, &p.period)).or_default().0 = Some(p);
    }
    for p in now {
        rows.entry((&p.provider_id, &p.period)).or_default().1 = Some(p);
    }
    rows.into_iter()
        .map(|((provider, period), (b, n))| {
            let (previous, current) = (b.cloned(), n.cloned());
            let amount_due = difference(
                current_file,
                format_args!(
                    "participant {provider}, period {period}: net_payment_reconciliation_amount"
                ),
                net_payment(&current),
                net_payment(&previous),
            )?;
            Ok(ParticipantChange {
                provider_id: provider.to_owned(),
                period: period.to_owned(),
                previous,
                current,
                amount_due,
            })
        })
        .collect()
}

/// `money.reconciliation` of a run's summary.
fn reported_reconciliation(run: &PriorRun) -> Result<Money, Error> {
    run.summary["money"]["reconciliation"]
        .as_str()
        .and_then(|t| Money::parse_total(t.as_bytes()))
        .ok_or_else(|| {
            Error::Prior(prior_run::Error::Key {
                path: run.dir.join("summary.json"),
                key: "money.reconciliation".into(),
                problem: "missing or not an amount".into(),
            })
        })
}

/// Previous and current totals of one figure, the change between them, and
/// whether the change is exactly their difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Totals {
    /// Sum over the previous run.
    pub previous: Money,
    /// Sum over the current run.
    pub current: Money,
    /// Sum of the row-by-row changes.
    pub change: Money,
    /// `current − previous == change`.
    pub adds_up: bool,
}

impl Totals {
    /// Sums previous, current and change over `rows`, checked: each is a
    /// sum of amounts read back (36 digits), so may not fit. `what` names
    /// the figure in the error.
    fn of(
        what: &str,
        rows: impl Iterator<Item = (Money, Money, Money)>,
    ) -> Result<Totals, TooLarge> {
        let (mut previous, mut current, mut change) = (Money::ZERO, Money::ZERO, Money::ZERO);
        let too_large = |side: &str| TooLarge::new(format!("{what}: the {side} total"));
        for (p, c, d) in rows {
            previous = previous
                .checked_add(p)
                .ok_or_else(|| too_large("previous"))?;
            current = current.checked_add(c).ok_or_else(|| too_large("current"))?;
            change = change.checked_add(d).ok_or_else(|| too_large("change"))?;
        }
        Ok(Totals {
            previous,
            current,
            change,
            // A difference that does not fit does not add up to `change`,
            // which does.
            adds_up: current.checked_sub(previous) == Some(change),
        })
    }
}

/// The figures of `summary.json`: counts of each kind of change, and the
/// checks that the row-by-row changes add up to the runs' totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Episodes only in the current run.
    pub new: u64,
    /// Episodes only in the previous run.
    pub dropped: u64,
    /// Episodes in both that differ.
    pub changed: u64,
    /// Episodes in both that are identical.
    pub unchanged: u64,
    /// Episode gain/loss (absent counts 0.00); `change` sums
    /// `gain_loss_change`.
    pub gain_loss: Totals,
    /// Provider reconciliation amounts; `change` sums `amount_due`.
    pub reconciliation: Totals,
    /// Participants' net payment reconciliation amounts; `change` sums
    /// their `amount_due`. `None` when the runs did not settle
    /// participants.
    pub participants: Option<Totals>,
    /// Whether each run's provider rows sum to the reconciliation its own
    /// summary reported (previous, current).
    pub matches_reported: (bool, bool),
    /// Every check above holds.
    pub check: bool,
}

impl TrueUp {
    /// Counts and totals, with the checks that they add up.
    pub fn summary(&self) -> Summary {
        self.summary
    }

    /// The paragraph `true-up` prints: what changed between `previous` and
    /// `current`, what is due, and whether the changes add up.
    pub fn paragraph(&self, previous: &Path, current: &Path, out: &Path) -> String {
        let s = &self.summary;
        let participants = s.participants.map_or_else(String::new, |p| {
            format!(
                " Participants were paid {} and are now owed {}: {} is due.",
                p.previous, p.current, p.change
            )
        });
        format!(
            "Compared {} with {}: {} new, {} dropped, {} changed and {} unchanged episode(s). \
             Providers were settled {} and are now owed {}: {} is due.{} The changes {}. Outputs in {}.",
            previous.display(),
            current.display(),
            s.new,
            s.dropped,
            s.changed,
            s.unchanged,
            s.reconciliation.previous,
            s.reconciliation.current,
            s.reconciliation.change,
            participants,
            if s.check {
                "add up"
            } else {
                "do NOT add up: see summary.json"
            },
            out.display()
        )
    }
}

impl Summary {
    /// Counts and totals of matched rows; `run` names the comparison in an
    /// error, `reported` is each run's `money.reconciliation`.
    fn of(
        run: &str,
        episodes: &[EpisodeChange],
        providers: &[ProviderChange],
        participants: Option<&[ParticipantChange]>,
        reported: (Money, Money),
    ) -> Result<Summary, TooLarge> {
        let count = |change| episodes.iter().filter(|e| e.change == change).count() as u64;
        let gain_loss = Totals::of(
            &format!("{run}: gain_loss"),
            episodes.iter().map(|e| {
                (
                    e.previous_gain_loss(),
                    e.current_gain_loss(),
                    e.gain_loss_change(),
                )
            }),
        )?;
        let reconciliation = Totals::of(
            &format!("{run}: reconciliation"),
            providers.iter().map(|p| {
                (
                    p.previous_reconciliation(),
                    p.current_reconciliation(),
                    p.amount_due(),
                )
            }),
        )?;
        let participants = participants
            .map(|rows| {
                Totals::of(
                    &format!("{run}: participants"),
                    rows.iter().map(|p| {
                        (
                            p.previous_net_payment(),
                            p.current_net_payment(),
                            p.amount_due(),
                        )
                    }),
                )
            })
            .transpose()?;
        let matches_reported = (
            reconciliation.previous == reported.0,
            reconciliation.current == reported.1,
        );
        Ok(Summary {
            new: count(Change::New),
            dropped: count(Change::Dropped),
            changed: count(Change::Changed),
            unchanged: count(Change::Unchanged),
            gain_loss,
            reconciliation,
            participants,
            matches_reported,
            check: gain_loss.adds_up
                && reconciliation.adds_up
                && participants.is_none_or(|p| p.adds_up)
                && matches_reported.0
                && matches_reported.1,
        })
    }
}

/// Writes the three outputs (four when the runs settled participants) into
/// `out` through [`report::write_folder`], so they appear whole or not at
/// all; `out` must be new or empty unless `force`. `view` is
/// [`CsvView::Exact`] unless the user asked for `--excel-safe`.
pub fn write(
    true_up: &TrueUp,
    out: &Path,
    force: bool,
    view: CsvView,
) -> Result<(), report::Error> {
    write_as(true_up, out, force, OutputFormat::Csv(view))
}

/// [`write`] with the tables in `format`, in this order: [`EPISODES`],
/// [`PROVIDERS`] (each named after its table, with the extension of
/// `format`), `summary.json`, and [`PARTICIPANTS`] when both runs settled
/// participants.
pub fn write_as(
    true_up: &TrueUp,
    out: &Path,
    force: bool,
    format: OutputFormat,
) -> Result<(), report::Error> {
    let format = format.available()?;
    let mut files = vec![
        report::table_file(true_up, &EPISODES, format),
        report::table_file(true_up, &PROVIDERS, format),
        OutputFile::new("summary.json", move |w| {
            write_summary_as(true_up, format, w)
        }),
    ];
    if true_up.participants.is_some() {
        files.push(report::table_file(true_up, &PARTICIPANTS, format));
    }
    report::write_folder(out, force, &files)
}

/// A field that is empty when absent.
fn optional<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(String::new, |v| v.to_string())
}

/// `true_up_episodes.csv`: every episode of either run, by id.
pub const EPISODES: Table<'static, TrueUp> = Table {
    name: "true_up_episodes",
    columns: &[
        ("episode_id", ColumnType::Text),
        ("episode_type", ColumnType::Text),
        ("beneficiary_id", ColumnType::Text),
        ("change", ColumnType::Text),
        ("previous_provider_id", ColumnType::Text),
        ("current_provider_id", ColumnType::Text),
        ("previous_period", ColumnType::Text),
        ("current_period", ColumnType::Text),
        ("previous_actual", ColumnType::Money),
        ("current_actual", ColumnType::Money),
        ("previous_target", ColumnType::Money),
        ("current_target", ColumnType::Money),
        ("previous_gain_loss", ColumnType::Money),
        ("current_gain_loss", ColumnType::Money),
        ("gain_loss_change", ColumnType::Money),
        ("previous_status", ColumnType::Text),
        ("current_status", ColumnType::Text),
        ("previous_cancel_reason", ColumnType::Text),
        ("current_cancel_reason", ColumnType::Text),
    ],
    rows: episode_rows,
};

fn episode_rows(true_up: &TrueUp, out: &mut dyn RowSink) -> io::Result<()> {
    for e in &true_up.episodes {
        let (p, c) = (e.previous.as_ref(), e.current.as_ref());
        out.row(&[
            Text(&e.episode_id),
            Text(&e.episode_type),
            Text(&e.beneficiary_id),
            Text(&e.change.name()),
            Text(&optional(p.map(|p| &p.provider_id))),
            Text(&optional(c.map(|c| &c.provider_id))),
            Text(&optional(p.map(|p| &p.period))),
            Text(&optional(c.map(|c| &c.period))),
            Figure(&optional(
                p.filter(|p| p.cancel.is_none()).map(|p| p.actual),
            )),
            Figure(&optional(
                c.filter(|c| c.cancel.is_none()).map(|c| c.actual),
            )),
            Figure(&optional(p.and_then(|p| p.target))),
            Figure(&optional(c.and_then(|c| c.target))),
            Figure(&optional(p.and_then(|p| p.gain_loss))),
            Figure(&optional(c.and_then(|c| c.gain_loss))),
            Figure(&e.gain_loss_change()),
            Text(&optional(p.map(|p| p.status.name()))),
            Text(&optional(c.map(|c| c.status.name()))),
            Text(&optional(p.and_then(|p| p.cancel.as_ref()))),
            Text(&optional(c.and_then(|c| c.cancel.as_ref()))),
        ])?;
    }
    Ok(())
}

/// `true_up_providers.csv`: every `(provider, type, period)` of either run,
/// with the amount due now.
pub const PROVIDERS: Table<'static, TrueUp> = Table {
    name: "true_up_providers",
    columns: &[
        ("provider_id", ColumnType::Text),
        ("episode_type", ColumnType::Text),
        ("period", ColumnType::Text),
        ("previous_episodes", ColumnType::Integer),
        ("current_episodes", ColumnType::Integer),
        ("previous_limit", ColumnType::Text),
        ("current_limit", ColumnType::Text),
        ("previous_reconciliation", ColumnType::Money),
        ("current_reconciliation", ColumnType::Money),
        ("amount_due", ColumnType::Money),
    ],
    rows: provider_rows,
};

fn provider_rows(true_up: &TrueUp, out: &mut dyn RowSink) -> io::Result<()> {
    for p in &true_up.providers {
        let (before, now) = (p.previous.as_ref(), p.current.as_ref());
        out.row(&[
            Text(&p.provider_id),
            Text(&p.episode_type),
            Text(&p.period),
            Figure(&before.map_or(0, |b| b.episodes)),
            Figure(&now.map_or(0, |n| n.episodes)),
            Text(&optional(before.map(|b| &b.limit))),
            Text(&optional(now.map(|n| &n.limit))),
            Figure(&p.previous_reconciliation()),
            Figure(&p.current_reconciliation()),
            Figure(&p.amount_due()),
        ])?;
    }
    Ok(())
}

/// `true_up_participants.csv`: every `(provider, period)` settled in either
/// run, with track, quality score and net payment on each side (track and
/// score empty, payment 0.00, where a side has no row) and the amount due
/// now. Written only when both runs settled participants.
pub const PARTICIPANTS: Table<'static, TrueUp> = Table {
    name: "true_up_participants",
    columns: &[
        ("provider_id", ColumnType::Text),
        ("period", ColumnType::Text),
        ("previous_track", ColumnType::Text),
        ("current_track", ColumnType::Text),
        ("previous_quality_score", ColumnType::Decimal),
        ("current_quality_score", ColumnType::Decimal),
        ("previous_net_payment", ColumnType::Money),
        ("current_net_payment", ColumnType::Money),
        ("amount_due", ColumnType::Money),
    ],
    rows: participant_rows,
};

fn participant_rows(true_up: &TrueUp, out: &mut dyn RowSink) -> io::Result<()> {
    for p in true_up.participants.iter().flatten() {
        let (before, now) = (p.previous.as_ref(), p.current.as_ref());
        out.row(&[
            Text(&p.provider_id),
            Text(&p.period),
            Text(&optional(before.map(|b| &b.track))),
            Text(&optional(now.map(|n| &n.track))),
            Figure(&optional(before.map(|b| &b.quality_score))),
            Figure(&optional(now.map(|n| &n.quality_score))),
            Figure(&p.previous_net_payment()),
            Figure(&p.current_net_payment()),
            Figure(&p.amount_due()),
        ])?;
    }
    Ok(())
}

#[derive(Serialize)]
struct SummaryJson {
    previous: String,
    current: String,
    episodes: CountsJson,
    gain_loss: TotalsJson,
    reconciliation: ReconciliationJson,
    check: bool,
    /// After `check`, as keys are added to summaries: null when the runs
    /// did not settle participants.
    participants: Option<ReconciliationJson>,
    /// `true` when the CSV files were written with `--excel-safe`; absent
    /// otherwise, so an exact true-up's summary is as before.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    excel_safe: bool,
    /// `"parquet"` when the tables were written as Parquet; absent for
    /// CSV, so a CSV true-up's summary is as before.
    #[serde(skip_serializing_if = "Option::is_none")]
    output_format: Option<&'static str>,
}

#[derive(Serialize)]
struct CountsJson {
    new: u64,
    dropped: u64,
    changed: u64,
    unchanged: u64,
}

#[derive(Serialize)]
struct TotalsJson {
    previous: String,
    current: String,
    change: String,
    adds_up: bool,
}

#[derive(Serialize)]
struct ReconciliationJson {
    previous: String,
    current: String,
    amount_due: String,
    adds_up: bool,
}

/// `summary.json`: the counts, the totals, and whether the changes add up.
pub fn write_summary(true_up: &TrueUp, view: CsvView, out: &mut dyn Write) -> io::Result<()> {
    write_summary_as(true_up, OutputFormat::Csv(view), out)
}

/// `summary.json` of a true-up whose tables are written in `format`.
pub fn write_summary_as(
    true_up: &TrueUp,
    format: OutputFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    let s = true_up.summary();
    let json = SummaryJson {
        previous: true_up.previous.display().to_string(),
        current: true_up.current.display().to_string(),
        episodes: CountsJson {
            new: s.new,
            dropped: s.dropped,
            changed: s.changed,
            unchanged: s.unchanged,
        },
        gain_loss: TotalsJson {
            previous: s.gain_loss.previous.to_string(),
            current: s.gain_loss.current.to_string(),
            change: s.gain_loss.change.to_string(),
            adds_up: s.gain_loss.adds_up,
        },
        reconciliation: ReconciliationJson {
            previous: s.reconciliation.previous.to_string(),
            current: s.reconciliation.current.to_string(),
            amount_due: s.reconciliation.change.to_string(),
            adds_up: s.reconciliation.adds_up,
        },
        check: s.check,
        participants: s.participants.map(|p| ReconciliationJson {
            previous: p.previous.to_string(),
            current: p.current.to_string(),
            amount_due: p.change.to_string(),
            adds_up: p.adds_up,
        }),
        excel_safe: format.summary_keys().0,
        output_format: format.summary_keys().1,
    };
    report::write_json(out, &json)
}
