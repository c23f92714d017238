//! One reconciliation run, end to end: read claims in parallel chunks
//! (while the enrollment loads beside them on the same pool), route them by
//! beneficiary into partitions
//! (spilled to disk past the memory limit), resolve final action and build
//! episodes per beneficiary in parallel, then price episodes and reconcile
//! providers.
//!
//! The per-beneficiary step is [`reconcile_beneficiary`], a pure function;
//! everything before it only routes rows, and everything after it sees
//! episode-level figures. Every output is sorted on the contract's keys
//! before it leaves here, so thread count and arrival order cannot change a
//! byte.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::definitions::{AGE_FACTOR, EpisodeDefinition};
use crate::config::fingerprint::RunRecord;
use crate::config::prices::TargetPrices;
use crate::config::risk_factors::RiskFactors;
use crate::config::settlement::{Participants, Settlement};
use crate::engine::beneficiary::{BeneficiaryResult, EpisodeTypes, reconcile_beneficiary};
use crate::engine::encoding::EncodedRows;
use crate::engine::episodes::{EpisodeDraft, LedgerLine};
use crate::engine::final_action::{self, VersionReject};
use crate::engine::grouped::{Admission, ChunkWork, Grouping, NotGrouped};
use crate::engine::ledger::{Ledgers, PartLedger};
use crate::engine::partitions::{BeneficiaryRows, ChunkRows, Partitions, partition_of};
use crate::engine::pricing::{
    self, EpisodeFigures, PriceError, PricedEpisode, ProviderResult, TypePricing,
};
use crate::engine::settle::{self, Settled};
use crate::engine::spill::{Spill, SpilledRows};
use crate::input::beneficiaries::{self, BeneficiariesFormat, Enrollment, SettledPart};
use crate::input::claims::{self, Chunking, Reading};
use crate::input::compressed::Compression;
use crate::input::formats::{ClaimsFormat, Detected};
use crate::input::source::{Input, Spools};
use crate::model::Date;
use crate::model::Text;
use crate::model::money::{Money, TooLarge};
use crate::model::outcome::{
    Accounting, BeneficiaryCounts, Reject, RejectReason, RowView, TypeTally, VersionKey,
};
use crate::model::warning::Warning;
use crate::model::{LineRef, same_text};
use crate::runtime::NOTICE;
use crate::runtime::progress::Progress;
use crate::runtime::tunables::{PartitionedClaims, Tunables};

/// Everything a run reads, already loaded and validated except the claims.
#[derive(Debug)]
pub struct Inputs {
    /// Claims files (folders already expanded) and tables, in reading
    /// order.
    pub claims: Vec<Input>,
    /// Episode types, sorted by id.
    pub definitions: Vec<EpisodeDefinition>,
    /// Target prices.
    pub prices: TargetPrices,
    /// Run-out cutoff: versions processed after it are not yet received.
    pub as_of: Option<Date>,
    /// Make the first rejected row a fatal error, stopping as soon as it
    /// is known (RULES 26).
    pub strict: bool,
    /// Parsed claims beyond this many bytes (estimated), or once the
    /// process nears it ([`Tunables::must_spill`]), are spilled to disk and
    /// built one partition at a time; `None`, never spill.
    pub memory_limit: Option<u64>,
    /// Where spill files go (a folder on a real disk: spilling into a
    /// memory-backed temporary folder would defeat the limit).
    pub spill_dir: PathBuf,
    /// The claims files' format.
    pub format: ClaimsFormat,
    /// Beneficiaries files (folders already expanded) and tables, in
    /// reading order; empty without `--beneficiaries`.
    pub beneficiaries: Vec<Input>,
    /// The beneficiaries files' format (`--beneficiaries-format`).
    pub beneficiaries_format: BeneficiariesFormat,
    /// Risk factor multipliers, needed when a definition has `[risk]`.
    pub risk_factors: Option<RiskFactors>,
    /// Participants and their settlement tracks, to settle per participant.
    pub settlement: Option<SettlementInputs>,
    /// Chunk size, partitions and the other settings that change how fast
    /// and in how much memory a run goes, never its outputs.
    pub tunables: Tunables,
}

/// `--participants` and `--settlement`, which are given together.
#[derive(Debug)]
pub struct SettlementInputs {
    /// Which track and quality score each provider has per period.
    pub participants: Participants,
    /// The tracks.
    pub settlement: Settlement,
}

impl Inputs {
    /// Inputs with the defaults: no cutoff, not strict, no memory limit,
    /// spill files (never needed then) in the system's temporary folder.
    pub fn new(
        claims: Vec<PathBuf>,
        definitions: Vec<EpisodeDefinition>,
        prices: TargetPrices,
    ) -> Inputs {
        Inputs {
            claims: Input::files(claims),
            definitions,
            prices,
            as_of: None,
            strict: false,
            memory_limit: None,
            spill_dir: std::env::temp_dir(),
            format: ClaimsFormat::Canonical,
            beneficiaries: Vec::new(),
            beneficiaries_format: BeneficiariesFormat::Canonical,
            risk_factors: None,
            settlement: None,
            tunables: Tunables::DEFAULT,
        }
    }
}

/// A run that could not complete.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A claims file could not be read.
    #[error(transparent)]
    Claims(#[from] claims::Error),
    /// Spill files could not be written or read back.
    #[error("spilling to disk under {dir}: {source}")]
    Spill {
        /// The folder spill files go to.
        dir: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A beneficiaries file could not be read.
    #[error(transparent)]
    Beneficiaries(#[from] beneficiaries::Error),
    /// The ledger could not be compressed or read back (in memory: a bug).
    #[error("holding the ledger compressed: {0}")]
    Ledger(std::io::Error),
    /// The definitions ask for inputs the run was not given.
    #[error("{file}: key `{key}`: {problem}")]
    Configuration {
        /// The definition file.
        file: PathBuf,
        /// The key that asks for the input.
        key: String,
        /// What is missing and what was expected.
        problem: String,
    },
    /// An effective target, or a provider's or participant's total, does
    /// not fit an amount.
    #[error(transparent)]
    Pricing(#[from] PriceError),
    /// A total of the run does not fit (targets from the price file are
    /// not bounded the way claim amounts are).
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    /// The run was asked to stop ([`crate::runtime::stop`]).
    #[error(transparent)]
    Stopped(#[from] crate::runtime::stop::Stopped),
    /// `--strict` met a rejected row.
    #[error(
        "{file}: row {row}: rejected ({reason}){field} and --strict is set; expected no rejected rows; the row reads {record}"
    )]
    Strict {
        /// The file as given.
        file: String,
        /// Its line.
        row: u64,
        /// The reject reason.
        reason: &'static str,
        /// ` (the field ...)`, or nothing when the record as a whole failed.
        field: String,
        /// The start of the row's text, quoted and escaped to one line:
        /// see [`shown_record`].
        record: String,
    },
}

impl crate::error::Classify for Error {
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::Claims(e) => e.kind(),
            Error::Spill { source, .. } => match source.kind() {
                // Spill code reports its own mistakes as `InvalidInput`,
                // and its files read back damaged as `InvalidData`.
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                    ErrorKind::Internal
                }
                _ => ErrorKind::Environment,
            },
            Error::Beneficiaries(e) => e.kind(),
            Error::Ledger(_) => ErrorKind::Internal,
            Error::Configuration { .. } => ErrorKind::Configuration,
            Error::Pricing(e) => e.kind(),
            Error::TooLarge(e) => e.kind(),
            Error::Stopped(e) => e.kind(),
            Error::Strict { .. } => ErrorKind::InputData,
        }
    }
}

/// The result of a run, sorted and ready to write.
#[derive(Debug)]
pub struct Reconciliation {
    /// The input files as given, in reading order: the claims files, then
    /// the beneficiaries files.
    pub files: Vec<String>,
    /// How many of `files` are claims files.
    pub claim_files: usize,
    /// Episode types and their pricing, sorted by id.
    pub types: Vec<TypePricing>,
    /// Every episode, by episode id.
    pub episodes: Vec<PricedEpisode>,
    /// Each episode's ledger rows (same order as `episodes`).
    pub ledgers: Ledgers,
    /// Provider rows, by provider, type and period.
    pub providers: Vec<ProviderResult>,
    /// Rejected rows, by file name then row.
    pub rejects: Vec<Reject>,
    /// Row and money accounting.
    pub accounting: Accounting,
    /// The cutoff the run used.
    pub as_of: Option<Date>,
    /// The beneficiaries rows' accounting; `None` without `--beneficiaries`.
    pub beneficiaries: Option<BeneficiaryCounts>,
    /// Participant settlement; `None` without `--participants`.
    pub participants: Option<Settled>,
    /// What the run was made with, for later true-ups and repricing.
    pub run: RunRecord,
    /// The run's money totals, summed (checked) once when it was made.
    pub totals: RunTotals,
    /// What the run read but most likely was not meant (already shown on
    /// stderr): the pricing files' first, then the claims files' in
    /// reading order.
    pub warnings: Vec<Warning>,
}

/// The money totals of a run that `summary.json` and the command's
/// paragraph state: summed with checked arithmetic when the run is made,
/// so that writing it cannot overflow.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunTotals {
    /// Every episode's actual spending.
    pub actual: Money,
    /// Capped spending of the episodes not canceled.
    pub capped: Money,
    /// Effective targets of the priced episodes.
    pub target: Money,
    /// Their gains and losses.
    pub gain_loss: Money,
    /// Every provider row's reconciliation amount: what the run settles.
    pub reconciliation: Money,
    /// Actual spending per episode type (same order as the types).
    pub inside: Vec<Money>,
    /// Participants' net payment reconciliation amounts, when settled.
    pub net_payment: Option<Money>,
}

impl RunTotals {
    /// Sums the figures of a run; `run` names it in the error (the claims
    /// run, or the folder repriced). Checked even on the claims path:
    /// targets come from a price file, and a repriced run's actuals are
    /// 36-digit totals read back, neither bounded by RULES 7a.
    pub fn of(
        run: &str,
        types: &[TypePricing],
        episodes: &[PricedEpisode],
        providers: &[ProviderResult],
        participants: Option<&Settled>,
    ) -> Result<RunTotals, TooLarge> {
        let sum = |key: &str, amounts: &mut dyn Iterator<Item = Money>| {
            Money::checked_sum(amounts).ok_or_else(|| {
                TooLarge::new(format!(
                    "{run}: summary.json key `{key}`: the totals exceed what can be held"
                ))
            })
        };
        let priced = || episodes.iter().filter_map(|e| e.priced);
        let mut inside = Vec::with_capacity(types.len());
        for (index, episode_type) in types.iter().enumerate() {
            inside.push(sum(
                &format!("episode_types.{}.inside_amount", episode_type.id),
                &mut episodes
                    .iter()
                    .filter(|e| e.figures.episode_type == index)
                    .map(|e| e.figures.actual),
            )?);
        }
        Ok(RunTotals {
            actual: sum(
                "money.actual",
                &mut episodes.iter().map(|e| e.figures.actual),
            )?,
            capped: sum(
                "money.capped",
                &mut episodes.iter().filter_map(|e| e.capped),
            )?,
            target: sum("money.target", &mut priced().map(|p| p.target))?,
            gain_loss: sum("money.gain_loss", &mut priced().map(|p| p.gain_loss))?,
            reconciliation: sum(
                "money.reconciliation",
                &mut providers.iter().map(|p| p.reconciliation_amount),
            )?,
            inside,
            net_payment: participants
                .map(|p| {
                    sum(
                        "participants.net_payment_reconciliation",
                        &mut p.rows.iter().map(|r| r.net_payment_reconciliation_amount),
                    )
                })
                .transpose()?,
        })
    }
}

impl Reconciliation {
    /// How many episodes have a target price.
    pub fn priced_episodes(&self) -> usize {
        self.episodes.iter().filter(|e| e.priced.is_some()).count()
    }

    /// The net of every provider's reconciliation amount: what the run
    /// settles in all.
    pub fn net_reconciliation(&self) -> Money {
        self.totals.reconciliation
    }
}

/// Hands each beneficiary's rows of one partition to `each` with the
/// versions that had a row rejected (in no particular order: every output
/// is sorted later). A partition's lines (its chunks' segments, decoded
/// one after the other) hold each beneficiary's as runs: a first pass finds
/// the runs and counts each beneficiary's. A beneficiary with one run (in a
/// file that holds a beneficiary's lines together, nearly all of them) is
/// handed its lines where they lie, with no copy. The runs of the others
/// (all of them in a file in processing order, as payers' feeds come) are
/// copied once, beneficiary by beneficiary in order of first appearance,
/// into one vector of exactly their size: a counting sort, where a
/// growing vector per beneficiary copied each line again at every
/// doubling (a file sorted by processed date built 2.1 times slower than
/// the same lines grouped, perf: `memmove` 13% of the run). A beneficiary
/// with rejected versions but no line left has nothing to resolve and is
/// skipped.
fn each_beneficiary<'a>(
    rows: BeneficiaryRows<'a>,
    mut each: impl FnMut(&mut [LineRef<'a>], &[VersionKey]),
) {
    let BeneficiaryRows { mut lines, tainted } = rows;
    let mut index: rustc_hash::FxHashMap<&str, usize> = rustc_hash::FxHashMap::default();
    // Per beneficiary (by index): its id, its runs and its lines.
    let mut ids: Vec<&str> = Vec::new();
    let mut runs_of: Vec<usize> = Vec::new();
    let mut lines_of: Vec<usize> = Vec::new();
    // The runs, as (beneficiary, start, length), in order.
    let mut runs: Vec<(usize, usize, usize)> = Vec::new();
    let mut start = 0;
    while let Some(first) = lines.get(start) {
        let id = first.beneficiary_id;
        let length = lines[start..]
            .iter()
            .position(|l| !same_text(l.beneficiary_id, id))
            .unwrap_or(lines.len() - start);
        let next = ids.len();
        let b = *index.entry(id).or_insert(next);
        if b == next {
            ids.push(id);
            runs_of.push(0);
            lines_of.push(0);
        }
        runs_of[b] += 1;
        lines_of[b] += length;
        runs.push((b, start, length));
        start += length;
    }
    drop(index);
    let mut keys: rustc_hash::FxHashMap<Text, Vec<VersionKey>> = rustc_hash::FxHashMap::default();
    for key in tainted {
        keys.entry(key.beneficiary_id.clone())
            .or_default()
            .push(key);
    }
    let keys_of = |b: usize| -> &[VersionKey] {
        ids.get(b)
            .and_then(|id| keys.get(*id))
            .map_or(&[], Vec::as_slice)
    };
    let gathered = gather_scattered(&lines, &runs, &runs_of, &lines_of);
    for &(b, start, length) in &runs {
        // The run was measured on these lines, so it is there.
        if runs_of[b] == 1
            && let Some(run) = lines.get_mut(start..start + length)
        {
            each(run, keys_of(b));
        }
    }
    drop(lines);
    if let Some(mut gathered) = gathered {
        let mut rest = gathered.as_mut_slice();
        for b in (0..ids.len()).filter(|&b| runs_of[b] > 1) {
            // The gathered lines are blocks of `lines_of[b]` lines, one per
            // beneficiary of several runs, in this order.
            let length = lines_of[b].min(rest.len());
            let (own, after) = std::mem::take(&mut rest).split_at_mut(length);
            each(own, keys_of(b));
            rest = after;
        }
        debug_assert!(rest.is_empty(), "every gathered line is handed over");
    }
}

/// The lines of every beneficiary of more than one run (`runs_of[b]` runs
/// and `lines_of[b]` lines for beneficiary `b`, numbered in order of first
/// appearance; `runs` as `(beneficiary, start, length)` in order) copied
/// out of `lines`, beneficiary by beneficiary in that order and each one's
/// runs in order; `None` when every beneficiary has one run.
fn gather_scattered<'a>(
    lines: &[LineRef<'a>],
    runs: &[(usize, usize, usize)],
    runs_of: &[usize],
    lines_of: &[usize],
) -> Option<Vec<LineRef<'a>>> {
    if runs.len() == runs_of.len() {
        return None;
    }
    // Where each scattered beneficiary's first run goes among the runs
    // sorted by beneficiary (a counting sort of the runs, stable; the
    // entry of a beneficiary of one run is not used).
    let mut slot: Vec<usize> = Vec::with_capacity(runs_of.len());
    let mut scattered_runs = 0;
    let mut scattered_lines = 0;
    for (&count, &length) in runs_of.iter().zip(lines_of) {
        slot.push(scattered_runs);
        if count > 1 {
            scattered_runs += count;
            scattered_lines += length;
        }
    }
    // Indexing is in bounds: beneficiary `b` owns `runs_of[b]` places
    // from its first slot, and its runs number exactly that; the runs
    // (start, length) were measured on `lines`.
    let mut sorted: Vec<(usize, usize)> = vec![(0, 0); scattered_runs];
    for &(b, start, length) in runs {
        if runs_of[b] > 1 {
            sorted[slot[b]] = (start, length);
            slot[b] += 1;
        }
    }
    let mut gathered = Vec::with_capacity(scattered_lines);
    for (start, length) in sorted {
        gathered.extend_from_slice(&lines[start..start + length]);
    }
    Some(gathered)
}

/// Runs a whole reconciliation.
pub fn run(inputs: Inputs) -> Result<Reconciliation, Error> {
    run_with_progress(inputs, &Progress::new(false, 0))
}

/// [`run`], reporting rows read and phases to `progress`.
pub fn run_with_progress(inputs: Inputs, progress: &Progress) -> Result<Reconciliation, Error> {
    let Inputs {
        claims: claim_inputs,
        definitions,
        prices,
        as_of,
        strict,
        memory_limit,
        spill_dir,
        format: claims_format,
        beneficiaries: beneficiary_inputs,
        beneficiaries_format,
        risk_factors,
        settlement,
        tunables,
    } = inputs;
    let threads = rayon::current_num_threads();
    let csv_bytes = csv_bytes(&claim_inputs, &tunables);
    let partition_count = tunables.partitions_for(threads, csv_bytes, memory_limit);
    let held_room = memory_limit.map(|limit| {
        let claims = PartitionedClaims {
            csv_bytes,
            partitions: partition_count,
            threads,
            enrollment: !beneficiary_inputs.is_empty(),
        };
        tunables.held_while_building(limit, claims)
    });
    let spill_error = spill_error(&spill_dir);
    let episode_types = EpisodeTypes::new(&definitions);
    // Beneficiaries are built as their runs are read when the claims are
    // one file that can be read again should it turn out not to hold
    // each beneficiary's rows together, and when nothing else needs every
    // row held: `--strict` searches the held rows for an earlier reject
    // (RULES 46c). Several files are most often one per claim type, each
    // sorted by beneficiary: a beneficiary of the first has rows in the
    // next, and the first would always be read twice.
    let groups = tunables.build_runs_early
        && !strict
        && matches!(claim_inputs.as_slice(), [claims] if claims.reads_again());
    // The enrollment's memory counts in the reading's phase.
    progress.phase("reading claims");
    // The enrollment is read while the claims are read, as a task of the
    // run's pool: neither needs the other until episodes are built (or
    // runs built early, which wait for it, below), and
    // `--threads` bounds the run's work (on one thread the enrollment is
    // read first, then the claims; on a thread of its own, a one-thread
    // run kept a second core busy: 268 ms of CPU in the first 300 ms of a
    // 4M-line run, `perf sched`). Its errors still come first, as if it
    // had been read first (and a configuration problem before any claims
    // file is read).
    let load = || {
        let routing = EnrollmentRouting {
            partitions: partition_count,
            // Its share of the limit: the claims, the batch being
            // parsed and the partitions being built share the rest.
            budget: memory_limit.map_or(u64::MAX, |limit| tunables.enrollment_budget(limit)),
            spill_dir: &spill_dir,
            spill_level: tunables.spill_level,
        };
        load_enrollment(
            &definitions,
            &claim_inputs,
            &beneficiary_inputs,
            beneficiaries_format,
            routing,
        )
    };
    let read = |grouping: Option<&Grouping<'_>>| {
        check_configuration(&definitions, risk_factors.as_ref(), settlement.as_ref())?;
        let ids: Vec<&str> = definitions.iter().map(|d| d.id.as_str()).collect();
        let mut warnings = pricing::unknown_types(&ids, &prices, risk_factors.as_ref());
        warnings.iter().for_each(Warning::emit);
        let mut reading = ClaimsReading {
            format: claims_format,
            types: definitions.len(),
            as_of,
            strict,
            memory_limit,
            spill_dir: &spill_dir,
            partition_count,
            held_room,
            threads,
            tunables: &tunables,
            announced: 0,
        };
        let mut grouping = grouping;
        // Twice at most: a reading without a grouping builds nothing
        // early, so it is never found not grouped.
        let mut read = loop {
            match read_claims(&claim_inputs, &reading, grouping, progress) {
                Ok(read) => break read,
                Err(ReadError::Run(error)) => return Err(error),
                Err(ReadError::NotGrouped { opened }) => {
                    tracing::info!(
                        "the claims do not hold each beneficiary's rows together: \
                         reading them again, every row held by beneficiary"
                    );
                    progress.forget_rows();
                    grouping = None;
                    reading.announced = opened;
                }
            }
        };
        // The pricing files' warnings first, then the claims files'.
        warnings.append(&mut read.warnings);
        read.warnings = warnings;
        Ok(read)
    };
    // With the enrollment, a beneficiary built as its rows are read needs
    // its enrollment: once loaded beside the claims, and when it fits in
    // memory unspilled, it is settled for every partition at once (rather
    // than each partition's as it is built) and given to the runs; those
    // read before then are routed.
    let grouping = groups.then(|| {
        Grouping::new(
            &episode_types,
            partition_count,
            !beneficiary_inputs.is_empty(),
        )
    });
    // Settles the loaded enrollment for the runs built early, when it
    // did not spill and fits (it is then given to them).
    let enroll_runs = |enrollment: Result<Option<(Enrollment, Option<Spill>)>, Error>,
                       grouping: Option<&Grouping<'_>>| {
        let mut enrollment = enrollment?;
        if let (Some(grouping), Some((loaded, None))) = (grouping, &mut enrollment) {
            let encoded = loaded.parts.iter().map(Vec::len).sum::<usize>() as u64;
            let room = memory_limit.map_or(u64::MAX, |limit| tunables.early_budget(limit));
            if encoded.saturating_mul(tunables.settled_enrollment_expansion) <= room {
                tracing::info!(encoded, "settling the enrollment for the runs built early");
                let mut parts = std::mem::take(&mut loaded.parts);
                parts.resize_with(partition_count, Vec::new);
                let parts: std::io::Result<Vec<SettledPart>> = parts
                    .into_par_iter()
                    .enumerate()
                    .map(|(index, rows)| settle_part(loaded, None, index, &rows))
                    .collect();
                grouping.enroll(parts.map_err(spill_error)?);
            }
        }
        Ok(enrollment)
    };
    let (enrollment, claims) = rayon::join(
        || -> Result<_, Error> {
            let enrollment = enroll_runs(load(), grouping.as_ref());
            if let Some(grouping) = &grouping {
                grouping.abandon_unless_enrolled();
            }
            enrollment
        },
        || read(grouping.as_ref()),
    );
    let settled = grouping.and_then(Grouping::into_enrollment);
    let (mut enrollment, enrollment_spill) = match enrollment? {
        Some((enrollment, spill)) => (Some(enrollment), spill),
        None => (None, None),
    };
    let ClaimsRead {
        mut accounting,
        mut rejects,
        mut partitions,
        spill,
        read_files,
        // Kept (not read) until the rejected rows are fetched from them.
        spools: _spools,
        first_row_reject,
        warnings,
        early,
    } = claims?;

    if let Some(row_reject) = first_row_reject {
        // --strict with a row-level reject: only the version checks can
        // still name an earlier row, so no episode is built.
        progress.phase("checking claim versions");
        let version_reject = first_version_reject(&mut partitions, spill.as_ref())
            .map_err(spill_error)?
            .filter(|v| (v.source.file, v.source.row) < (row_reject.file, row_reject.row));
        let first = match version_reject {
            Some(v) => fetch_raw(&claim_inputs, &read_files, vec![v])?
                .pop()
                .unwrap_or(row_reject),
            None => row_reject,
        };
        return Err(strict_error(&claim_inputs, &first));
    }

    progress.phase("building episodes");
    progress.set_work(partition_count as u64);
    // A spilled partition is read back by the worker that builds it, just
    // before: reading back is part of this phase, and only as many
    // partitions as there are workers are in memory at once.
    tracing::info!(
        partitions = partition_count,
        spilled = spill.is_some(),
        "building episodes"
    );
    // Each partition's enrollment is settled (the per-beneficiary checks)
    // as the partition is built, and dropped with it.
    let mut enrollment_parts: Vec<PartEnrollment> = match settled {
        Some(settled) => settled.into_iter().map(PartEnrollment::Settled).collect(),
        None => enrollment
            .as_mut()
            .map(|e| std::mem::take(&mut e.parts))
            .unwrap_or_default()
            .into_iter()
            .map(PartEnrollment::Rows)
            .collect(),
    };
    enrollment_parts.resize_with(partition_count, || PartEnrollment::Rows(Vec::new()));
    let building = Building {
        types: &episode_types,
        definitions: &definitions,
        spill: spill.as_ref(),
        enrollment: enrollment.as_ref().map(|e| (e, enrollment_spill.as_ref())),
        spill_dir: &spill_dir,
        ledger_level: tunables.spill_level,
    };
    let Early {
        episodes: early_episodes,
        result: early_result,
    } = early;
    let built: Vec<BuiltPart> = partitions
        .drain()
        .into_par_iter()
        .zip(enrollment_parts)
        .zip(early_episodes)
        .enumerate()
        .map(|(index, ((rows, enrollment), early))| {
            crate::runtime::stop::check()?;
            let part = building.part(index, rows, enrollment, early)?;
            progress.add_work(1);
            Ok(part)
        })
        .collect::<Result<_, Error>>()?;
    drop(spill);
    drop(enrollment_spill);
    let Merged {
        results,
        figures,
        ledgers,
        enrollment: settled_enrollment,
    } = Merged::of(built);

    let mut version_rejects: Vec<VersionReject> = Vec::new();
    for result in results.into_iter().chain([early_result]) {
        accounting.void.merge(result.void);
        accounting.superseded.merge(result.superseded);
        accounting.final_action.merge(result.final_action);
        for (total, tally) in accounting.types.iter_mut().zip(result.types) {
            total.merge(tally);
        }
        for reject in &result.rejects {
            accounting.count_reject(reject.reason, reject.amount);
        }
        version_rejects.extend(result.rejects);
    }
    rejects.extend(fetch_raw(&claim_inputs, &read_files, version_rejects)?);

    let files: Vec<String> = claim_inputs
        .iter()
        .chain(&beneficiary_inputs)
        .map(|input| input.name().display().to_string())
        .collect();
    let mut beneficiary_counts = None;
    if let Some(enrollment) = enrollment {
        let enrollment = enrollment.finish(&beneficiary_inputs, settled_enrollment)?;
        beneficiary_counts = Some(BeneficiaryCounts {
            read: enrollment.read,
            accepted: enrollment.accepted,
            rejected_by_reason: enrollment.rejected_by_reason,
        });
        // Claims files come first in reading order, so a beneficiaries
        // reject is the first only when no claims row was rejected.
        rejects.extend(enrollment.rejects.into_iter().map(|r| Reject {
            file: r.file,
            row: r.row,
            reason: r.reason,
            field: None,
            record: r.record,
        }));
    }
    if strict {
        // No claims row failed a row check (that stops above), so this is a
        // version-level reject, or else a beneficiaries row's.
        let first = rejects
            .iter()
            .filter(|r| r.reason != RejectReason::ClaimHasRejectedRow)
            .min_by_key(|r| (r.file, r.row));
        if let Some(first) = first {
            return Err(Error::strict(files[first.file as usize].clone(), first));
        }
    }
    rejects.sort_by(|a, b| (&files[a.file as usize], a.row).cmp(&(&files[b.file as usize], b.row)));

    progress.phase("pricing");
    crate::runtime::memory::release_freed();
    tracing::info!(
        episodes = figures.len(),
        ledger_bytes = ledgers.bytes(),
        "pricing"
    );
    let types = TypePricing::of(&definitions);
    let episodes = pricing::price(figures, &types, &prices, risk_factors.as_ref())?;
    let providers = pricing::reconcile_providers(&episodes, &types)?;
    let participants = settlement
        .as_ref()
        .map(|s| settle::settle(&episodes, &s.participants, &s.settlement))
        .transpose()?;
    let totals = RunTotals::of(
        "the claims run",
        &types,
        &episodes,
        &providers,
        participants.as_ref(),
    )?;
    let run = RunRecord::of(&definitions, &prices).with_pricing_inputs(
        risk_factors.as_ref(),
        settlement
            .as_ref()
            .map(|s| (&s.participants, &s.settlement)),
    );
    Ok(Reconciliation {
        files,
        claim_files: read_files
            .iter()
            .filter(|f| matches!(f.detected, Detected::Claims(_)))
            .count(),
        types,
        episodes,
        ledgers,
        providers,
        rejects,
        accounting,
        as_of,
        beneficiaries: beneficiary_counts,
        participants,
        run,
        totals,
        warnings,
    })
}

/// How the claims are read: the run's options that reading needs.
#[derive(Clone, Copy, Debug)]
struct ClaimsReading<'a> {
    format: ClaimsFormat,
    /// How many episode types the accounting counts.
    types: usize,
    as_of: Option<Date>,
    strict: bool,
    memory_limit: Option<u64>,
    spill_dir: &'a Path,
    partition_count: usize,
    /// The encoded rows building leaves room for under the memory limit
    /// ([`Tunables::held_while_building`]): past it, every row still held
    /// once all are read is spilled.
    held_room: Option<u64>,
    /// Worker threads of the pool the claims are read on.
    threads: usize,
    tunables: &'a Tunables,
    /// The claims files that gave their notices (warnings, the format
    /// found) in an earlier reading: they are not given again.
    announced: usize,
}

/// The claims as read: routed into partitions (some spilled), counted,
/// with their row-level rejects.
struct ClaimsRead {
    accounting: Accounting,
    rejects: Vec<Reject>,
    partitions: Partitions,
    spill: Option<Spill>,
    /// How each claims file was read, to read rejected rows again.
    read_files: Vec<ReadFile>,
    /// The copies of stream inputs, kept until rejected rows are read.
    spools: Spools,
    /// What the claims files held that was most likely not meant, in
    /// reading order.
    warnings: Vec<Warning>,
    /// With `--strict`, the first row-level reject once one is known and
    /// rows before it passed (a version check may still name an earlier
    /// row).
    first_row_reject: Option<Reject>,
    /// What the beneficiaries built as their runs were read yield
    /// ([`crate::engine::grouped`]).
    early: Early,
}

/// The beneficiaries built early: their episodes by partition (each
/// partition's join its ledger), and their figures and version rejects.
#[derive(Debug, Default)]
struct Early {
    episodes: Vec<Vec<(usize, EpisodeDraft)>>,
    result: BeneficiaryResult,
}

/// Why reading the claims stopped.
enum ReadError {
    /// The run cannot go on.
    Run(Error),
    /// The claims do not hold each beneficiary's rows together, and some
    /// were built early: they are to be read again with every row routed.
    /// The files before `opened` have given their notices already.
    NotGrouped { opened: usize },
}

impl From<Error> for ReadError {
    fn from(error: Error) -> ReadError {
        ReadError::Run(error)
    }
}

impl From<claims::Error> for ReadError {
    fn from(error: claims::Error) -> ReadError {
        ReadError::Run(Error::Claims(error))
    }
}

/// Reads every claims input in order, routing its rows by beneficiary into
/// partitions and spilling them past the memory limit.
fn read_claims(
    inputs: &[Input],
    reading: &ClaimsReading<'_>,
    grouping: Option<&Grouping<'_>>,
    progress: &Progress,
) -> Result<ClaimsRead, ReadError> {
    let ClaimsReading {
        format: claims_format,
        types,
        as_of,
        strict,
        memory_limit,
        spill_dir,
        partition_count,
        held_room,
        threads,
        tunables,
        announced,
    } = *reading;
    let mut accounting = Accounting {
        types: vec![TypeTally::default(); types],
        ..Accounting::default()
    };
    let mut rejects: Vec<Reject> = Vec::new();
    let mut partitions = Partitions::new(partition_count, tunables.held_block_bytes);
    let mut spill: Option<Spill> = None;
    let spill_error = spill_error(spill_dir);
    // With --strict (RULES 26): whether a row that passed the row checks has
    // been routed yet (such a row can still get a version-level reject, from
    // rows read later), and the first row-level reject once one is known.
    let mut routed_any = false;
    let mut first_row_reject: Option<Reject> = None;
    let mut early = Early {
        episodes: (0..partition_count).map(|_| Vec::new()).collect(),
        result: BeneficiaryResult::default(),
    };
    let mut admission =
        Admission::new(memory_limit.map_or(u64::MAX, |limit| tunables.early_budget(limit)));
    // The files opened so far, for `ReadError::NotGrouped`.
    let opened = std::cell::Cell::new(0);
    // Moves one chunk's rows into the partitions, spilling them all when
    // they pass the memory limit, and takes in what its runs built early.
    // Chunks come in reading order.
    let mut absorb = |work: ChunkWork<'_>, bytes: u64| -> Result<(), ReadError> {
        let (mut chunk, grouped) = work.finish();
        if let (Some(grouping), Some(grouped)) = (grouping, grouped) {
            let built = admission
                .admit(grouping, &mut chunk, grouped)
                .map_err(|NotGrouped| ReadError::NotGrouped {
                    opened: opened.get(),
                })?;
            if let Some(built) = built {
                for (partition, index, draft) in built.episodes {
                    early.episodes[partition as usize].push((index, draft));
                }
                early.result.absorb(built.result);
            }
        }
        progress.add_rows(chunk.rows, bytes);
        if strict
            && first_row_reject.is_none()
            && let Some(first) = chunk.rejects.iter().min_by_key(|r| r.row)
        {
            let earlier = routed_any || chunk.first_line_row.is_some_and(|row| row < first.row);
            if !earlier {
                // Nothing before it can be rejected at all: it is the
                // contract's first, so the rest is never read.
                tracing::info!(
                    rows = accounting.read.rows + chunk.rows,
                    "--strict: stopped reading at the first rejected row"
                );
                return Err(strict_error(inputs, first).into());
            }
            tracing::info!(
                row = first.row,
                "--strict: a row is rejected; reading on, since a later row can still \
                     reject an earlier one's version"
            );
            first_row_reject = Some(first.clone());
        }
        routed_any = routed_any || chunk.first_line_row.is_some();
        accounting.merge(&chunk.accounting);
        rejects.append(&mut chunk.rejects);
        partitions.absorb(&chunk);
        if memory_limit.is_some_and(|limit| tunables.must_spill(partitions.bytes, limit)) {
            tracing::info!(bytes = partitions.bytes, "spilling partitions to disk");
            spill_held(&mut spill, &mut partitions, reading)?;
        }
        Ok(())
    };
    let chunking = Chunking::of(tunables, threads);
    // Streams (FIFOs, standard input) are copied aside as they are read,
    // so rows rejected by the version checks can be found again.
    let mut spools = Spools::new(spill_dir);
    let mut read_files = Vec::with_capacity(inputs.len());
    let mut warnings = Vec::new();
    for (file_index, input) in inputs.iter().enumerate() {
        let file = u32::try_from(file_index).unwrap_or(u32::MAX);
        let path = input.name();
        let opening = claims_format.open(input, &mut spools)?;
        opened.set(file_index + 1);
        // A file read a second time (RULES 46c) gave its notices the first.
        let emit = |warning: &Warning| {
            if file_index >= announced {
                warning.emit();
            }
        };
        let detected = opening.detected;
        read_files.push(ReadFile {
            detected,
            reread: opening.reread,
        });
        let format = match detected {
            Detected::Claims(format) => format,
            Detected::NotClaims(what) => {
                let warning = Warning::not_claims(path, &what);
                emit(&warning);
                warnings.push(warning);
                continue;
            }
        };
        if claims_format == ClaimsFormat::Auto && file_index >= announced {
            tracing::info!(target: NOTICE, "reading {} as {format} claims", path.display());
        } else {
            tracing::info!(file = %path.display(), %format, "reading claims");
        }
        let new_chunk = || {
            let lines = chunking.chunk_bytes / tunables.line_bytes_in_csv;
            let rows = ChunkRows::new(partition_count, lines * tunables.encoded_line_bytes);
            ChunkWork::new(rows, grouping.filter(|g| !g.is_abandoned()), lines)
        };
        let route = |work: &mut ChunkWork<'_>, outcome: RowView<'_>| work.add(file, outcome);
        let file_reading = Reading {
            file,
            as_of,
            chunking,
        };
        let mut file_rows = 0;
        let absorb_counting = |work: ChunkWork<'_>, bytes| {
            file_rows += work.rows_read();
            absorb(work, bytes)
        };
        format.read_chunked(
            opening.opened,
            file_reading,
            new_chunk,
            route,
            absorb_counting,
        )?;
        if file_rows == 0 {
            let warning = Warning::empty_claims_file(path);
            emit(&warning);
            warnings.push(warning);
        }
    }
    // Under --strict with a rejected row no episode is built (the rows are
    // only searched for an earlier version-level reject).
    if first_row_reject.is_none() && held_room.is_some_and(|room| partitions.bytes > room) {
        tracing::info!(
            bytes = partitions.bytes,
            "spilling the rows building has no room for"
        );
        spill_held(&mut spill, &mut partitions, reading)?;
    }
    if let Some(spill) = &mut spill {
        spill.finish().map_err(spill_error)?;
        tracing::info!(
            bytes = spill.bytes_on_disk(),
            encoded = spill.bytes_encoded(),
            "spilled"
        );
    }
    Ok(ClaimsRead {
        accounting,
        rejects,
        partitions,
        spill,
        read_files,
        spools,
        first_row_reject,
        warnings,
        early,
    })
}

/// The error of a spill into `dir` that failed.
fn spill_error(dir: &Path) -> impl Fn(std::io::Error) -> Error + Copy + '_ {
    move |source| Error::Spill {
        dir: dir.to_owned(),
        source,
    }
}

/// Moves every partition's held rows to the spill, opening it first when
/// nothing was spilled yet.
fn spill_held(
    spill: &mut Option<Spill>,
    partitions: &mut Partitions,
    reading: &ClaimsReading<'_>,
) -> Result<(), Error> {
    let spill_error = spill_error(reading.spill_dir);
    let spill = match spill {
        Some(spill) => spill,
        None => spill.insert(
            Spill::new(
                reading.spill_dir,
                reading.partition_count,
                reading.tunables.spill_level,
            )
            .map_err(spill_error)?,
        ),
    };
    spill
        .append_encoded(partitions.drain())
        .map_err(spill_error)
}

/// The `--strict` fatal error for a claims row `reject` of `inputs`.
fn strict_error(inputs: &[Input], reject: &Reject) -> Error {
    let file = inputs
        .get(reject.file as usize)
        .map_or_else(String::new, |input| input.name().display().to_string());
    Error::strict(file, reject)
}

impl Error {
    /// The `--strict` error for `reject`, a row of `file`.
    fn strict(file: String, reject: &Reject) -> Error {
        Error::Strict {
            file,
            row: reject.row,
            reason: reject.reason.name(),
            field: reject
                .field
                .or(reject.reason.field())
                .map_or_else(String::new, |field| format!(" ({field})")),
            record: shown_record(&reject.record),
        }
    }
}

/// How many characters of a rejected record an error message shows.
const SHOWN_RECORD_CHARS: usize = 200;

/// The start of `record` for an error message: its first
/// [`SHOWN_RECORD_CHARS`] characters, quoted and escaped so the message
/// stays one line, then how many more there were. A record that never
/// closes its quote runs to the end of the file, so it can be megabytes:
/// the whole of it on one line would bury the message, and `rejects.csv`
/// (without `--strict`) keeps it whole.
fn shown_record(record: &[u8]) -> String {
    let text = String::from_utf8_lossy(record);
    let mut chars = text.chars();
    let shown: String = chars.by_ref().take(SHOWN_RECORD_CHARS).collect();
    match chars.count() {
        0 => format!("{shown:?}"),
        more => format!("{shown:?}... ({more} more characters not shown)"),
    }
}

/// The version-level reject (`duplicate_line`, `inconsistent_claim`; never
/// `claim_has_rejected_row`) earliest in reading order among every row
/// read, from the version checks alone: what `--strict` still needs once a
/// row-level reject is known and rows before it passed.
fn first_version_reject(
    partitions: &mut Partitions,
    spill: Option<&Spill>,
) -> std::io::Result<Option<VersionReject>> {
    let firsts = partitions
        .drain()
        .into_par_iter()
        .enumerate()
        .map(|(index, held)| {
            let spilled = spill.map(|spill| spill.read(index)).transpose()?;
            let rows = partition_rows(spilled.as_ref(), &held)?;
            let mut first: Option<VersionReject> = None;
            each_beneficiary(rows, |lines, tainted| {
                let tainted: HashSet<_> = tainted.iter().map(final_action::tainted_key).collect();
                let rejects = final_action::resolve(lines, &tainted).rejects;
                first = rejects
                    .into_iter()
                    .filter(|r| r.reason != RejectReason::ClaimHasRejectedRow)
                    .chain(first.take())
                    .min_by_key(|r| (r.source.file, r.source.row));
            });
            Ok(first)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    Ok(firsts
        .into_iter()
        .flatten()
        .min_by_key(|r| (r.source.file, r.source.row)))
}

/// Reads the beneficiaries files, after checking that every column the
/// definitions name is in one of them; `None` without `--beneficiaries`,
/// which is a fatal error when a definition needs enrollment.
fn load_enrollment(
    definitions: &[EpisodeDefinition],
    claims: &[Input],
    inputs: &[Input],
    format: BeneficiariesFormat,
    routing: EnrollmentRouting<'_>,
) -> Result<Option<(Enrollment, Option<Spill>)>, Error> {
    let mut columns = beneficiaries::Columns {
        extra_flags: Vec::new(),
        attributes: Vec::new(),
    };
    // Each column a definition names, with the first file and key naming it.
    let mut named: Vec<(&str, &Path, &'static str)> = Vec::new();
    for definition in definitions {
        if let Some(rules) = &definition.eligibility {
            for (list, key) in [
                (&rules.require, "eligibility.require"),
                (&rules.exclude, "eligibility.exclude"),
            ] {
                for flag in list {
                    named.push((flag, &definition.file, key));
                    if !columns.extra_flags.contains(flag) {
                        columns.extra_flags.push(flag.clone());
                    }
                }
            }
        }
        if let Some(risk) = &definition.risk {
            for factor in risk.factors.iter().filter(|f| f.name != AGE_FACTOR) {
                named.push((&factor.name, &definition.file, "risk.factors"));
                if !columns.attributes.contains(&factor.name) {
                    columns.attributes.push(factor.name.clone());
                }
            }
        }
    }
    if inputs.is_empty() {
        let needs = definitions.iter().find_map(|d| {
            let key = if d.eligibility.is_some() {
                "eligibility"
            } else if d.risk.is_some() {
                "risk"
            } else {
                return None;
            };
            Some((d, key))
        });
        return match needs {
            Some((definition, key)) => Err(Error::Configuration {
                file: definition.file.clone(),
                key: key.to_owned(),
                problem: format!(
                    "[{key}] needs the beneficiaries' enrollment; expected --beneficiaries FILE"
                ),
            }),
            None => Ok(None),
        };
    }
    let first_file = u32::try_from(claims.len()).unwrap_or(u32::MAX);
    let mut spill: Option<Spill> = None;
    let mut overflow = |parts: &mut [Vec<u8>]| -> std::io::Result<()> {
        let spill = match &mut spill {
            Some(spill) => spill,
            None => spill.insert(Spill::new(
                routing.spill_dir,
                routing.partitions,
                routing.spill_level,
            )?),
        };
        tracing::info!("spilling beneficiaries rows to disk");
        spill.append_blocks(parts)
    };
    let route = |id: &str| partition_of(id, routing.partitions);
    let spill_dir = routing.spill_dir;
    let routing = beneficiaries::Routing {
        partitions: routing.partitions,
        route: &route,
        budget: routing.budget,
        overflow: &mut overflow,
    };
    let enrollment = beneficiaries::load_partitioned(inputs, first_file, &columns, format, routing)
        .map_err(|error| match error {
            // Spilling is the same environment problem whoever spills.
            beneficiaries::Error::Spill { source } => Error::Spill {
                dir: spill_dir.to_owned(),
                source,
            },
            other => other.into(),
        })?;
    if let Some((column, file, key)) = named
        .into_iter()
        .find(|(column, ..)| !enrollment.columns_seen.contains(*column))
    {
        return Err(Error::Configuration {
            file: file.to_owned(),
            key: key.to_owned(),
            problem: format!(
                "names the beneficiaries column `{column}`, which no beneficiaries file has; expected a column of that name in one of them"
            ),
        });
    }
    Ok(Some((enrollment, spill)))
}

/// How the enrollment is held while it loads: routed into the claims'
/// partitions, and spilled past its share of the memory limit.
#[derive(Clone, Copy, Debug)]
struct EnrollmentRouting<'a> {
    partitions: usize,
    /// Encoded bytes held before they spill.
    budget: u64,
    spill_dir: &'a Path,
    spill_level: i32,
}

/// The per-beneficiary checks of partition `index`'s enrollment: its
/// spilled rows, then those still in memory (`in_memory`). Rows that do
/// not decode are the run's own bytes damaged: `InvalidData`, as the
/// claims' spill reports them.
fn settle_part(
    enrollment: &Enrollment,
    spill: Option<&Spill>,
    index: usize,
    in_memory: &[u8],
) -> std::io::Result<SettledPart> {
    let mut gather = enrollment.gather();
    if let Some(spill) = spill {
        spill.each_block(index, |block| gather.add(block))?;
    }
    gather
        .add(in_memory)
        .map_err(|problem| std::io::Error::new(std::io::ErrorKind::InvalidData, problem))?;
    Ok(gather.settle())
}

/// A partition's rows decoded: those spilled first (they were read first),
/// then `held`, the segments still in memory. The lines borrow their texts
/// from both, which are therefore held until the partition is built.
fn partition_rows<'a>(
    spilled: Option<&'a SpilledRows>,
    held: &'a [EncodedRows],
) -> std::io::Result<BeneficiaryRows<'a>> {
    let mut rows = match spilled {
        Some(spilled) => spilled.decode()?,
        None => BeneficiaryRows::default(),
    };
    rows.decode(held)
        .map_err(|problem| std::io::Error::new(std::io::ErrorKind::InvalidData, problem))?;
    Ok(rows)
}

/// The checks of contract 1.4 and 1.6 that join definitions with the
/// other inputs: `[risk]` needs risk factors, and settlement needs one kind
/// of period across all types.
fn check_configuration(
    definitions: &[EpisodeDefinition],
    risk_factors: Option<&RiskFactors>,
    settlement: Option<&SettlementInputs>,
) -> Result<(), Error> {
    if risk_factors.is_none()
        && let Some(definition) = definitions.iter().find(|d| d.risk.is_some())
    {
        return Err(Error::Configuration {
            file: definition.file.clone(),
            key: "risk".to_owned(),
            problem: "[risk] needs risk factor multipliers; expected --risk-factors FILE".into(),
        });
    }
    if settlement.is_some()
        && let Some(first) = definitions.first()
        && let Some(other) = definitions
            .iter()
            .find(|d| d.pricing.period != first.pricing.period)
    {
        return Err(Error::Configuration {
            file: other.file.clone(),
            key: "pricing.period".to_owned(),
            problem: format!(
                "settlement needs every definition to have the same period, and {} has {:?} where {} has {:?}; expected one kind of period",
                other.id, other.pricing.period, first.id, first.pricing.period
            ),
        });
    }
    Ok(())
}

/// Splits a draft of the definition at `definition` into the figures
/// pricing sees and its ledger.
pub fn split_draft(
    definition: usize,
    draft: EpisodeDraft,
    definitions: &[EpisodeDefinition],
) -> (EpisodeFigures, Vec<LedgerLine>) {
    let episode_id = format!(
        "{}:{}:{}",
        definitions[definition].id, draft.beneficiary_id, draft.anchor_claim_id
    );
    let figures = EpisodeFigures {
        episode_id,
        episode_type: definition,
        beneficiary_id: draft.beneficiary_id,
        provider_id: draft.provider_id,
        anchor_claim_id: draft.anchor_claim_id,
        price_group: draft.price_group,
        start: draft.start,
        end: draft.end,
        anchor_end: draft.anchor_end,
        cancel: draft.cancel,
        risk_levels: draft.risk_levels,
        claim_lines: draft.ledger.len() as u64,
        actual: draft.actual,
    };
    (figures, draft.ledger)
}

/// About how many bytes of CSV the claims `inputs` hold, to count the
/// partitions: the files' sizes, a compressed file's times
/// [`Tunables::compressed_expansion`]; nothing for a stream or a table,
/// whose size is not known before it is read.
fn csv_bytes(inputs: &[Input], tunables: &Tunables) -> u64 {
    use std::io::Read;
    let size = |path: &Path| -> Option<u64> {
        let metadata = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
        let mut start = [0; 4];
        let read = std::fs::File::open(path)
            .and_then(|mut file| file.read(&mut start))
            .unwrap_or(0);
        let compressed = Compression::of_magic(&start[..read]).is_some();
        let expansion = if compressed {
            tunables.compressed_expansion
        } else {
            1
        };
        Some(metadata.len().saturating_mul(expansion))
    };
    inputs
        .iter()
        .filter_map(|input| match input {
            Input::File(path) => size(path),
            #[cfg(feature = "parquet")]
            Input::Table(_) => None,
        })
        .fold(0, u64::saturating_add)
}

/// The run's order of episodes: by the contract's key. Two episodes can
/// share an id only when ids hold `:` (RULES 19b), and then the
/// beneficiary tells them apart, so the order never depends on
/// partitioning.
fn episode_order(a: &EpisodeFigures, b: &EpisodeFigures) -> std::cmp::Ordering {
    (&a.episode_id, &a.beneficiary_id).cmp(&(&b.episode_id, &b.beneficiary_id))
}

/// What building a partition needs besides its rows.
struct Building<'a> {
    types: &'a EpisodeTypes<'a>,
    definitions: &'a [EpisodeDefinition],
    /// The claims' spill, when they spilled.
    spill: Option<&'a Spill>,
    /// The enrollment, with its spill when it spilled.
    enrollment: Option<(&'a Enrollment, Option<&'a Spill>)>,
    /// Where spill files go, for errors.
    spill_dir: &'a Path,
    /// The zstd level of the ledger.
    ledger_level: i32,
}

impl Building<'_> {
    /// Builds partition `index`: its spilled rows read back beside `rows`,
    /// its enrollment (`enrollment_rows` after the spilled ones) settled,
    /// then final action and every episode type for each beneficiary; its
    /// episodes join those its beneficiaries built early gave (`early`).
    fn part(
        &self,
        index: usize,
        held: Vec<EncodedRows>,
        enrollment: PartEnrollment,
        early: Vec<(usize, EpisodeDraft)>,
    ) -> Result<BuiltPart, Error> {
        let spill_error = spill_error(self.spill_dir);
        let spilled = self
            .spill
            .map(|spill| spill.read(index))
            .transpose()
            .map_err(spill_error)?;
        let rows = partition_rows(spilled.as_ref(), &held).map_err(spill_error)?;
        let mut settled = match enrollment {
            PartEnrollment::Settled(settled) => Some(settled),
            PartEnrollment::Rows(rows) => self
                .enrollment
                .map(|(enrollment, spill)| settle_part(enrollment, spill, index, &rows))
                .transpose()
                .map_err(spill_error)?,
        };
        let enrollees = settled.as_mut().map(|s| std::mem::take(&mut s.enrollees));
        let mut built = BeneficiaryResult {
            episodes: early,
            ..BeneficiaryResult::default()
        };
        each_beneficiary(rows, |lines, tainted| {
            built.absorb(reconcile_beneficiary(
                lines,
                tainted,
                self.types,
                enrollees.as_ref(),
            ));
        });
        BuiltPart::of(built, settled, self.definitions, self.ledger_level).map_err(Error::Ledger)
    }
}

/// A partition's enrollment as its building takes it.
enum PartEnrollment {
    /// Its rows held in memory (after any spilled), to be settled.
    Rows(Vec<u8>),
    /// Settled already, for the beneficiaries built as their rows were
    /// read.
    Settled(SettledPart),
}

/// Every partition's [`BuiltPart`], put together.
struct Merged {
    /// Each partition's figures and rejects.
    results: Vec<BeneficiaryResult>,
    /// Every episode, in the run's order.
    figures: Vec<EpisodeFigures>,
    ledgers: Ledgers,
    enrollment: SettledPart,
}

impl Merged {
    fn of(built: Vec<BuiltPart>) -> Merged {
        let mut enrollment = SettledPart::default();
        let mut results = Vec::with_capacity(built.len());
        let mut episodes: Vec<(EpisodeFigures, u32)> = Vec::new();
        let mut ledger_parts = Vec::with_capacity(built.len());
        for (index, part) in built.into_iter().enumerate() {
            results.push(part.result);
            if let Some(settled) = part.enrollment {
                enrollment.merge_counts(settled);
            }
            // Partitions number at most `Tunables::max_partitions`.
            let index = index as u32;
            episodes.extend(part.figures.into_iter().map(|f| (f, index)));
            ledger_parts.push(part.ledger);
        }
        // The run's order; each partition's episodes are in it already, and
        // a stable sort keeps them so, so the ledger streams read in order.
        episodes.sort_by(|a, b| episode_order(&a.0, &b.0));
        let (figures, order): (Vec<_>, Vec<_>) = episodes.into_iter().unzip();
        Merged {
            results,
            figures,
            ledgers: Ledgers::new(ledger_parts, order),
            enrollment,
        }
    }
}

/// What building one partition yields: its figures and rejects, its
/// episodes in the run's order with their ledger compressed, and what its
/// enrollment's checks found.
struct BuiltPart {
    /// Figures and rejects; its episodes are in `figures` and `ledger`.
    result: BeneficiaryResult,
    figures: Vec<EpisodeFigures>,
    /// The episodes' lines, a [`PartLedger`] stream.
    ledger: Vec<u8>,
    enrollment: Option<SettledPart>,
}

impl BuiltPart {
    /// Sorts `result`'s episodes into the run's order and compresses
    /// their ledgers at zstd `level`.
    fn of(
        mut result: BeneficiaryResult,
        enrollment: Option<SettledPart>,
        definitions: &[EpisodeDefinition],
        level: i32,
    ) -> std::io::Result<BuiltPart> {
        let mut episodes: Vec<(EpisodeFigures, Vec<LedgerLine>)> =
            std::mem::take(&mut result.episodes)
                .into_iter()
                .map(|(index, draft)| split_draft(index, draft, definitions))
                .collect();
        episodes.sort_by(|a, b| episode_order(&a.0, &b.0));
        let mut ledger = PartLedger::new(level)?;
        let mut figures = Vec::with_capacity(episodes.len());
        for (episode, lines) in episodes {
            ledger.push(&lines)?;
            figures.push(episode);
        }
        Ok(BuiltPart {
            result,
            figures,
            ledger: ledger.finish()?,
            enrollment,
        })
    }
}

/// How a claims input was read: its format, and where its rows can be
/// read again (itself, the spool of a stream, a table's batches).
struct ReadFile {
    detected: Detected,
    reread: Option<Input>,
}

/// The raw text of rows rejected by version checks, read again from their
/// files (one pass per file that has any).
fn fetch_raw(
    inputs: &[Input],
    files: &[ReadFile],
    rejects: Vec<VersionReject>,
) -> Result<Vec<Reject>, claims::Error> {
    let mut by_file: BTreeMap<u32, Vec<VersionReject>> = BTreeMap::new();
    for reject in rejects {
        by_file.entry(reject.source.file).or_default().push(reject);
    }
    let mut out = Vec::new();
    for (file, mut rows) in by_file {
        rows.sort_by_key(|r| r.source.row);
        let spots: Vec<(u64, u64)> = rows
            .iter()
            .map(|r| (r.source.row, r.source.offset))
            .collect();
        let read = &files[file as usize];
        let Some(again) = &read.reread else {
            // Every claims file of a run is opened with spools.
            let gone = std::io::Error::other("the input was a stream that was not kept");
            return Err(claims::Error::Io {
                path: inputs[file as usize].name().to_path_buf(),
                source: gone,
            });
        };
        // A skipped file has no rows, so no rejects.
        let Detected::Claims(format) = read.detected else {
            continue;
        };
        let raw = format.raw_rows(again, &spots)?;
        out.extend(rows.into_iter().zip(raw).map(|(r, record)| Reject {
            file,
            row: r.source.row,
            reason: r.reason,
            field: r.field,
            record,
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_of_200_characters_is_shown_whole() {
        let record = "é".repeat(200);
        assert_eq!(shown_record(record.as_bytes()), format!("\"{record}\""));
    }

    #[test]
    fn a_longer_record_is_cut_at_a_character_and_says_how_much() {
        // 201 two-byte characters, then a line end: 202 characters.
        let record = format!("{}\n", "é".repeat(201));
        let shown = shown_record(record.as_bytes());
        assert_eq!(
            shown,
            format!("\"{}\"... (2 more characters not shown)", "é".repeat(200))
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_shown_replaced_on_one_line() {
        assert_eq!(shown_record(b"a\xff\nb"), "\"a\u{fffd}\\nb\"");
    }

    use crate::model::{RecordType, Source};

    const IDS: [&str; 4] = ["B0", "B1", "B2", "B3"];

    /// A line of beneficiary `IDS[b]`, its row its position.
    fn line_of(b: usize, row: u64) -> LineRef<'static> {
        let date = crate::model::parse_date(b"2026-04-01").expect("a date");
        LineRef {
            source: Source {
                file: 0,
                row,
                offset: 0,
            },
            beneficiary_id: IDS[b],
            claim_id: "C1",
            line_number: row + 1,
            claim_type: crate::model::ClaimType::Pb,
            record_type: RecordType::Original,
            processed_date: date,
            from_date: date,
            thru_date: date,
            admission_date: date,
            discharge_date: date,
            line_date: date,
            allowed: Money::from_cents(1),
            provider_id: None,
            drg: None,
            principal_dx: None,
            hcpcs: None,
        }
    }

    proptest::proptest! {
        /// Whatever the order of a partition's lines, each beneficiary's
        /// are handed over once, all of them and in their order, with the
        /// rejected versions of that beneficiary alone.
        #[test]
        fn each_beneficiary_gets_its_lines_once_in_order(
            owners in proptest::collection::vec(0..IDS.len(), 0..60),
            tainted_of in proptest::collection::vec(0..IDS.len(), 0..4),
        ) {
            let lines: Vec<LineRef> =
                owners.iter().enumerate().map(|(row, &b)| line_of(b, row as u64)).collect();
            let date = crate::model::parse_date(b"2026-04-01").expect("a date");
            let tainted: Vec<VersionKey> = tainted_of
                .iter()
                .map(|&b| VersionKey {
                    processed_date: date,
                    record_type: RecordType::Void,
                    beneficiary_id: Text::from(IDS[b]),
                    claim_id: Text::from("C9"),
                })
                .collect();
            let mut handed: Vec<(String, Vec<u64>, usize)> = Vec::new();
            each_beneficiary(BeneficiaryRows { lines, tainted }, |lines, keys| {
                let id = lines.first().map_or("", |l| l.beneficiary_id).to_owned();
                assert!(lines.iter().all(|l| l.beneficiary_id == id));
                assert!(keys.iter().all(|k| *k.beneficiary_id == id));
                handed.push((id, lines.iter().map(|l| l.source.row).collect(), keys.len()));
            });
            handed.sort();
            let mut expected: Vec<(String, Vec<u64>, usize)> = IDS
                .iter()
                .enumerate()
                .filter(|(b, _)| owners.contains(b))
                .map(|(b, id)| {
                    let rows = (0..owners.len() as u64).filter(|&r| owners[r as usize] == b).collect();
                    (id.to_string(), rows, tainted_of.iter().filter(|&&t| t == b).count())
                })
                .collect();
            expected.sort();
            proptest::prop_assert_eq!(handed, expected);
        }
    }
}
