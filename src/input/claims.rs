//! Reading the canonical claims CSV into checked claim lines.
//!
//! Every row read becomes exactly one [`RowOutcome`]: a [`ClaimLine`] in
//! normal form, a rejected row with its reason, or a row after the run-out
//! cutoff. Rows are never dropped, so the summary can show that what was read
//! adds up. The checks of one row run in the contract's order (section 5) and
//! the first that fails is the row's reason; checks that need several rows of
//! a claim version belong to [`crate::engine::final_action`].

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::input::records::{
    Chunk, ChunkReader, HeaderProblem, Record, RecordReader, TextFields, find_columns,
};
use crate::input::text::SharedText;
use crate::model::money::Money;
use crate::model::outcome::{RejectReason, RejectedRow, RowOutcome, VersionKey};
use crate::model::{
    ClaimLine, ClaimType, Date, LastDate, RecordType, Source, normalize_drg, normalize_dx,
    normalize_hcpcs, parse_date,
};

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
    /// The file has no header row.
    #[error("{path}: row 1: expected a header row naming the claim columns, found an empty file")]
    NoHeader {
        /// The file as given.
        path: PathBuf,
    },
    /// The header is not UTF-8.
    #[error("{path}: row {row}: the header row is not UTF-8")]
    HeaderEncoding {
        /// The file as given.
        path: PathBuf,
        /// The header's line.
        row: u64,
    },
    /// A required column is missing from the header.
    #[error(
        "{path}: row {row}: missing required column `{column}` (the header must name {required})"
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
        "{path}: row {row}: column `{column}` is named twice in the header; expected each column once"
    )]
    DuplicateColumn {
        /// The file as given.
        path: PathBuf,
        /// The header's line.
        row: u64,
        /// The repeated column.
        column: &'static str,
    },
}

/// The columns the engine knows; others are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    ClaimId,
    LineNumber,
    BeneficiaryId,
    ClaimType,
    FromDate,
    ThruDate,
    AllowedAmount,
    RecordType,
    ProcessedDate,
    AdmissionDate,
    DischargeDate,
    LineDate,
    ProviderId,
    Npi,
    Drg,
    PrincipalDx,
    DxCodes,
    ProcedureCodes,
    Hcpcs,
    RevenueCode,
}

impl Column {
    const ALL: [Column; 20] = [
        Column::ClaimId,
        Column::LineNumber,
        Column::BeneficiaryId,
        Column::ClaimType,
        Column::FromDate,
        Column::ThruDate,
        Column::AllowedAmount,
        Column::RecordType,
        Column::ProcessedDate,
        Column::AdmissionDate,
        Column::DischargeDate,
        Column::LineDate,
        Column::ProviderId,
        Column::Npi,
        Column::Drg,
        Column::PrincipalDx,
        Column::DxCodes,
        Column::ProcedureCodes,
        Column::Hcpcs,
        Column::RevenueCode,
    ];

    /// The first seven are required.
    const REQUIRED: usize = 7;

    fn name(self) -> &'static str {
        match self {
            Column::ClaimId => "claim_id",
            Column::LineNumber => "line_number",
            Column::BeneficiaryId => "beneficiary_id",
            Column::ClaimType => "claim_type",
            Column::FromDate => "from_date",
            Column::ThruDate => "thru_date",
            Column::AllowedAmount => "allowed_amount",
            Column::RecordType => "record_type",
            Column::ProcessedDate => "processed_date",
            Column::AdmissionDate => "admission_date",
            Column::DischargeDate => "discharge_date",
            Column::LineDate => "line_date",
            Column::ProviderId => "provider_id",
            Column::Npi => "npi",
            Column::Drg => "drg",
            Column::PrincipalDx => "principal_dx",
            Column::DxCodes => "dx_codes",
            Column::ProcedureCodes => "procedure_codes",
            Column::Hcpcs => "hcpcs",
            Column::RevenueCode => "revenue_code",
        }
    }
}

/// Where each known column sits in one file's header, resolved once.
#[derive(Debug)]
struct Header {
    index: [Option<usize>; Column::ALL.len()],
    width: usize,
}

impl Header {
    fn resolve(record: &Record, path: &Path) -> Result<Header, Error> {
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
        let mut index = [None; Column::ALL.len()];
        index.copy_from_slice(&found);
        let required = &names[..Column::REQUIRED];
        if let Some(missing) = required.iter().zip(&index).find(|(_, i)| i.is_none()) {
            return Err(Error::MissingColumn {
                path: path.to_owned(),
                row,
                column: missing.0,
                required: required.join(", "),
            });
        }
        Ok(Header {
            index,
            width: record.len(),
        })
    }

    /// The trimmed text of `column`, empty when the column is absent.
    fn text<'r>(&self, fields: &TextFields<'r>, column: Column) -> &'r str {
        self.index[column as usize]
            .and_then(|i| fields.get(i))
            .unwrap_or_default()
    }

    /// The trimmed field of `column`, empty when the column is absent.
    fn field<'r>(&self, record: &'r Record, column: Column) -> &'r [u8] {
        self.index[column as usize]
            .and_then(|i| record.get(i))
            .unwrap_or_default()
    }
}

/// Opens a claims file (of any format) for reading, with its path in the
/// error.
pub(crate) fn open(path: &Path) -> Result<BufReader<File>, Error> {
    File::open(path)
        .map(|file| BufReader::with_capacity(1 << 20, file))
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })
}

/// Reads one claims file, handing every data row's outcome to `sink` in file
/// order. `file` is the file's index in the run, recorded in each
/// [`Source`]; `as_of` is the run-out cutoff.
pub fn read_file(
    path: &Path,
    file: u32,
    as_of: Option<Date>,
    sink: impl FnMut(RowOutcome),
) -> Result<(), Error> {
    read_from(open(path)?, path, file, as_of, sink)
}

/// [`read_file`] on any buffered input; `path` names it in errors.
pub fn read_from(
    input: impl BufRead,
    path: &Path,
    file: u32,
    as_of: Option<Date>,
    mut sink: impl FnMut(RowOutcome),
) -> Result<(), Error> {
    let mut reader = RecordReader::new(input);
    let io_error = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut record = Record::default();
    if !reader.read(&mut record).map_err(io_error)? {
        return Err(Error::NoHeader {
            path: path.to_owned(),
        });
    }
    let header = Header::resolve(&record, path)?;
    let mut checker = RowChecker::new(&header, file, as_of);
    while reader.read(&mut record).map_err(io_error)? {
        sink(checker.check(&record));
    }
    Ok(())
}

/// How a file is cut for parallel parsing.
#[derive(Clone, Copy, Debug)]
pub struct Chunking {
    /// Bytes per chunk (whole records; a chunk grows to hold a longer one).
    pub chunk_bytes: usize,
    /// Chunks parsed in parallel before their results are merged: bounds
    /// the bytes in flight to `chunk_bytes × batch`.
    pub batch: usize,
}

impl Default for Chunking {
    fn default() -> Self {
        let tunables = crate::runtime::tunables::Tunables::DEFAULT;
        Chunking {
            chunk_bytes: tunables.chunk_bytes,
            batch: tunables.chunk_batch(rayon::current_num_threads()),
        }
    }
}

/// Reads one claims file in chunks parsed in parallel on the current rayon
/// pool. Each chunk's rows are folded into a fresh `init()` accumulator, in
/// file order within the chunk; `merge` receives the accumulators in file
/// order, with the chunk's byte count. Every row reaches exactly one fold,
/// with the same outcome [`read_file`] would give it.
pub fn read_file_chunked<T: Send, E: From<Error>>(
    path: &Path,
    file: u32,
    as_of: Option<Date>,
    chunking: Chunking,
    init: impl Fn() -> T + Sync,
    fold: impl Fn(&mut T, RowOutcome) + Sync,
    mut merge: impl FnMut(T, u64) -> Result<(), E>,
) -> Result<(), E> {
    use rayon::prelude::*;
    let io_error = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let input = File::open(path).map_err(io_error)?;
    let mut chunks = ChunkReader::new(input, chunking.chunk_bytes);
    // The header is the file's first record; blank lines before it may
    // fill whole chunks, so chunks are joined until it is complete.
    let no_header = || Error::NoHeader {
        path: path.to_owned(),
    };
    let mut first = chunks
        .next_chunk()
        .map_err(io_error)?
        .ok_or_else(no_header)?;
    let mut record = Record::default();
    let reader = loop {
        let mut reader = RecordReader::resume(&first.bytes[..], first.offset, first.first_line);
        if reader.read(&mut record).map_err(io_error)? {
            break reader;
        }
        let next = chunks
            .next_chunk()
            .map_err(io_error)?
            .ok_or_else(no_header)?;
        first.bytes.extend_from_slice(&next.bytes);
    };
    let header = Header::resolve(&record, path)?;
    let consumed = reader.bytes_read() as usize;
    let next_line = reader.next_line();
    let rest = Chunk {
        offset: consumed as u64,
        first_line: next_line,
        bytes: first.bytes[consumed..].to_vec(),
    };
    let parse = |chunk: &Chunk| -> io::Result<T> {
        let mut reader = RecordReader::resume(&chunk.bytes[..], chunk.offset, chunk.first_line);
        let mut record = Record::default();
        let mut checker = RowChecker::new(&header, file, as_of);
        let mut acc = init();
        while reader.read(&mut record)? {
            fold(&mut acc, checker.check(&record));
        }
        Ok(acc)
    };
    let mut batch = vec![rest];
    loop {
        while batch.len() < chunking.batch.max(1) {
            match chunks.next_chunk().map_err(io_error)? {
                Some(chunk) => batch.push(chunk),
                None => break,
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        let results: Vec<io::Result<T>> = batch.par_iter().map(parse).collect();
        for (chunk, result) in batch.iter().zip(results) {
            merge(result.map_err(io_error)?, chunk.bytes.len() as u64)?;
        }
        batch.clear();
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

/// The row checks of one file.
struct RowChecker<'h> {
    header: &'h Header,
    file: u32,
    as_of: Option<Date>,
    shared: SharedText,
    /// The last date read by column (the processed date's slot also holds
    /// the thru date it defaults to).
    dates: [LastDate; Column::ALL.len()],
}

impl<'h> RowChecker<'h> {
    fn new(header: &'h Header, file: u32, as_of: Option<Date>) -> Self {
        RowChecker {
            header,
            file,
            as_of,
            shared: SharedText::default(),
            dates: Default::default(),
        }
    }

    fn check(&mut self, record: &Record) -> RowOutcome {
        let source = Source {
            file: self.file,
            row: record.line(),
            offset: record.offset(),
        };
        let reject = |reason, version, amount| {
            RowOutcome::Rejected(RejectedRow {
                source,
                reason,
                version,
                amount,
                raw: record.raw().into(),
            })
        };
        if !record.is_complete() {
            return reject(RejectReason::BadCsv, None, Money::ZERO);
        }
        if record.len() != self.header.width {
            return reject(RejectReason::BadFieldCount, None, Money::ZERO);
        }
        let field = |column| self.header.field(record, column);
        let amount = Money::parse(field(Column::AllowedAmount));
        let processed = match field(Column::ProcessedDate) {
            b"" => field(Column::ThruDate),
            given => given,
        };
        let processed_date =
            self.dates[Column::ProcessedDate as usize].parse(processed, parse_date);
        if let (Some(cutoff), Some(processed)) = (self.as_of, processed_date)
            && processed > cutoff
        {
            return RowOutcome::AfterCutoff {
                amount: amount.unwrap_or_default(),
            };
        }
        match self.parse_line(record, source, processed_date) {
            Ok(line) => RowOutcome::Line(line),
            Err(reason) => {
                let version = self.version_key(record, processed_date);
                reject(reason, version, amount.unwrap_or_default())
            }
        }
    }

    /// The version a rejected row names, if it names one readably.
    fn version_key(&self, record: &Record, processed_date: Option<Date>) -> Option<VersionKey> {
        let text = |column| std::str::from_utf8(self.header.field(record, column)).ok();
        let beneficiary_id = text(Column::BeneficiaryId).filter(|s| !s.is_empty())?;
        let claim_id = text(Column::ClaimId).filter(|s| !s.is_empty())?;
        let record_type = RecordType::parse(text(Column::RecordType)?)?;
        Some(VersionKey {
            beneficiary_id: beneficiary_id.into(),
            claim_id: claim_id.into(),
            processed_date: processed_date?,
            record_type,
        })
    }

    /// Runs the row checks in the contract's order and builds the line.
    fn parse_line(
        &mut self,
        record: &Record,
        source: Source,
        processed_date: Option<Date>,
    ) -> Result<ClaimLine, RejectReason> {
        use RejectReason::*;
        let fields = record.text().ok_or(BadEncoding)?;
        let header = self.header;
        let text = |column| header.text(&fields, column);
        let optional = |column| Some(text(column)).filter(|s| !s.is_empty());
        if Column::ALL[..Column::REQUIRED]
            .iter()
            .any(|&c| text(c).is_empty())
        {
            return Err(MissingField);
        }
        let line_number = parse_line_number(text(Column::LineNumber)).ok_or(BadLineNumber)?;
        let claim_type = ClaimType::parse(text(Column::ClaimType)).ok_or(BadClaimType)?;
        let record_type = RecordType::parse(text(Column::RecordType)).ok_or(BadRecordType)?;

        let dates = &mut self.dates;
        let mut date = |column: Column| {
            dates[column as usize]
                .parse(text(column).as_bytes(), parse_date)
                .ok_or(BadDate)
        };
        let from_date = date(Column::FromDate)?;
        let thru_date = date(Column::ThruDate)?;
        let processed_date = processed_date.ok_or(BadDate)?;
        let mut optional_date = |column, default: Date| match text(column) {
            "" => Ok(default),
            _ => date(column),
        };
        let admission_date = optional_date(Column::AdmissionDate, from_date)?;
        let discharge_date = optional_date(Column::DischargeDate, thru_date)?;
        let line_date = optional_date(Column::LineDate, from_date)?;
        if from_date > thru_date || (claim_type == ClaimType::Ip && admission_date > discharge_date)
        {
            return Err(BadDateRange);
        }
        let allowed = Money::parse(text(Column::AllowedAmount).as_bytes()).ok_or(BadAmount)?;

        let shared = &mut self.shared;
        Ok(ClaimLine {
            source,
            beneficiary_id: shared
                .beneficiary
                .get(text(Column::BeneficiaryId), str::to_owned),
            claim_id: shared.claim.get(text(Column::ClaimId), str::to_owned),
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
            provider_id: optional(Column::ProviderId)
                .map(|s| shared.provider.get(s, str::to_owned)),
            drg: optional(Column::Drg).map(|s| shared.drg.get(s, normalize_drg)),
            principal_dx: optional(Column::PrincipalDx)
                .map(|s| shared.diagnosis.get(s, normalize_dx)),
            hcpcs: optional(Column::Hcpcs).map(|s| shared.hcpcs.get(s, normalize_hcpcs)),
        })
    }
}

/// `line_number`: digits only, at least 1 (`01` is 1).
fn parse_line_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u64>().ok().filter(|&n| n >= 1)
}

impl crate::error::Classify for Error {
    /// The input data the user named.
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::Io { source, .. } => ErrorKind::reading(ErrorKind::InputData, source),
            _ => ErrorKind::InputData,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "claim_id,line_number,beneficiary_id,claim_type,from_date,thru_date,allowed_amount,record_type,processed_date,admission_date,discharge_date,line_date,provider_id,drg,principal_dx,hcpcs";

    fn outcomes(body: &str, as_of: Option<&str>) -> Vec<RowOutcome> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.csv");
        std::fs::write(&path, format!("{HEADER}\n{body}")).unwrap();
        let as_of = as_of.map(|d| parse_date(d.as_bytes()).unwrap());
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
