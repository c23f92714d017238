//! Reading the canonical claims CSV into checked claim lines.
//!
//! Every row read becomes exactly one [`RowOutcome`]: a [`crate::model::ClaimLine`] in
//! normal form, a rejected row with its reason, or a row after the run-out
//! cutoff. Rows are never dropped, so the summary can show that what was read
//! adds up. The checks of one row run in the contract's order (section 5) and
//! the first that fails is the row's reason; checks that need several rows of
//! a claim version belong to [`crate::engine::final_action`].

use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::input::claim_rows::{self, ClaimFields, RowChecks, columns, parse_line_number};
use crate::input::compressed::Reopened;
use crate::input::driver::{self, ChunkRows, CsvFormat, ParseChunk};
pub use crate::input::driver::{Chunking, Reading};
use crate::input::records::{HeaderProblem, Record, RecordReader, find_columns};
use crate::model::money::Money;
use crate::model::outcome::{RejectReason, RowView};
use crate::model::{ClaimType, RecordType};

/// A claims file that cannot be read at all. These stop the run: the user
/// must fix the file or the command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{path}: cannot read claims file: {source}")]
    Io {
        /// The file as given.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A folder given does not name the files it should.
    #[error(transparent)]
    Folder(#[from] crate::input::folders::FolderError),
    /// `--claims-format auto` found a file CMS extracts ship beside claims
    /// that holds none.
    #[error("{path}: this is {what}; it holds no claims")]
    NotClaims {
        /// The file as given.
        path: PathBuf,
        /// What the file is, and what to do with it.
        what: &'static str,
    },
    /// `--claims-format auto` recognised no format in the first line.
    #[error(
        "{path}: format not recognised (the first line starts {start:?}); expected a header of the canonical CSV, RIF, DE-SynPUF or CCLF claims, or give --claims-format"
    )]
    UnknownFormat {
        /// The file as given.
        path: PathBuf,
        /// The start of the first non-blank line.
        start: String,
    },
    /// The file has no header row.
    #[error("{path}: row 1: expected a header row naming the claim columns, found an empty file")]
    NoHeader {
        /// The file as given.
        path: PathBuf,
    },
    /// The header is not UTF-8.
    #[error("{path}: {}: the header row is not UTF-8", header_place(*row))]
    HeaderEncoding {
        /// The file as given.
        path: PathBuf,
        /// The header's line.
        row: u64,
    },
    /// A required column is missing from the header.
    #[error(
        "{path}: {}: missing required column `{column}` (the header must name {required})",
        header_place(*row)
    )]
    MissingColumn {
        /// The file as given.
        path: PathBuf,
        /// The header's line.
        row: u64,
        /// The missing column.
        column: &'static str,
        /// All required columns, for the message.
        required: String,
    },
    /// A known column is named twice.
    #[error(
        "{path}: {}: column `{column}` is named twice in the header; expected each column once",
        header_place(*row)
    )]
    DuplicateColumn {
        /// The file as given.
        path: PathBuf,
        /// The header's line.
        row: u64,
        /// The repeated column.
        column: &'static str,
    },
    /// A column of a table (Parquet, Arrow) holds a type the engine does
    /// not read.
    #[error("{path}: {problem}")]
    ColumnType {
        /// The file as given.
        path: PathBuf,
        /// The column, its type and what was expected.
        problem: String,
    },
    /// A Parquet file cannot be read.
    #[error(transparent)]
    Parquet(#[from] crate::input::formats::ParquetError),
    /// The run was asked to stop while reading ([`crate::runtime::stop`]).
    #[error(transparent)]
    Stopped(#[from] crate::runtime::stop::Stopped),
    /// A Parquet file read as the canonical CSV.
    #[error(
        "{path}: this is a Parquet file (it starts with PAR1); expected the canonical CSV: give --claims-format parquet (or auto)"
    )]
    ParquetAsCsv {
        /// The file as given.
        path: PathBuf,
    },
}

/// Where a header problem is: the header's line, or for a table without
/// a header row (Parquet, Arrow; line 0) its schema, where its column
/// names are.
pub(crate) fn header_place(row: u64) -> String {
    match row {
        0 => "schema".to_owned(),
        row => format!("row {row}"),
    }
}

columns! {
    /// The columns the engine knows; others are ignored.
    enum Column {
        ClaimId => "claim_id",
        LineNumber => "line_number",
        BeneficiaryId => "beneficiary_id",
        ClaimType => "claim_type",
        FromDate => "from_date",
        ThruDate => "thru_date",
        AllowedAmount => "allowed_amount",
        RecordType => "record_type",
        ProcessedDate => "processed_date",
        AdmissionDate => "admission_date",
        DischargeDate => "discharge_date",
        LineDate => "line_date",
        ProviderId => "provider_id",
        Npi => "npi",
        Drg => "drg",
        PrincipalDx => "principal_dx",
        DxCodes => "dx_codes",
        ProcedureCodes => "procedure_codes",
        Hcpcs => "hcpcs",
        RevenueCode => "revenue_code",
    }
}

impl Column {
    /// The first seven are required.
    const REQUIRED: usize = 7;

    /// Whether the row checks read the column: the others are known so a
    /// header naming them twice is refused, but no rule uses their values.
    fn is_read(self) -> bool {
        !matches!(
            self,
            Column::Npi | Column::DxCodes | Column::ProcedureCodes | Column::RevenueCode
        )
    }
}

/// Whether `name` is a column the engine reads (the contract's, 1.1):
/// a table reader checks the type of these and no others.
#[cfg(feature = "parquet")]
pub(crate) fn is_column(name: &str) -> bool {
    Column::ALL.iter().any(|c| c.name() == name)
}

/// Where each known column sits in one file's header, resolved once.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    /// Each column the row checks read and the header has: the column's
    /// index in [`Column::ALL`] and its position in a row.
    read: Vec<(usize, usize)>,
    width: usize,
}

impl Header {
    /// Resolves a header record (a CSV file's first row, or a table's
    /// column names at line 0) of the file at `path`.
    pub(crate) fn resolve(record: &Record, path: &Path) -> Result<Header, Error> {
        let row = record.line();
        let names = Column::ALL.map(Column::name);
        let found = find_columns(record, &names).map_err(|problem| match problem {
            HeaderProblem::Encoding => Error::HeaderEncoding {
                path: path.to_owned(),
                row,
            },
            HeaderProblem::Duplicate(column) => Error::DuplicateColumn {
                path: path.to_owned(),
                row,
                column,
            },
        })?;
        let required = &names[..Column::REQUIRED];
        if let Some(missing) = required.iter().zip(&found).find(|(_, i)| i.is_none()) {
            return Err(Error::MissingColumn {
                path: path.to_owned(),
                row,
                column: missing.0,
                required: required.join(", "),
            });
        }
        let read = Column::ALL
            .iter()
            .zip(&found)
            .filter(|(column, _)| column.is_read())
            .filter_map(|(&column, position)| Some((column as usize, (*position)?)))
            .collect();
        Ok(Header {
            read,
            width: record.len(),
        })
    }
}

/// One record's fields by canonical column, trimmed, empty where the
/// header has no such column.
struct ColumnValues<'r> {
    /// Whether the whole record is UTF-8.
    utf8: bool,
    bytes: [&'r [u8]; Column::ALL.len()],
    /// Each field as text; empty when the record is not UTF-8 and the
    /// field alone is not either (a reject's version needs readable ids).
    texts: [&'r str; Column::ALL.len()],
}

impl<'r> ColumnValues<'r> {
    fn of(header: &Header, record: &'r Record) -> ColumnValues<'r> {
        let mut values = ColumnValues {
            utf8: true,
            bytes: [b""; Column::ALL.len()],
            texts: [""; Column::ALL.len()],
        };
        let positions = header.read.iter().copied();
        // The record is validated as UTF-8 once; a field of a record that
        // is not is read alone.
        match record.text() {
            Some(fields) => {
                for (column, position) in positions {
                    if let Some(text) = fields.get(position) {
                        values.texts[column] = text;
                        values.bytes[column] = text.as_bytes();
                    }
                }
            }
            None => {
                values.utf8 = false;
                for (column, position) in positions {
                    if let Some(field) = record.get(position) {
                        values.bytes[column] = field;
                        values.texts[column] = claim_rows::text(field);
                    }
                }
            }
        }
        values
    }
}

/// Opens a claims file (of any format, plain or compressed) to find rows
/// again by offset, with its path in the error.
pub(crate) fn open(path: &Path) -> Result<Reopened, Error> {
    Reopened::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// The canonical CSV as the driver reads it.
pub(crate) struct Canonical;

impl CsvFormat for Canonical {
    type Header = Header;

    fn resolve(record: &Record, path: &Path) -> Result<Header, Error> {
        Header::resolve(record, path)
    }
}

impl ParseChunk for Canonical {
    fn parse<S: FnMut(RowView<'_>)>(
        &self,
        header: &Header,
        rows: ChunkRows<'_, S>,
    ) -> io::Result<()> {
        let mut checker = RowChecker::new(header, rows.checks);
        let mut sink = rows.sink;
        driver::each_record(rows.chunk, |record| sink(checker.check(record)))
    }
}

/// The raw text of rows at `rows` (sorted by line) of one file, re-read by
/// seeking to each record's offset: the version-level rejects are known only
/// after grouping, and keeping the text of every accepted row would double
/// the memory of a run.
pub fn raw_rows(path: &Path, rows: &[(u64, u64)]) -> Result<Vec<Box<[u8]>>, Error> {
    let io_error = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = open(path)?;
    let mut record = Record::default();
    let mut out = Vec::with_capacity(rows.len());
    for &(line, offset) in rows {
        file.seek(SeekFrom::Start(offset)).map_err(io_error)?;
        let mut reader = RecordReader::resume((&mut file).take(u64::MAX), offset, line);
        reader.read(&mut record).map_err(io_error)?;
        out.push(record.raw().into());
    }
    Ok(out)
}

/// The row checks of one file: the canonical columns are the contract's,
/// so the mapping onto them is one to one. Tables (Parquet, Arrow) hand
/// their rows over as records made of their values, so they are checked
/// here too.
pub(crate) struct RowChecker<'h> {
    header: &'h Header,
    checks: RowChecks,
}

impl<'h> RowChecker<'h> {
    pub(crate) fn new(header: &'h Header, checks: RowChecks) -> Self {
        RowChecker { header, checks }
    }

    pub(crate) fn check<'a>(&'a mut self, record: &'a Record) -> RowView<'a> {
        let source = self.checks.source(record.line(), record.offset());
        if !record.is_complete() {
            return RowChecks::shape_reject(source, record.raw(), RejectReason::BadCsv);
        }
        if record.len() != self.header.width {
            return RowChecks::shape_reject(source, record.raw(), RejectReason::BadFieldCount);
        }
        // Each column is found and trimmed once: a row is read field by
        // field a dozen times below (a lookup per read was a tenth of a
        // one-thread run's instructions, callgrind).
        let fields = ColumnValues::of(self.header, record);
        let field = |column: Column| fields.bytes[column as usize];
        let text = |column: Column| fields.texts[column as usize];
        let processed = match field(Column::ProcessedDate) {
            b"" => field(Column::ThruDate),
            given => given,
        };
        let row = ClaimFields {
            source,
            raw: record.raw(),
            utf8: fields.utf8,
            processed_date: self.checks.date(processed),
            amount: Money::parse(field(Column::AllowedAmount)),
            missing: fields.texts[..Column::REQUIRED]
                .iter()
                .any(|t| t.is_empty()),
            line_number: parse_line_number(text(Column::LineNumber)),
            claim_type: ClaimType::parse(text(Column::ClaimType)),
            // A field that is not UTF-8 names no record type (an empty one
            // names the original).
            record_type: match fields.utf8 {
                true => RecordType::parse(text(Column::RecordType)),
                false => std::str::from_utf8(field(Column::RecordType))
                    .ok()
                    .and_then(RecordType::parse),
            },
            beneficiary_id: text(Column::BeneficiaryId),
            claim_id: text(Column::ClaimId),
            claim_prefix: "",
            from_date: field(Column::FromDate),
            thru_date: field(Column::ThruDate),
            admission_date: field(Column::AdmissionDate),
            discharge_date: field(Column::DischargeDate),
            line_date: field(Column::LineDate),
            provider_id: text(Column::ProviderId),
            drg: text(Column::Drg),
            principal_dx: text(Column::PrincipalDx),
            hcpcs: text(Column::Hcpcs),
        };
        self.checks.check_view(&row)
    }
}

impl crate::error::Classify for Error {
    /// The input data the user named.
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::Io { source, .. } => ErrorKind::reading(ErrorKind::InputData, source),
            Error::Folder(error) => error.kind(),
            Error::Parquet(error) => error.kind(),
            Error::Stopped(stopped) => stopped.kind(),
            _ => ErrorKind::InputData,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::outcome::RowOutcome;

    fn read_file(
        path: &Path,
        file: u32,
        as_of: Option<crate::model::Date>,
        sink: impl FnMut(RowOutcome),
    ) -> Result<(), Error> {
        crate::input::formats::ClaimsFormat::Canonical.read_file(path, file, as_of, sink)
    }

    const HEADER: &str = "claim_id,line_number,beneficiary_id,claim_type,from_date,thru_date,allowed_amount,record_type,processed_date,admission_date,discharge_date,line_date,provider_id,drg,principal_dx,hcpcs";

    fn outcomes(body: &str, as_of: Option<&str>) -> Vec<RowOutcome> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(&path, format!("{HEADER}\n{body}")).unwrap();
        let as_of = as_of.map(|d| crate::model::parse_date(d.as_bytes()).unwrap());
        let mut out = Vec::new();
        read_file(&path, 0, as_of, |o| out.push(o)).unwrap();
        out
    }

    fn reason(row: &str) -> Option<&'static str> {
        match outcomes(row, None).remove(0) {
            RowOutcome::Rejected(r) => Some(r.reason.name()),
            _ => None,
        }
    }

    #[test]
    fn row_checks_name_the_first_failure() {
        let good = "C1,1,B1,IP,2026-03-02,2026-03-05,100.00,,,,,,P1,0470,c50.9,j9035";
        assert_eq!(reason(good), None);
        assert_eq!(
            reason("C1,1,B1,IP,2026-03-02,2026-03-05,100.00"),
            Some("bad_field_count")
        );
        assert_eq!(
            reason("C1,,B1,IP,2026-03-02,2026-03-05,100.00,,,,,,,,,"),
            Some("missing_field")
        );
        assert_eq!(
            reason("C1,0,B1,IP,2026-03-02,2026-03-05,100.00,,,,,,,,,"),
            Some("bad_line_number")
        );
        assert_eq!(
            reason("C1,x,B1,XX,2026-03-02,2026-03-05,1x,,,,,,,,,"),
            Some("bad_line_number")
        );
        assert_eq!(
            reason("C1,1,B1,XX,2026-03-02,2026-03-05,100.00,,,,,,,,,"),
            Some("bad_claim_type")
        );
        assert_eq!(
            reason("C1,1,B1,PB,2026-03-02,2026-03-05,100.00,Z,,,,,,,,"),
            Some("bad_record_type")
        );
        assert_eq!(
            reason("C1,1,B1,PB,2026-02-30,2026-03-05,100.00,,,,,,,,,"),
            Some("bad_date")
        );
        assert_eq!(
            reason("C1,1,B1,PB,2026-03-02,2026-03-05,100.00,,,,,2026-3-1,,,,"),
            Some("bad_date")
        );
        assert_eq!(
            reason("C1,1,B1,PB,2026-03-06,2026-03-05,100.00,,,,,,,,,"),
            Some("bad_date_range")
        );
        assert_eq!(
            reason("C1,1,B1,IP,2026-03-02,2026-03-05,100.00,,,2026-03-04,2026-03-03,,,,,"),
            Some("bad_date_range")
        );
        // On a non-IP row the admission order is not checked.
        assert_eq!(
            reason("C1,1,B1,PB,2026-03-02,2026-03-05,100.00,,,2026-03-04,2026-03-03,,,,,"),
            None
        );
        assert_eq!(
            reason("C1,1,B1,PB,2026-03-02,2026-03-05,10.505,,,,,,,,,"),
            Some("bad_amount")
        );
    }

    #[test]
    fn a_good_row_is_normalized_with_defaults() {
        let row = "C1 , 01 ,B1,ip,20260302,2026-03-05,100.5,,,,,,P1,66,c50.9,j9035";
        let RowOutcome::Line(line) = outcomes(row, None).remove(0) else {
            panic!("rejected")
        };
        assert_eq!(&*line.claim_id, "C1");
        assert_eq!(line.line_number, 1);
        assert_eq!(line.claim_type, ClaimType::Ip);
        assert_eq!(line.processed_date, line.thru_date);
        assert_eq!(line.admission_date, line.from_date);
        assert_eq!(line.discharge_date, line.thru_date);
        assert_eq!(line.line_date, line.from_date);
        assert_eq!(line.allowed, Money::from_cents(10050));
        assert_eq!(line.drg.as_deref(), Some("066"));
        assert_eq!(line.principal_dx.as_deref(), Some("C509"));
        assert_eq!(line.hcpcs.as_deref(), Some("J9035"));
        assert_eq!(line.source.row, 2);
    }

    #[test]
    fn a_rejected_row_keeps_its_version_when_it_names_one() {
        let rows = outcomes(
            "C1,1,B1,PB,2026-03-02,2026-03-05,\"12,50\",R,2026-04-01,,,,,,,\n,1,B1,PB,2026-03-02,2026-03-05,1.00,,,,,,,,,\n",
            None,
        );
        let RowOutcome::Rejected(first) = &rows[0] else {
            panic!()
        };
        let version = first.version.as_ref().unwrap();
        assert_eq!(
            (&*version.claim_id, version.record_type),
            ("C1", RecordType::Replacement)
        );
        assert_eq!(first.amount, Money::ZERO);
        assert_eq!(
            &*first.raw,
            b"C1,1,B1,PB,2026-03-02,2026-03-05,\"12,50\",R,2026-04-01,,,,,,,"
        );
        let RowOutcome::Rejected(second) = &rows[1] else {
            panic!()
        };
        assert_eq!(second.version, None);
        assert_eq!(second.amount, Money::from_cents(100));
    }

    #[test]
    fn rows_after_the_cutoff_are_not_checked() {
        let rows = outcomes(
            "C1,1,B1,XX,2026-03-02,2026-03-05,5.00,,2026-06-01,,,,,,,\nC2,1,B1,XX,2026-03-02,2026-03-05,5.00,,2026-05-31,,,,,,,\n",
            Some("2026-05-31"),
        );
        assert_eq!(
            rows[0],
            RowOutcome::AfterCutoff {
                amount: Money::from_cents(500)
            }
        );
        assert!(matches!(rows[1], RowOutcome::Rejected(_)));
    }

    #[test]
    fn header_errors_are_fatal_and_name_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(&path, "claim_id,line_number\n").unwrap();
        let err = read_file(&path, 0, None, |_| {}).unwrap_err().to_string();
        assert!(
            err.contains("missing required column `beneficiary_id`"),
            "{err}"
        );
        std::fs::write(&path, format!("{HEADER}, drg\n")).unwrap();
        let err = read_file(&path, 0, None, |_| {}).unwrap_err().to_string();
        assert!(err.contains("column `drg` is named twice"), "{err}");
        let err = read_file(&dir.path().join("none.csv"), 0, None, |_| {}).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
    }

    #[test]
    fn raw_rows_are_found_again_by_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(&path, "h\r\na,\"x\ny\"\r\n\r\nb,2\r\n").unwrap();
        let mut reader = RecordReader::new(open(&path).unwrap());
        let mut record = Record::default();
        let mut spots = Vec::new();
        while reader.read(&mut record).unwrap() {
            spots.push((record.line(), record.offset()));
        }
        let raw = raw_rows(&path, &spots[1..]).unwrap();
        assert_eq!(&*raw[0], b"a,\"x\ny\"");
        assert_eq!(&*raw[1], b"b,2");
        assert_eq!(spots[2].0, 5);
    }
}
