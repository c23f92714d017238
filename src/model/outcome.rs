//! What became of each input row, and the counts that show nothing was
//! lost: the vocabulary that readers produce, the engine adds up and the
//! outputs write, kept here so that none of them imports another for it.

use std::collections::BTreeMap;

use crate::model::Text;
use crate::model::money::Money;
use crate::model::{ClaimLine, Date, LineRef, RecordType, Source};

/// Why a row could not be used. The names are the contract's, written in
/// `rejects.csv` and `summary.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    /// The record cannot be parsed (the file ends inside a quoted field).
    BadCsv,
    /// Not as many fields as the header.
    BadFieldCount,
    /// Not UTF-8.
    BadEncoding,
    /// A required column is empty.
    MissingField,
    /// `line_number` is not an integer >= 1.
    BadLineNumber,
    /// `claim_type` is not one of the seven.
    BadClaimType,
    /// `record_type` is not `O`, `R` or `V`.
    BadRecordType,
    /// A date column is not a real date in either form.
    BadDate,
    /// `from_date > thru_date`, or `admission_date > discharge_date` on IP.
    BadDateRange,
    /// `allowed_amount` is not a whole number of cents.
    BadAmount,
    /// A line number appears twice in one claim version.
    DuplicateLine,
    /// The rows of one claim version disagree on a claim-level field.
    InconsistentClaim,
    /// Another row of the same claim version was rejected.
    ClaimHasRejectedRow,
    /// A beneficiaries `month` is not `YYYY-MM` or `YYYYMM` with a real month.
    BadMonth,
    /// A beneficiaries flag column holds something other than `Y`, `N` or nothing.
    BadFlag,
    /// A beneficiary's month appears on more than one row.
    DuplicateMonth,
    /// A beneficiary's rows disagree on its birth or death date.
    InconsistentBeneficiary,
}

impl RejectReason {
    /// Every reason, in the contract's order of checks.
    pub const ALL: [RejectReason; 17] = [
        RejectReason::BadCsv,
        RejectReason::BadFieldCount,
        RejectReason::BadEncoding,
        RejectReason::MissingField,
        RejectReason::BadLineNumber,
        RejectReason::BadClaimType,
        RejectReason::BadRecordType,
        RejectReason::BadDate,
        RejectReason::BadDateRange,
        RejectReason::BadAmount,
        RejectReason::DuplicateLine,
        RejectReason::InconsistentClaim,
        RejectReason::ClaimHasRejectedRow,
        RejectReason::BadMonth,
        RejectReason::BadFlag,
        RejectReason::DuplicateMonth,
        RejectReason::InconsistentBeneficiary,
    ];

    /// The reason of a contract name, as `summary.json` writes it.
    pub fn from_name(name: &str) -> Option<RejectReason> {
        RejectReason::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The field that failed, as a phrase for a message (`the field
    /// allowed_amount`), in the canonical columns' names: for another
    /// format, the canonical column its field maps to. `None` when the
    /// record as a whole failed (unreadable, wrong field count, not UTF-8)
    /// or another row did.
    pub fn field(self) -> Option<&'static str> {
        Some(match self {
            RejectReason::BadCsv
            | RejectReason::BadFieldCount
            | RejectReason::BadEncoding
            | RejectReason::ClaimHasRejectedRow => return None,
            RejectReason::MissingField => "a required field is empty",
            RejectReason::BadLineNumber | RejectReason::DuplicateLine => "the field line_number",
            RejectReason::BadClaimType => "the field claim_type",
            RejectReason::BadRecordType => "the field record_type",
            RejectReason::BadDate => "a date field",
            RejectReason::BadDateRange => {
                "the fields from_date and thru_date, or admission_date and discharge_date"
            }
            RejectReason::BadAmount => "the field allowed_amount",
            RejectReason::InconsistentClaim => "a claim-level field",
            RejectReason::BadMonth | RejectReason::DuplicateMonth => "the field month",
            RejectReason::BadFlag => "a flag field",
            RejectReason::InconsistentBeneficiary => "the fields birth_date and death_date",
        })
    }

    /// The contract's name of the reason.
    pub fn name(self) -> &'static str {
        match self {
            RejectReason::BadCsv => "bad_csv",
            RejectReason::BadFieldCount => "bad_field_count",
            RejectReason::BadEncoding => "bad_encoding",
            RejectReason::MissingField => "missing_field",
            RejectReason::BadLineNumber => "bad_line_number",
            RejectReason::BadClaimType => "bad_claim_type",
            RejectReason::BadRecordType => "bad_record_type",
            RejectReason::BadDate => "bad_date",
            RejectReason::BadDateRange => "bad_date_range",
            RejectReason::BadAmount => "bad_amount",
            RejectReason::DuplicateLine => "duplicate_line",
            RejectReason::InconsistentClaim => "inconsistent_claim",
            RejectReason::ClaimHasRejectedRow => "claim_has_rejected_row",
            RejectReason::BadMonth => "bad_month",
            RejectReason::BadFlag => "bad_flag",
            RejectReason::DuplicateMonth => "duplicate_month",
            RejectReason::InconsistentBeneficiary => "inconsistent_beneficiary",
        }
    }
}

/// The version a row belongs to: `(beneficiary_id, claim_id, record_type,
/// processed_date)`. A rejected row that has one takes its version down
/// with it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionKey {
    /// The patient.
    pub beneficiary_id: Text,
    /// The claim.
    pub claim_id: Text,
    /// The version's processed date.
    pub processed_date: Date,
    /// Original, replacement or void.
    pub record_type: RecordType,
}

/// A row that failed a row check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedRow {
    /// Where it came from.
    pub source: Source,
    /// The first check it failed.
    pub reason: RejectReason,
    /// The column it failed on, where the reason covers several (which
    /// date), as [`RejectReason::field`] phrases it: for `--strict`.
    pub field: Option<&'static str>,
    /// Its version, when the row says which it is; `None` rejects it alone.
    pub version: Option<VersionKey>,
    /// Its allowed amount when that parses, else zero (for the summary).
    pub amount: Money,
    /// The row as written, without its line end.
    pub raw: Box<[u8]>,
}

/// What became of one input row at reading time: its line owned
/// ([`ClaimLine`]), or borrowed as a chunk's rows are handed over
/// ([`RowView`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowOutcome<L = ClaimLine> {
    /// Passed every row check.
    Line(L),
    /// Failed a row check.
    Rejected(RejectedRow),
    /// Its version was processed after `--as-of`: not yet received.
    AfterCutoff {
        /// Its allowed amount when that parses, else zero.
        amount: Money,
    },
}

/// A row's outcome as a reader hands it to its sink, the line borrowed
/// from the row being read (see [`LineRef`]).
pub type RowView<'a> = RowOutcome<LineRef<'a>>;

impl RowOutcome {
    /// Hands the outcome to `sink` as a view: how a reader that keeps its
    /// lines (RIF, DE-SynPUF) passes them on.
    pub fn pass<R>(self, sink: impl FnOnce(RowView<'_>) -> R) -> R {
        match self {
            RowOutcome::Line(line) => sink(RowOutcome::Line(line.view())),
            RowOutcome::Rejected(row) => sink(RowOutcome::Rejected(row)),
            RowOutcome::AfterCutoff { amount } => sink(RowOutcome::AfterCutoff { amount }),
        }
    }
}

/// Keeps `view`, owned, in `outcomes`: the fold of a caller of
/// [`crate::input::formats::ClaimsFormat::read_chunked`] that keeps every
/// outcome.
pub fn keep_owned(outcomes: &mut Vec<RowOutcome>, view: RowView<'_>) {
    outcomes.push(view.to_owned_outcome());
}

impl RowView<'_> {
    /// The outcome with its line owned ([`LineRef::to_line`]).
    pub fn to_owned_outcome(self) -> RowOutcome {
        match self {
            RowOutcome::Line(line) => RowOutcome::Line(line.to_line()),
            RowOutcome::Rejected(row) => RowOutcome::Rejected(row),
            RowOutcome::AfterCutoff { amount } => RowOutcome::AfterCutoff { amount },
        }
    }
}

/// A count of rows and the sum of their allowed amounts: one cell of the
/// summary's "nothing is lost" table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Rows.
    pub rows: u64,
    /// Their allowed amounts.
    pub amount: Money,
}

impl Tally {
    /// Counts one row of `amount`: a claim row's, so the sum is bounded
    /// (RULES 7a, [`Money::add_claim`]).
    pub fn add(&mut self, amount: Money) {
        self.rows += 1;
        self.amount = self.amount.add_claim(amount);
    }

    /// Adds another tally of the same run's claim rows to this one (the
    /// bound of [`Tally::add`] is over all of them).
    pub fn merge(&mut self, other: Tally) {
        self.rows += other.rows;
        self.amount = self.amount.add_claim(other.amount);
    }
}

/// An input row that could not be used: a row of `rejects.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject {
    /// Index of the file in `Reconciliation::files`.
    pub file: u32,
    /// 1-based line of the record.
    pub row: u64,
    /// Why.
    pub reason: RejectReason,
    /// The column it failed on, where the reason covers several (which
    /// date, which claim-level field), as [`RejectReason::field`] phrases
    /// it: for `--strict`.
    pub field: Option<&'static str>,
    /// The record as written, without its line end.
    pub record: Box<[u8]>,
}

/// The "nothing is lost" accounting of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accounting {
    /// Every data row read.
    pub read: Tally,
    /// Rows that could not be used.
    pub rejected: Tally,
    /// Rows of versions processed after `--as-of`.
    pub after_cutoff: Tally,
    /// Rows of final-action voids.
    pub void: Tally,
    /// Rows of versions a later one replaced.
    pub superseded: Tally,
    /// Rows of final-action versions.
    pub final_action: Tally,
    /// Rejected rows per reason.
    pub rejected_by_reason: BTreeMap<RejectReason, u64>,
    /// Per definition (same order as the definitions).
    pub types: Vec<TypeTally>,
}

impl Accounting {
    /// Counts one rejected row.
    pub fn count_reject(&mut self, reason: RejectReason, amount: Money) {
        self.rejected.add(amount);
        *self.rejected_by_reason.entry(reason).or_default() += 1;
    }

    /// Adds another part of the run's accounting (a chunk's, a
    /// beneficiary's) to this one.
    pub fn merge(&mut self, other: &Accounting) {
        for (total, part) in [
            (&mut self.read, other.read),
            (&mut self.rejected, other.rejected),
            (&mut self.after_cutoff, other.after_cutoff),
            (&mut self.void, other.void),
            (&mut self.superseded, other.superseded),
            (&mut self.final_action, other.final_action),
        ] {
            total.merge(part);
        }
        for (reason, count) in &other.rejected_by_reason {
            *self.rejected_by_reason.entry(*reason).or_default() += count;
        }
        for (total, part) in self.types.iter_mut().zip(&other.types) {
            total.merge(*part);
        }
    }
}

/// What became of the beneficiaries rows: `beneficiaries` in `summary.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BeneficiaryCounts {
    /// Every data row read.
    pub read: u64,
    /// Rows accepted as months of enrollment.
    pub accepted: u64,
    /// Rejected rows per reason.
    pub rejected_by_reason: BTreeMap<RejectReason, u64>,
}

impl BeneficiaryCounts {
    /// Rows rejected.
    pub fn rejected(&self) -> u64 {
        self.rejected_by_reason.values().sum()
    }
}

/// The per-type figures of the summary that come from one beneficiary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TypeTally {
    /// Claims that would have been triggers but had no provider.
    pub triggers_without_provider: u64,
    /// Lines in the ledgers of two or more episodes of the type.
    pub lines_in_several_episodes: u64,
    /// Final-action money no episode of the type took in, line by line.
    pub outside: Money,
}

impl TypeTally {
    /// Adds another beneficiary's figures.
    pub fn merge(&mut self, other: TypeTally) {
        self.triggers_without_provider += other.triggers_without_provider;
        self.lines_in_several_episodes += other.lines_in_several_episodes;
        // Per-line claim sums of one run: bounded by RULES 7a.
        self.outside = self.outside.add_claim(other.outside);
    }
}
