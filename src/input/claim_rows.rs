//! The row checks of contract section 5, once for every claims format.
//!
//! A format reader (canonical, RIF, DE-SynPUF, CCLF) does two things of its
//! own: it cuts its source into rows and rejects the rows whose shape is
//! wrong (`bad_csv`, `bad_field_count`, with [`RowChecks::shape_reject`]),
//! and it maps a well-shaped row onto the canonical columns as
//! [`ClaimFields`]. Everything after that is here, in the contract's order:
//! the run-out cutoff, `bad_encoding`, `missing_field`, `bad_line_number`,
//! `bad_claim_type`, `bad_record_type`, `bad_date`, `bad_date_range`,
//! `bad_amount`, then the [`ClaimLine`] in normal form, or the reject with
//! the version it names. A new format writes only its field mapping, so it
//! cannot check in another order or build its lines another way.

use std::path::Path;

use crate::input::claims::Error;
use crate::model::Text;

use crate::input::text::SharedText;
use crate::model::money::Money;
use crate::model::outcome::{RejectReason, RejectedRow, RowOutcome, VersionKey};
use crate::model::{
    ClaimLine, ClaimType, Date, RecordType, SeenDates, Source, normalize_drg, normalize_dx,
    normalize_hcpcs,
};

/// Declares a format's header columns: the enum, `ALL` in declaration
/// order (the order required columns are reported in) and each column's
/// header name. Every reader finds its columns by name, and writing the
/// table once keeps the enum, the list and the names from drifting apart.
macro_rules! columns {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($column:ident => $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        $vis enum $name { $($column,)* }

        impl $name {
            /// Every column, in declaration order.
            const ALL: [$name; [$($name::$column),*].len()] = [$($name::$column),*];

            /// The column's header name.
            fn name(self) -> &'static str {
                match self { $($name::$column => $text,)* }
            }
        }
    };
}
pub(crate) use columns;

/// One well-shaped source row mapped onto the canonical columns, before
/// any check: what a format reads, and nothing it decides about validity.
///
/// Text fields are trimmed, empty when the format has no such column (the
/// canonical default applies) and empty when the field is not UTF-8 (the
/// row is then `bad_encoding` before any text is used, except for the
/// version a reject names, which needs readable ids).
#[derive(Clone, Debug)]
pub(crate) struct ClaimFields<'r> {
    /// Where the row is.
    pub source: Source,
    /// The row's raw text, for a reject.
    pub raw: &'r [u8],
    /// Whether the whole row is UTF-8; `bad_encoding` when not.
    pub utf8: bool,
    /// The processed date, parsed before the checks: the cutoff and the
    /// version a reject names both need it.
    pub processed_date: Option<Date>,
    /// The allowed amount; `None` is `bad_amount`. Computed before the
    /// checks, as a row after the cutoff still counts its amount.
    pub amount: Option<Money>,
    /// `missing_field` for a required column only the format knows of (the
    /// canonical `line_number`, a format's amount column, ...). The
    /// beneficiary, claim id and from and thru dates are always required.
    pub missing: bool,
    /// The line number; `None` is `bad_line_number`.
    pub line_number: Option<u64>,
    /// The claim type; `None` is `bad_claim_type`.
    pub claim_type: Option<ClaimType>,
    /// The version; `None` is `bad_record_type`.
    pub record_type: Option<RecordType>,
    pub beneficiary_id: &'r str,
    pub claim_id: &'r str,
    /// Put before the claim id: DE-SynPUF keeps claims of its three files
    /// apart this way.
    pub claim_prefix: &'static str,
    pub from_date: &'r [u8],
    pub thru_date: &'r [u8],
    /// Empty: the from date.
    pub admission_date: &'r [u8],
    /// Empty: the thru date.
    pub discharge_date: &'r [u8],
    /// Empty: the from date.
    pub line_date: &'r [u8],
    pub provider_id: &'r str,
    pub drg: &'r str,
    pub principal_dx: &'r str,
    pub hcpcs: &'r str,
}

/// The row checks of one file (or one chunk of it).
#[derive(Debug)]
pub(crate) struct RowChecks {
    file: u32,
    as_of: Option<Date>,
    parse_date: fn(&[u8]) -> Option<Date>,
    shared: SharedText,
    /// The dates read, by text: rows repeat them.
    dates: SeenDates,
}

impl RowChecks {
    /// The checks of file `file` of the run, with the run-out cutoff
    /// `as_of`, reading dates with the format's `parse_date`.
    pub(crate) fn new(
        file: u32,
        as_of: Option<Date>,
        parse_date: fn(&[u8]) -> Option<Date>,
    ) -> Self {
        RowChecks {
            file,
            as_of,
            parse_date,
            shared: SharedText::default(),
            dates: Default::default(),
        }
    }

    /// A date field read before the row checks (the processed date, which
    /// a format picks among its columns), parsed as the file's other
    /// dates are and found among those read before.
    pub(crate) fn date(&mut self, text: &[u8]) -> Option<Date> {
        self.dates.parse(text, self.parse_date)
    }

    /// Where a row at `line` and byte `offset` is.
    pub(crate) fn source(&self, line: u64, offset: u64) -> Source {
        Source {
            file: self.file,
            row: line,
            offset,
        }
    }

    /// A row rejected for its shape (`bad_csv`, `bad_field_count`): it
    /// names no version and counts no amount, as its fields cannot be
    /// trusted to be the columns they sit under.
    pub(crate) fn shape_reject(source: Source, raw: &[u8], reason: RejectReason) -> RowOutcome {
        RowOutcome::Rejected(RejectedRow {
            source,
            reason,
            version: None,
            amount: Money::ZERO,
            raw: raw.into(),
        })
    }

    /// The outcome of a well-shaped row: after the cutoff, a line, or a
    /// reject with the first check that fails.
    pub(crate) fn check(&mut self, row: &ClaimFields) -> RowOutcome {
        if let (Some(cutoff), Some(processed)) = (self.as_of, row.processed_date)
            && processed > cutoff
        {
            return RowOutcome::AfterCutoff {
                amount: row.amount.unwrap_or_default(),
            };
        }
        match self.line(row) {
            Ok(line) => RowOutcome::Line(line),
            Err(reason) => self.reject(row, reason),
        }
    }

    /// `row` rejected for `reason`, with the version it names and its
    /// amount when readable.
    pub(crate) fn reject(&mut self, row: &ClaimFields, reason: RejectReason) -> RowOutcome {
        RowOutcome::Rejected(RejectedRow {
            source: row.source,
            reason,
            version: self.version_key(row),
            amount: row.amount.unwrap_or_default(),
            raw: row.raw.into(),
        })
    }

    /// The version a row names, if it names one readably: non-empty ids, a
    /// record type and a processed date.
    pub(crate) fn version_key(&mut self, row: &ClaimFields) -> Option<VersionKey> {
        if row.beneficiary_id.is_empty() || row.claim_id.is_empty() {
            return None;
        }
        Some(VersionKey {
            processed_date: row.processed_date?,
            record_type: row.record_type?,
            beneficiary_id: self.beneficiary(row),
            claim_id: self.claim(row),
        })
    }

    /// The shared text of a HCPCS code, for a format that makes several
    /// lines of one row.
    pub(crate) fn hcpcs(&mut self, code: &str) -> Text {
        self.shared.hcpcs.get(code, normalize_hcpcs)
    }

    fn beneficiary(&mut self, row: &ClaimFields) -> Text {
        self.shared
            .beneficiary
            .get(row.beneficiary_id, |b| Text::from(b))
    }

    fn claim(&mut self, row: &ClaimFields) -> Text {
        let prefix = row.claim_prefix;
        self.shared.claim.get(row.claim_id, |c| match prefix {
            "" => Text::from(c),
            _ => Text::from([prefix, c].concat()),
        })
    }

    /// Runs the row checks in the contract's order and builds the line.
    fn line(&mut self, row: &ClaimFields) -> Result<ClaimLine, RejectReason> {
        use RejectReason::*;
        if !row.utf8 {
            return Err(BadEncoding);
        }
        if row.missing
            || row.beneficiary_id.is_empty()
            || row.claim_id.is_empty()
            || row.from_date.is_empty()
            || row.thru_date.is_empty()
        {
            return Err(MissingField);
        }
        let line_number = row.line_number.ok_or(BadLineNumber)?;
        let claim_type = row.claim_type.ok_or(BadClaimType)?;
        let record_type = row.record_type.ok_or(BadRecordType)?;

        let (dates, parse) = (&mut self.dates, self.parse_date);
        let mut date = |text: &[u8]| dates.parse(text, parse).ok_or(BadDate);
        let from_date = date(row.from_date)?;
        let thru_date = date(row.thru_date)?;
        let processed_date = row.processed_date.ok_or(BadDate)?;
        let mut optional_date = |text: &[u8], default| match text {
            b"" => Ok(default),
            given => date(given),
        };
        let admission_date = optional_date(row.admission_date, from_date)?;
        let discharge_date = optional_date(row.discharge_date, thru_date)?;
        let line_date = optional_date(row.line_date, from_date)?;
        if from_date > thru_date || (claim_type == ClaimType::Ip && admission_date > discharge_date)
        {
            return Err(BadDateRange);
        }
        let allowed = row.amount.ok_or(BadAmount)?;

        let beneficiary_id = self.beneficiary(row);
        let claim_id = self.claim(row);
        let shared = &mut self.shared;
        Ok(ClaimLine {
            source: row.source,
            beneficiary_id,
            claim_id,
            line_number,
            claim_type,
            record_type,
            processed_date,
            from_date,
            thru_date,
            admission_date,
            discharge_date,
            line_date,
            allowed,
            provider_id: optional(row.provider_id).map(|s| shared.provider.get(s, str::to_owned)),
            drg: optional(row.drg).map(|s| shared.drg.get(s, normalize_drg)),
            principal_dx: optional(row.principal_dx).map(|s| shared.diagnosis.get(s, normalize_dx)),
            hcpcs: optional(row.hcpcs).map(|s| shared.hcpcs.get(s, normalize_hcpcs)),
        })
    }
}

/// Where each of a format's columns sits among a header's `names`, in
/// order: `find` gives the column a name stands for (its index in the
/// format's list, and its name for a message), `None` for a name the
/// format ignores. A column named twice is fatal, as the contract asks.
pub(crate) fn column_positions<'n, const N: usize>(
    names: impl IntoIterator<Item = &'n [u8]>,
    find: impl Fn(&[u8]) -> Option<(usize, &'static str)>,
    path: &Path,
    row: u64,
) -> Result<[Option<usize>; N], Error> {
    let mut index = [None; N];
    for (position, name) in names.into_iter().enumerate() {
        let Some((column, column_name)) = find(name) else {
            continue;
        };
        if index[column].replace(position).is_some() {
            return Err(Error::DuplicateColumn {
                path: path.to_owned(),
                row,
                column: column_name,
            });
        }
    }
    Ok(index)
}

/// A text field that is not empty.
fn optional(text: &str) -> Option<&str> {
    Some(text).filter(|s| !s.is_empty())
}

/// A line number: digits only, at least 1 (`01` is 1).
pub(crate) fn parse_line_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|&n| n >= 1)
}

/// A field as text: empty when it is not UTF-8 (the row is then rejected
/// for its encoding before the text is used).
pub(crate) fn text(field: &[u8]) -> &str {
    std::str::from_utf8(field).unwrap_or_default()
}
