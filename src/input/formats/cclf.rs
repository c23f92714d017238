//! The CMS Claim and Claim Line Feed (CCLF) files as claim lines.
//!
//! The CCLF files are the claims extracts CMS sends to ACOs and model
//! participants (Shared Savings Program, REACH, bundled-payment models),
//! one file per layout of the "CCLF file data guide". This reader takes four
//! of them, delimited with a header row of the guide's field names, or in
//! the guide's fixed width (known by the record length of the first line;
//! no header):
//!
//! - CCLF1, Part A claims header: one row per claim version, made into one
//!   claim line (line 1) carrying `CLM_PMT_AMT` as its allowed amount;
//! - CCLF2, Part A revenue centre detail: one row per revenue centre line
//!   (`CLM_LINE_NUM`) of a Part A claim, carrying `CLM_LINE_CVRD_PD_AMT`;
//! - CCLF5, Part B physicians: one row per claim line (`CLM_LINE_NUM`);
//! - CCLF6, Part B DME: one row per claim line (`CLM_LINE_NUM`).
//!
//! The layout comes from the header: no `CLM_LINE_NUM` and a `CLM_PMT_AMT`
//! make a CCLF1; a `CLM_LINE_NUM` with `CLM_LINE_PROD_REV_CTR_CD` and no
//! `CLM_LINE_ALOWD_CHRG_AMT` a CCLF2; another `CLM_LINE_NUM` with
//! `PAYTO_PRVDR_NPI_NUM` or `ORDRG_PRVDR_NPI_NUM` a CCLF6, else a CCLF5.
//! CCLF1 and CCLF2 describe the same Part A claims: a run must be given one
//! of them per claim, not both, or the claim's money counts twice.
//!
//! Every data row becomes exactly one [`RowOutcome`], with the canonical
//! reader's checks in the contract's order (section 5). Versions come from
//! `CLM_ADJSMT_TYPE_CD` (0 original, 2 adjustment = replacement, 1
//! cancellation = void), processed on `CLM_EFCTV_DT` (the claim thru date
//! when empty). The guide's CCLF2 has neither column, so its rows are
//! originals processed on the thru date unless the two columns are added to
//! it (from the CCLF1 row of the same `CUR_CLM_UNIQ_ID`). Versions are not
//! linked by the guide's natural keys: only rows sharing `CUR_CLM_UNIQ_ID`
//! are versions of one claim. The mapping,
//! field by field, is in `docs/INPUT-FORMATS.md` (section "CCLF").
//!
//! Rows are split on `|` when the header line holds one (no quoting, as the
//! guide's pipe files have none), at the guide's positions when the first
//! line is a fixed-width record, else read as comma CSV with the lenient
//! quoting of [`crate::input::records`]. `~` in any field and the dates
//! `1000-01-01` and `9999-12-31` are the guide's "no value" and read as
//! empty.

use std::io;
use std::path::Path;

use crate::input::claim_rows::{
    ClaimFields, RowChecks, column_positions, parse_line_number, text as text_of,
};
use crate::input::claims::{self, Error, open};
use crate::input::driver::{self, ChunkRows, FormatReader, ParseChunk, io_error};
use crate::input::records::{self, Chunk, Dialect, Lines, Record};
use crate::input::source::Source;
use crate::model::money::Money;
use crate::model::outcome::{RejectReason, RowView};
use crate::model::{ClaimType, RecordType, parse_date};

/// The four CCLF layouts this reader takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// CCLF1, Part A claims header.
    PartA,
    /// CCLF2, Part A revenue centre detail.
    Revenue,
    /// CCLF5, Part B physicians.
    Physician,
    /// CCLF6, Part B DME.
    Dme,
}

impl Kind {
    /// The claim type of a `CLM_TYPE_CD` value in a file of this layout, or
    /// `None` for a code the layout does not carry.
    fn claim_type(self, code: &[u8]) -> Option<ClaimType> {
        match (self, code) {
            (Kind::PartA | Kind::Revenue, b"10") => Some(ClaimType::Hha),
            (Kind::PartA | Kind::Revenue, b"20" | b"30") => Some(ClaimType::Snf),
            (Kind::PartA | Kind::Revenue, b"40") => Some(ClaimType::Op),
            (Kind::PartA | Kind::Revenue, b"50") => Some(ClaimType::Hos),
            (Kind::PartA | Kind::Revenue, b"60" | b"61") => Some(ClaimType::Ip),
            (Kind::Physician, b"71" | b"72") => Some(ClaimType::Pb),
            (Kind::Dme, b"81" | b"82") => Some(ClaimType::Dme),
            _ => None,
        }
    }

    /// The billing provider columns, the first non-empty one taken.
    fn provider(self) -> &'static [Column] {
        match self {
            Kind::PartA | Kind::Revenue => &[Column::PrvdrOscarNum],
            Kind::Physician => &[Column::RndrgPrvdrTaxNum],
            Kind::Dme => &[Column::PaytoPrvdrNpiNum, Column::BlgPrvdrNpiNum],
        }
    }
}

/// The CCLF columns the reader uses; others are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    CurClmUniqId,
    BeneMbiId,
    BeneHicNum,
    ClmTypeCd,
    FromDt,
    ThruDt,
    ClmLineNum,
    AdjsmtTypeCd,
    EfctvDt,
    ClmPmtAmt,
    LineAlowdChrgAmt,
    LineCvrdPdAmt,
    LineFromDt,
    LineHcpcsCd,
    PrvdrOscarNum,
    RndrgPrvdrTaxNum,
    PaytoPrvdrNpiNum,
    OrdrgPrvdrNpiNum,
    BlgPrvdrNpiNum,
    DrgCd,
    PrncplDgnsCd,
    Dgns1Cd,
    RevCtrCd,
    InstnlRevCtrDt,
}

impl Column {
    const ALL: [Column; 24] = [
        Column::CurClmUniqId,
        Column::BeneMbiId,
        Column::BeneHicNum,
        Column::ClmTypeCd,
        Column::FromDt,
        Column::ThruDt,
        Column::ClmLineNum,
        Column::AdjsmtTypeCd,
        Column::EfctvDt,
        Column::ClmPmtAmt,
        Column::LineAlowdChrgAmt,
        Column::LineCvrdPdAmt,
        Column::LineFromDt,
        Column::LineHcpcsCd,
        Column::PrvdrOscarNum,
        Column::RndrgPrvdrTaxNum,
        Column::PaytoPrvdrNpiNum,
        Column::OrdrgPrvdrNpiNum,
        Column::BlgPrvdrNpiNum,
        Column::DrgCd,
        Column::PrncplDgnsCd,
        Column::Dgns1Cd,
        Column::RevCtrCd,
        Column::InstnlRevCtrDt,
    ];

    /// The header names of the column: the guide's first, then aliases
    /// seen in the field (two of them in one header are a duplicate).
    fn names(self) -> &'static [&'static str] {
        match self {
            Column::CurClmUniqId => &["CUR_CLM_UNIQ_ID"],
            Column::BeneMbiId => &["BENE_MBI_ID"],
            Column::BeneHicNum => &["BENE_HIC_NUM"],
            Column::ClmTypeCd => &["CLM_TYPE_CD"],
            Column::FromDt => &["CLM_FROM_DT"],
            Column::ThruDt => &["CLM_THRU_DT"],
            Column::ClmLineNum => &["CLM_LINE_NUM"],
            Column::AdjsmtTypeCd => &["CLM_ADJSMT_TYPE_CD"],
            Column::EfctvDt => &["CLM_EFCTV_DT"],
            Column::ClmPmtAmt => &["CLM_PMT_AMT"],
            Column::LineAlowdChrgAmt => &["CLM_LINE_ALOWD_CHRG_AMT"],
            Column::LineCvrdPdAmt => &["CLM_LINE_CVRD_PD_AMT"],
            Column::LineFromDt => &["CLM_LINE_FROM_DT"],
            Column::LineHcpcsCd => &["CLM_LINE_HCPCS_CD"],
            Column::PrvdrOscarNum => &["PRVDR_OSCAR_NUM"],
            Column::RndrgPrvdrTaxNum => &["CLM_RNDRG_PRVDR_TAX_NUM"],
            Column::PaytoPrvdrNpiNum => &["PAYTO_PRVDR_NPI_NUM"],
            Column::OrdrgPrvdrNpiNum => &["ORDRG_PRVDR_NPI_NUM"],
            Column::BlgPrvdrNpiNum => &["CLM_BLG_PRVDR_NPI_NUM"],
            Column::DrgCd => &["DGNS_DRG_CD", "CLM_DRG_CD"],
            Column::PrncplDgnsCd => &["PRNCPL_DGNS_CD", "PRNCPAL_DGNS_CD"],
            Column::Dgns1Cd => &["CLM_DGNS_1_CD"],
            Column::RevCtrCd => &["CLM_LINE_PROD_REV_CTR_CD"],
            Column::InstnlRevCtrDt => &["CLM_LINE_INSTNL_REV_CTR_DT"],
        }
    }

    fn name(self) -> &'static str {
        self.names()[0]
    }

    fn is_date(self) -> bool {
        matches!(
            self,
            Column::FromDt
                | Column::ThruDt
                | Column::EfctvDt
                | Column::LineFromDt
                | Column::InstnlRevCtrDt
        )
    }

    fn find(name: &[u8]) -> Option<Column> {
        Column::ALL.into_iter().find(|c| {
            c.names()
                .iter()
                .any(|n| name.eq_ignore_ascii_case(n.as_bytes()))
        })
    }
}

/// The required columns, for the message of a missing one.
const REQUIRED: &str = "CUR_CLM_UNIQ_ID, BENE_MBI_ID or BENE_HIC_NUM, CLM_TYPE_CD, CLM_FROM_DT, \
    CLM_THRU_DT, and CLM_PMT_AMT (CCLF1), or CLM_LINE_NUM with CLM_LINE_CVRD_PD_AMT (CCLF2, \
    named by CLM_LINE_PROD_REV_CTR_CD), or CLM_LINE_NUM with CLM_LINE_ALOWD_CHRG_AMT or \
    CLM_LINE_CVRD_PD_AMT (CCLF5, CCLF6)";

/// Whether a header line is a CCLF claims header (CCLF1, CCLF2, CCLF5 or CCLF6,
/// pipe or comma delimited): naming `CUR_CLM_UNIQ_ID`, `CLM_TYPE_CD` and
/// `BENE_MBI_ID` or `BENE_HIC_NUM`, compared without case. For
/// `--claims-format auto`.
pub fn looks_like_cclf(header: &str) -> bool {
    let has = |wanted: &str| super::names_column(header, wanted);
    has("CUR_CLM_UNIQ_ID") && has("CLM_TYPE_CD") && (has("BENE_MBI_ID") || has("BENE_HIC_NUM"))
}

/// One data row: its raw text, its fields and where it is.
#[derive(Debug, Default)]
struct Row {
    raw: Vec<u8>,
    /// The fields' text, one after another.
    text: Vec<u8>,
    spans: Vec<(usize, usize)>,
    line: u64,
    offset: u64,
    /// False when a comma file ends inside a quoted field.
    complete: bool,
    /// Where a pipe line's fields are, before they are copied into `text`.
    cuts: Vec<(usize, usize)>,
}

impl Row {
    fn clear(&mut self) {
        self.raw.clear();
        self.text.clear();
        self.spans.clear();
    }

    fn push_field(&mut self, field: &[u8]) {
        let start = self.text.len();
        self.text.extend_from_slice(records::trim(field));
        self.spans.push((start, self.text.len()));
    }

    /// Field `index`, trimmed, or `None` past the end.
    fn get(&self, index: usize) -> Option<&[u8]> {
        let &(start, end) = self.spans.get(index)?;
        Some(&self.text[start..end])
    }

    /// Whether the row has `width` fields, or one more that is empty (a
    /// trailing delimiter).
    fn has_width(&self, width: usize) -> bool {
        let n = self.spans.len();
        n == width || (n == width + 1 && self.get(width) == Some(b""))
    }
}

/// How a file's rows are laid out, decided from its first non-empty line.
#[derive(Clone, Copy, Debug)]
enum Form {
    /// Delimited by `|`, with a header row (no quoting).
    Pipe,
    /// Comma CSV with a header row.
    Comma,
    /// Fixed-width records without a header, of one of [`FIXED_LAYOUTS`].
    Fixed(&'static FixedLayout),
}

impl Form {
    /// The form a file's first non-empty line shows.
    fn of_line(first: &[u8]) -> Form {
        if first.contains(&b'|') {
            Form::Pipe
        } else if let Some(layout) = FixedLayout::of_line(first) {
            Form::Fixed(layout)
        } else {
            Form::Comma
        }
    }
}

impl Row {
    /// The row of one line (without its line end): split on `|`, or at
    /// the positions of a fixed-width `layout`.
    fn fill_line(&mut self, line: u64, offset: u64, raw: &[u8], fixed: Option<&FixedLayout>) {
        self.clear();
        self.raw.extend_from_slice(raw);
        self.line = line;
        self.offset = offset;
        self.complete = true;
        match fixed {
            // A record of another length has no fields, so it fails the
            // width check as a delimited row of the wrong field count does.
            Some(layout) if raw.len() == layout.record_length => {
                for &(_, start, length) in layout.fields {
                    self.push_field(&raw[start - 1..start - 1 + length]);
                }
            }
            Some(_) => {}
            None => {
                let mut cuts = std::mem::take(&mut self.cuts);
                // Nothing to unescape in CCLF's pipes, so no copy is made.
                records::split_fields(Dialect::Pipe, raw, false, &mut cuts, &mut Vec::new());
                for &(start, end) in &cuts {
                    self.push_field(&raw[start..end]);
                }
                self.cuts = cuts;
            }
        }
    }

    /// The row of one comma CSV record.
    fn fill_record(&mut self, record: &Record) {
        self.clear();
        self.raw.extend_from_slice(record.raw());
        self.line = record.line();
        self.offset = record.offset();
        self.complete = record.is_complete();
        for field in record.iter() {
            self.push_field(field);
        }
    }
}

/// CCLF as the driver reads it, in the form its first line shows.
pub(crate) struct Cclf {
    form: Form,
}

impl Cclf {
    /// The reader of a file whose first non-empty line is `first`.
    pub(crate) fn of_first_line(first: &[u8]) -> Cclf {
        Cclf {
            form: Form::of_line(first),
        }
    }
}

impl FormatReader for Cclf {
    type Header = Header;

    fn quoting(&self) -> bool {
        matches!(self.form, Form::Comma)
    }

    fn header(&self, chunk: &Chunk, path: &Path) -> Result<Option<(Header, usize, u64)>, Error> {
        let mut row = Row::default();
        match self.form {
            // A fixed-width file has no header: its rows start at once.
            Form::Fixed(layout) => Ok(Some((layout.header(), 0, chunk.first_line))),
            Form::Comma => driver::record_header(chunk, path, |record| {
                row.fill_record(record);
                Header::resolve(&row, path)
            }),
            Form::Pipe => {
                let mut lines = Lines::skipping_blank(chunk);
                let Some((line, offset, raw)) = lines.next() else {
                    return Ok(None);
                };
                row.fill_line(line, offset, raw, None);
                let header = Header::resolve(&row, path)?;
                let (next_line, next_offset) = lines.next_position();
                Ok(Some((
                    header,
                    (next_offset - chunk.offset) as usize,
                    next_line,
                )))
            }
        }
    }
}

impl ParseChunk for Cclf {
    fn parse<S: FnMut(RowView<'_>)>(
        &self,
        header: &Header,
        rows: ChunkRows<'_, S>,
    ) -> io::Result<()> {
        let mut sink = rows.sink;
        let mut checker = RowChecker {
            header,
            checks: rows.checks,
        };
        let mut row = Row::default();
        let fixed = match self.form {
            Form::Comma => {
                return driver::each_record(rows.chunk, |record| {
                    row.fill_record(record);
                    sink(checker.check(&row));
                });
            }
            Form::Fixed(layout) => Some(layout),
            Form::Pipe => None,
        };
        for (line, offset, raw) in Lines::skipping_blank(rows.chunk) {
            row.fill_line(line, offset, raw, fixed);
            sink(checker.check(&row));
        }
        Ok(())
    }
}

/// A fixed-width layout of the CCLF Information Packet (version 36 and
/// later): the record length and the 1-based start and length of each
/// column this reader uses, in record order. docs/INPUT-FORMATS.md
/// ("CCLF fixed width") gives the positions with their sources.
#[derive(Debug)]
struct FixedLayout {
    kind: Kind,
    record_length: usize,
    fields: &'static [(Column, usize, usize)],
}

/// CCLF1, CCLF2, CCLF5 and CCLF6 as the guide lays them out in fixed width.
static FIXED_LAYOUTS: [FixedLayout; 4] = [
    FixedLayout {
        kind: Kind::PartA,
        record_length: 437,
        fields: &[
            (Column::CurClmUniqId, 1, 13),
            (Column::PrvdrOscarNum, 14, 6),
            (Column::BeneMbiId, 20, 11),
            (Column::BeneHicNum, 31, 11),
            (Column::ClmTypeCd, 42, 2),
            (Column::FromDt, 44, 10),
            (Column::ThruDt, 54, 10),
            (Column::PrncplDgnsCd, 66, 7),
            (Column::ClmPmtAmt, 82, 17),
            (Column::DrgCd, 104, 4),
            (Column::AdjsmtTypeCd, 149, 2),
            (Column::EfctvDt, 151, 10),
        ],
    },
    FixedLayout {
        kind: Kind::Revenue,
        record_length: 199,
        fields: &[
            (Column::CurClmUniqId, 1, 13),
            (Column::ClmLineNum, 14, 10),
            (Column::BeneMbiId, 24, 11),
            (Column::BeneHicNum, 35, 11),
            (Column::ClmTypeCd, 46, 2),
            (Column::LineFromDt, 48, 10),
            (Column::RevCtrCd, 68, 4),
            (Column::InstnlRevCtrDt, 72, 10),
            (Column::LineHcpcsCd, 82, 5),
            (Column::PrvdrOscarNum, 98, 6),
            (Column::FromDt, 104, 10),
            (Column::ThruDt, 114, 10),
            (Column::LineCvrdPdAmt, 148, 17),
        ],
    },
    FixedLayout {
        kind: Kind::Physician,
        record_length: 388,
        fields: &[
            (Column::CurClmUniqId, 1, 13),
            (Column::ClmLineNum, 14, 10),
            (Column::BeneMbiId, 24, 11),
            (Column::BeneHicNum, 35, 11),
            (Column::ClmTypeCd, 46, 2),
            (Column::FromDt, 48, 10),
            (Column::ThruDt, 58, 10),
            (Column::LineFromDt, 78, 10),
            (Column::LineHcpcsCd, 98, 5),
            (Column::LineCvrdPdAmt, 103, 15),
            (Column::RndrgPrvdrTaxNum, 126, 10),
            (Column::AdjsmtTypeCd, 150, 2),
            (Column::EfctvDt, 152, 10),
            (Column::LineAlowdChrgAmt, 223, 17),
            (Column::Dgns1Cd, 276, 7),
        ],
    },
    FixedLayout {
        kind: Kind::Dme,
        record_length: 247,
        fields: &[
            (Column::CurClmUniqId, 1, 13),
            (Column::ClmLineNum, 14, 10),
            (Column::BeneMbiId, 24, 11),
            (Column::BeneHicNum, 35, 11),
            (Column::ClmTypeCd, 46, 2),
            (Column::FromDt, 48, 10),
            (Column::ThruDt, 58, 10),
            (Column::LineFromDt, 71, 10),
            (Column::LineHcpcsCd, 91, 5),
            (Column::LineCvrdPdAmt, 96, 15),
            (Column::PaytoPrvdrNpiNum, 112, 10),
            (Column::OrdrgPrvdrNpiNum, 122, 10),
            (Column::AdjsmtTypeCd, 136, 2),
            (Column::EfctvDt, 138, 10),
            (Column::LineAlowdChrgAmt, 209, 17),
            (Column::BlgPrvdrNpiNum, 228, 10),
        ],
    },
];

impl FixedLayout {
    /// The layout of a file whose first line is `line` (its line end and a
    /// BOM ignored): one of the guide's record lengths, with no delimiter
    /// and no header name in it.
    fn of_line(line: &[u8]) -> Option<&'static FixedLayout> {
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let names_a_column = line
            .windows(b"CUR_CLM_UNIQ_ID".len())
            .any(|w| w.eq_ignore_ascii_case(b"CUR_CLM_UNIQ_ID"));
        if names_a_column || line.contains(&b',') || line.contains(&b'|') {
            return None;
        }
        FIXED_LAYOUTS
            .iter()
            .find(|layout| layout.record_length == line.len())
    }

    /// The header a file of this layout would have: every field a column.
    fn header(&self) -> Header {
        let mut index = [None; Column::ALL.len()];
        for (position, &(column, _, _)) in self.fields.iter().enumerate() {
            index[column as usize] = Some(position);
        }
        Header {
            kind: self.kind,
            width: self.fields.len(),
            index,
        }
    }
}

/// Whether the first line of a file (its bytes, with or without the line
/// end) is a fixed-width CCLF1, CCLF2, CCLF5 or CCLF6 record, known by its
/// length (see [`FIXED_LAYOUTS`]). For `--claims-format auto`.
pub fn looks_like_fixed_width_cclf(first_line: &[u8]) -> bool {
    FixedLayout::of_line(first_line).is_some()
}

/// Where each known column sits in one file's header, and the layout.
#[derive(Debug)]
pub(crate) struct Header {
    kind: Kind,
    width: usize,
    index: [Option<usize>; Column::ALL.len()],
}

impl Header {
    fn resolve(row: &Row, path: &Path) -> Result<Header, Error> {
        let line = row.line;
        if std::str::from_utf8(&row.raw).is_err() {
            return Err(Error::HeaderEncoding {
                path: path.to_owned(),
                row: line,
            });
        }
        // A header ending in a delimiter names no column after it.
        let width = match row.spans.len() {
            n if n > 1 && row.get(n - 1) == Some(b"") => n - 1,
            n => n,
        };
        let names = (0..width).map(|position| {
            let name = row.get(position).unwrap_or_default();
            name.strip_prefix(b"\"")
                .and_then(|n| n.strip_suffix(b"\""))
                .unwrap_or(name)
        });
        let find = |name: &[u8]| Column::find(name).map(|c| (c as usize, c.name()));
        let index = column_positions(names, find, path, line)?;
        let has = |column: Column| index[column as usize].is_some();
        let missing = |column| Error::MissingColumn {
            path: path.to_owned(),
            row: line,
            column,
            required: REQUIRED.to_owned(),
        };
        if !has(Column::CurClmUniqId) {
            return Err(missing(Column::CurClmUniqId.name()));
        }
        if !has(Column::BeneMbiId) && !has(Column::BeneHicNum) {
            return Err(missing("BENE_MBI_ID or BENE_HIC_NUM"));
        }
        for column in [Column::ClmTypeCd, Column::FromDt, Column::ThruDt] {
            if !has(column) {
                return Err(missing(column.name()));
            }
        }
        let kind =
            if has(Column::ClmLineNum) && has(Column::RevCtrCd) && !has(Column::LineAlowdChrgAmt) {
                if !has(Column::LineCvrdPdAmt) {
                    return Err(missing(Column::LineCvrdPdAmt.name()));
                }
                Kind::Revenue
            } else if !has(Column::ClmLineNum) {
                if !has(Column::ClmPmtAmt) {
                    return Err(missing(Column::ClmPmtAmt.name()));
                }
                Kind::PartA
            } else {
                if !has(Column::LineAlowdChrgAmt) && !has(Column::LineCvrdPdAmt) {
                    return Err(missing(Column::LineAlowdChrgAmt.name()));
                }
                if has(Column::PaytoPrvdrNpiNum) || has(Column::OrdrgPrvdrNpiNum) {
                    Kind::Dme
                } else {
                    Kind::Physician
                }
            };
        Ok(Header { kind, width, index })
    }

    /// The trimmed field of `column`, empty when the header lacks it or
    /// holds one of the guide's "no value" markers: `~` in any field,
    /// `1000-01-01` or `9999-12-31` (in either date form) in a date.
    fn field<'r>(&self, row: &'r Row, column: Column) -> &'r [u8] {
        let value = self.index[column as usize]
            .and_then(|i| row.get(i))
            .unwrap_or_default();
        match value {
            b"~" => b"",
            b"1000-01-01" | b"9999-12-31" | b"10000101" | b"99991231" if column.is_date() => b"",
            value => value,
        }
    }

    /// The beneficiary: `BENE_MBI_ID` when non-empty, else `BENE_HIC_NUM`.
    fn beneficiary<'r>(&self, row: &'r Row) -> &'r [u8] {
        match self.field(row, Column::BeneMbiId) {
            b"" => self.field(row, Column::BeneHicNum),
            mbi => mbi,
        }
    }

    /// The amount column of a row: `CLM_PMT_AMT` (CCLF1), else
    /// `CLM_LINE_ALOWD_CHRG_AMT` when the header has it (never in a CCLF2),
    /// else `CLM_LINE_CVRD_PD_AMT`.
    fn amount_column(&self) -> Column {
        if self.kind == Kind::PartA {
            Column::ClmPmtAmt
        } else if self.index[Column::LineAlowdChrgAmt as usize].is_some() {
            Column::LineAlowdChrgAmt
        } else {
            Column::LineCvrdPdAmt
        }
    }
}

/// The version of `CLM_ADJSMT_TYPE_CD`: 0 (or empty) original, 1
/// cancellation (void), 2 adjustment (replacement), each also zero-padded;
/// `None` otherwise.
fn record_type(code: &[u8]) -> Option<RecordType> {
    // The field is two characters wide (X(02)), so `00`, `01`, `02` too.
    match code {
        b"" | b"0" | b"00" => Some(RecordType::Original),
        b"1" | b"01" => Some(RecordType::Void),
        b"2" | b"02" => Some(RecordType::Replacement),
        _ => None,
    }
}

/// A line number as [`parse_line_number`] reads it, of at most 18
/// characters (the guide's field is narrower still).
fn line_number(text: &str) -> Option<u64> {
    (text.len() <= 18)
        .then(|| parse_line_number(text))
        .flatten()
}

/// The row checks of one file.
struct RowChecker<'h> {
    header: &'h Header,
    checks: RowChecks,
}

impl RowChecker<'_> {
    fn check<'a>(&'a mut self, row: &'a Row) -> RowView<'a> {
        let source = self.checks.source(row.line, row.offset);
        if !row.complete {
            return RowChecks::shape_reject(source, &row.raw, RejectReason::BadCsv);
        }
        let header = self.header;
        if !row.has_width(header.width) {
            return RowChecks::shape_reject(source, &row.raw, RejectReason::BadFieldCount);
        }
        let kind = header.kind;
        let field = |column| header.field(row, column);
        // Field by field: a fixed-width cut may split a character, so a
        // field of a UTF-8 row is not surely UTF-8 itself.
        let text = |column| text_of(field(column));
        let amount_column = header.amount_column();
        // CCLF2: the revenue centre date, else the line from date.
        let line_date = match (kind, text(Column::InstnlRevCtrDt)) {
            (Kind::Revenue, "") | (Kind::Physician | Kind::Dme, _) => text(Column::LineFromDt),
            (Kind::Revenue, given) => given,
            (Kind::PartA, _) => "",
        };
        let (drg, principal_dx, hcpcs) = match kind {
            Kind::PartA => (text(Column::DrgCd), text(Column::PrncplDgnsCd), ""),
            Kind::Revenue | Kind::Dme => ("", "", text(Column::LineHcpcsCd)),
            Kind::Physician => ("", text(Column::Dgns1Cd), text(Column::LineHcpcsCd)),
        };
        let fields = ClaimFields {
            source,
            raw: &row.raw,
            utf8: std::str::from_utf8(&row.raw).is_ok() && std::str::from_utf8(&row.text).is_ok(),
            processed_date: parse_date(match field(Column::EfctvDt) {
                b"" => field(Column::ThruDt),
                given => given,
            }),
            amount: Money::parse(field(amount_column)),
            missing: text(Column::ClmTypeCd).is_empty()
                || text(amount_column).is_empty()
                || (kind != Kind::PartA && text(Column::ClmLineNum).is_empty()),
            line_number: match kind {
                Kind::PartA => Some(1),
                _ => line_number(text(Column::ClmLineNum)),
            },
            claim_type: kind.claim_type(field(Column::ClmTypeCd)),
            record_type: record_type(field(Column::AdjsmtTypeCd)),
            beneficiary_id: text_of(header.beneficiary(row)),
            claim_id: text(Column::CurClmUniqId),
            claim_prefix: "",
            from_date: text(Column::FromDt).as_bytes(),
            thru_date: text(Column::ThruDt).as_bytes(),
            admission_date: b"",
            discharge_date: b"",
            line_date: line_date.as_bytes(),
            provider_id: kind
                .provider()
                .iter()
                .map(|&c| text(c))
                .find(|s| !s.is_empty())
                .unwrap_or_default(),
            drg,
            principal_dx,
            hcpcs,
        };
        self.checks.check_view(&fields)
    }
}

/// The raw text of the rows at `rows` (`(line, offset)` pairs) of one file,
/// without line ends: for the rejects of version-level checks. A comma file
/// is re-read as CSV ([`claims::raw_rows`]), a pipe or fixed-width file line
/// by line.
pub fn raw_rows(path: &Path, rows: &[(u64, u64)]) -> Result<Vec<Box<[u8]>>, Error> {
    let mut source = Source::open(path, None).map_err(|e| io_error(path, e))?;
    let first = source.first_line().map_err(|e| io_error(path, e))?;
    if let Form::Comma = Form::of_line(first) {
        return claims::raw_rows(path, rows);
    }
    records::lines_at(&mut open(path)?, rows.iter().map(|&(_, offset)| offset))
        .map_err(|e| io_error(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjustment_type_codes() {
        assert_eq!(record_type(b"0"), Some(RecordType::Original));
        assert_eq!(record_type(b""), Some(RecordType::Original));
        assert_eq!(record_type(b"1"), Some(RecordType::Void));
        assert_eq!(record_type(b"2"), Some(RecordType::Replacement));
        assert_eq!(record_type(b"02"), Some(RecordType::Replacement));
        assert_eq!(record_type(b"01"), Some(RecordType::Void));
        assert_eq!(record_type(b"3"), None);
        assert_eq!(record_type(b"20"), None);
    }

    #[test]
    fn claim_types_by_layout() {
        assert_eq!(Kind::PartA.claim_type(b"60"), Some(ClaimType::Ip));
        assert_eq!(Kind::PartA.claim_type(b"20"), Some(ClaimType::Snf));
        assert_eq!(Kind::PartA.claim_type(b"71"), None);
        assert_eq!(Kind::Revenue.claim_type(b"40"), Some(ClaimType::Op));
        assert_eq!(Kind::Revenue.claim_type(b"72"), None);
        assert_eq!(Kind::Physician.claim_type(b"72"), Some(ClaimType::Pb));
        assert_eq!(Kind::Physician.claim_type(b"81"), None);
        assert_eq!(Kind::Dme.claim_type(b"82"), Some(ClaimType::Dme));
    }

    #[test]
    fn fixed_width_fields_lie_within_their_records_in_order() {
        for layout in &FIXED_LAYOUTS {
            let mut end = 0;
            for &(column, start, length) in layout.fields {
                assert!(start > end && length > 0, "{:?} {column:?}", layout.kind);
                end = start - 1 + length;
                assert!(end <= layout.record_length, "{:?} {column:?}", layout.kind);
            }
        }
    }

    #[test]
    fn cclf_headers_are_recognized() {
        assert!(looks_like_cclf(
            "CUR_CLM_UNIQ_ID|PRVDR_OSCAR_NUM|BENE_MBI_ID|CLM_TYPE_CD"
        ));
        assert!(looks_like_cclf(
            "\"cur_clm_uniq_id\",\"bene_hic_num\",clm_type_cd"
        ));
        assert!(!looks_like_cclf("BENE_ID|CLM_ID|NCH_CLM_TYPE_CD"));
        assert!(!looks_like_cclf("claim_id,beneficiary_id"));
    }
}
