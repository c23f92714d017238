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

use std::convert::Infallible;
use std::path::Path;

use crate::input::claims::Error;
use crate::model::Text;

use crate::input::text::SharedText;
use crate::model::LineRef;
use crate::model::money::Money;
use crate::model::outcome::{RejectReason, RejectedRow, RowOutcome, RowView, VersionKey};
use crate::model::{
    ClaimLine, ClaimLineOf, ClaimType, Date, RecordType, SeenDates, Source, drg_normal_form,
    dx_normal_form, hcpcs_normal_form, normalize_drg, normalize_dx, normalize_hcpcs,
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
    pub(crate) fn shape_reject<L>(
        source: Source,
        raw: &[u8],
        reason: RejectReason,
    ) -> RowOutcome<L> {
        RowOutcome::Rejected(RejectedRow {
            source,
            reason,
            field: None,
            version: None,
            amount: Money::ZERO,
            raw: raw.into(),
        })
    }

    /// The outcome of a well-shaped row: after the cutoff, a line, or a
    /// reject with the first check that fails; the line owned, for a
    /// reader that keeps or reshapes its lines (RIF, DE-SynPUF).
    pub(crate) fn check(&mut self, row: &ClaimFields) -> RowOutcome {
        match self.values(row) {
            Ok(values) => RowOutcome::Line(self.line(row, values)),
            Err(other) => widen(other),
        }
    }

    /// [`RowChecks::check`] with the line's texts borrowed from the row
    /// and the checks' codes: for a reader that hands each line on as it
    /// reads it (the canonical CSV, CCLF, tables).
    pub(crate) fn check_view<'a>(&'a mut self, row: &ClaimFields<'a>) -> RowView<'a> {
        match self.values(row) {
            Ok(values) => RowOutcome::Line(self.view(row, values)),
            Err(other) => widen(other),
        }
    }

    /// The cutoff, then the row checks in the contract's order: the values
    /// of the line, or the outcome that is not a line.
    fn values(&mut self, row: &ClaimFields) -> Result<LineValues, RowOutcome<Infallible>> {
        if let (Some(cutoff), Some(processed)) = (self.as_of, row.processed_date)
            && processed > cutoff
        {
            return Err(RowOutcome::AfterCutoff {
                amount: row.amount.unwrap_or_default(),
            });
        }
        self.checked(row)
            .map_err(|Failed(reason, field)| self.reject_in(row, reason, field))
    }

    /// `row` rejected for `reason`, with the version it names and its
    /// amount when readable.
    pub(crate) fn reject<L>(&mut self, row: &ClaimFields, reason: RejectReason) -> RowOutcome<L> {
        self.reject_in(row, reason, None)
    }

    /// [`RowChecks::reject`] naming the column that failed, where the
    /// reason alone does not say which.
    fn reject_in<L>(
        &mut self,
        row: &ClaimFields,
        reason: RejectReason,
        field: Option<&'static str>,
    ) -> RowOutcome<L> {
        RowOutcome::Rejected(RejectedRow {
            source: row.source,
            reason,
            field,
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

    /// Runs the row checks in the contract's order: the values of the line
    /// they pass, all but its texts.
    fn checked(&mut self, row: &ClaimFields) -> Result<LineValues, Failed> {
        use RejectReason::*;
        if !row.utf8 {
            return Err(BadEncoding.into());
        }
        if row.missing
            || row.beneficiary_id.is_empty()
            || row.claim_id.is_empty()
            || row.from_date.is_empty()
            || row.thru_date.is_empty()
        {
            return Err(MissingField.into());
        }
        let line_number = row.line_number.ok_or(BadLineNumber)?;
        let claim_type = row.claim_type.ok_or(BadClaimType)?;
        let record_type = row.record_type.ok_or(BadRecordType)?;

        let (dates, parse) = (&mut self.dates, self.parse_date);
        let mut date = |text: &[u8], column: &'static str| {
            dates
                .parse(text, parse)
                .ok_or(Failed(BadDate, Some(column)))
        };
        let from_date = date(row.from_date, "the field from_date")?;
        let thru_date = date(row.thru_date, "the field thru_date")?;
        let processed_date = row
            .processed_date
            .ok_or(Failed(BadDate, Some("the field processed_date")))?;
        let mut optional_date = |text: &[u8], default, column| match text {
            b"" => Ok(default),
            given => date(given, column),
        };
        let admission_date =
            optional_date(row.admission_date, from_date, "the field admission_date")?;
        let discharge_date =
            optional_date(row.discharge_date, thru_date, "the field discharge_date")?;
        let line_date = optional_date(row.line_date, from_date, "the field line_date")?;
        if from_date > thru_date {
            return Err(Failed(
                BadDateRange,
                Some("the fields from_date and thru_date"),
            ));
        }
        if claim_type == ClaimType::Ip && admission_date > discharge_date {
            return Err(Failed(
                BadDateRange,
                Some("the fields admission_date and discharge_date"),
            ));
        }
        let allowed = row.amount.ok_or(BadAmount)?;
        Ok(LineValues {
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
        })
    }

    /// The line of `row`, which passed the checks with `values`, its texts
    /// shared with the rows before it.
    fn line(&mut self, row: &ClaimFields, values: LineValues) -> ClaimLine {
        let beneficiary_id = self.beneficiary(row);
        let claim_id = self.claim(row);
        let shared = &mut self.shared;
        values.line(
            row.source,
            [beneficiary_id, claim_id],
            [
                optional(row.provider_id).map(|s| shared.provider.get(s, str::to_owned)),
                optional(row.drg).map(|s| shared.drg.get(s, normalize_drg)),
                optional(row.principal_dx).map(|s| shared.diagnosis.get(s, normalize_dx)),
                optional(row.hcpcs).map(|s| shared.hcpcs.get(s, normalize_hcpcs)),
            ],
        )
    }

    /// The line of `row`, which passed the checks with `values`, its ids
    /// and its codes in normal form borrowed from the row, any other code
    /// from the checks' tables.
    fn view<'a>(&'a mut self, row: &ClaimFields<'a>, values: LineValues) -> LineRef<'a> {
        let SharedText {
            prefixed_claim,
            drg,
            diagnosis,
            hcpcs,
            ..
        } = &mut self.shared;
        let claim_id = match row.claim_prefix {
            "" => row.claim_id,
            prefix => {
                prefixed_claim.clear();
                prefixed_claim.push_str(prefix);
                prefixed_claim.push_str(row.claim_id);
                prefixed_claim.as_str()
            }
        };
        values.line(
            row.source,
            [row.beneficiary_id, claim_id],
            [
                // A provider id is kept as it is read.
                optional(row.provider_id),
                optional(row.drg).map(move |s| drg.view(s, drg_normal_form)),
                optional(row.principal_dx).map(move |s| diagnosis.view(s, dx_normal_form)),
                optional(row.hcpcs).map(move |s| hcpcs.view(s, hcpcs_normal_form)),
            ],
        )
    }
}

/// A row check that failed, and the column it failed on when its reason
/// covers several (which date, which pair of dates), as a phrase for a
/// message like [`RejectReason::field`]'s.
struct Failed(RejectReason, Option<&'static str>);

impl From<RejectReason> for Failed {
    fn from(reason: RejectReason) -> Failed {
        Failed(reason, None)
    }
}

/// What the row checks make of a row that passes them, but its texts:
/// kept apart so that the checks end (and a reject, which needs the
/// checks' tables again, is made) before a borrowed line takes its codes
/// from those tables. Its fields are [`ClaimLineOf`]'s, listed once more
/// in [`LineValues::line`], which puts the two together.
#[derive(Clone, Copy, Debug)]
struct LineValues {
    line_number: u64,
    claim_type: ClaimType,
    record_type: RecordType,
    processed_date: Date,
    from_date: Date,
    thru_date: Date,
    admission_date: Date,
    discharge_date: Date,
    line_date: Date,
    allowed: Money,
}

impl LineValues {
    /// The line from `source` of these values, with its beneficiary and
    /// claim ids and its provider, DRG, diagnosis and HCPCS code.
    fn line<S>(
        self,
        source: Source,
        [beneficiary_id, claim_id]: [S; 2],
        [provider_id, drg, principal_dx, hcpcs]: [Option<S>; 4],
    ) -> ClaimLineOf<S> {
        ClaimLineOf {
            source,
            beneficiary_id,
            claim_id,
            line_number: self.line_number,
            claim_type: self.claim_type,
            record_type: self.record_type,
            processed_date: self.processed_date,
            from_date: self.from_date,
            thru_date: self.thru_date,
            admission_date: self.admission_date,
            discharge_date: self.discharge_date,
            line_date: self.line_date,
            allowed: self.allowed,
            provider_id,
            drg,
            principal_dx,
            hcpcs,
        }
    }
}

/// An outcome that is not a line, as an outcome of any line type.
fn widen<L>(outcome: RowOutcome<Infallible>) -> RowOutcome<L> {
    match outcome {
        RowOutcome::Line(never) => match never {},
        RowOutcome::Rejected(row) => RowOutcome::Rejected(row),
        RowOutcome::AfterCutoff { amount } => RowOutcome::AfterCutoff { amount },
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-formed row of `claim`, line `line`, with the given codes.
    fn row<'r>(claim: &'r str, line: u64, codes: [&'r str; 4]) -> ClaimFields<'r> {
        let [provider_id, drg, principal_dx, hcpcs] = codes;
        ClaimFields {
            source: Source {
                file: 0,
                row: line + 1,
                offset: line * 100,
            },
            raw: b"raw",
            utf8: true,
            processed_date: crate::model::parse_date(b"2026-03-10"),
            amount: Money::parse(b"12.34"),
            missing: false,
            line_number: Some(line),
            claim_type: Some(ClaimType::Ip),
            record_type: Some(RecordType::Original),
            beneficiary_id: "B1",
            claim_id: claim,
            claim_prefix: "",
            from_date: b"2026-03-01",
            thru_date: b"2026-03-05",
            admission_date: b"",
            discharge_date: b"",
            line_date: b"",
            provider_id,
            drg,
            principal_dx,
            hcpcs,
        }
    }

    /// A line handed on borrowed is the line a reader that keeps lines
    /// makes of the same row, whatever the row's outcome: the checks and
    /// the normal forms exist once, and only where the texts live differs.
    #[test]
    fn a_borrowed_line_is_the_owned_line() {
        let mut rows = vec![
            row("C1", 1, ["P1", "470", "M17.11", "27447"]),
            row("C1", 2, ["P1", "470", "M17.11", "j1100"]),
            row("C1", 3, ["P1", "", "", ""]),
            row("C2", 1, ["P2", "71", "z96.641", "99213"]),
            ClaimFields {
                claim_prefix: "I-",
                ..row("C3", 1, ["P1", "470", "M1711", "27447"])
            },
            ClaimFields {
                amount: None,
                ..row("C4", 1, ["P1", "470", "", ""])
            },
            ClaimFields {
                processed_date: crate::model::parse_date(b"2027-01-01"),
                ..row("C5", 1, ["P1", "470", "", ""])
            },
        ];
        // The same rows again: the second time every code is in the tables.
        rows.extend(rows.clone());
        let cutoff = crate::model::parse_date(b"2026-12-31");
        let parse = crate::model::parse_date;
        let (mut owned, mut borrowed) = (
            RowChecks::new(0, cutoff, parse),
            RowChecks::new(0, cutoff, parse),
        );
        let mut lines = 0;
        for row in &rows {
            let expected = owned.check(row);
            lines += usize::from(matches!(expected, RowOutcome::Line(_)));
            assert_eq!(borrowed.check_view(row).to_owned_outcome(), expected);
        }
        assert_eq!(lines, 10, "rows 1-5 of each round are lines");
    }
}
