//! The CMS research identifiable files (RIF/CCW claims files) as claim lines.
//!
//! A RIF claims file is pipe-delimited text with a header row naming the
//! columns, one row per claim line (a carrier or DME line item, or an
//! institutional revenue-center line), every row repeating its claim's
//! claim-level fields. The seven claim kinds have seven layouts; this reader
//! takes any of them, finds its columns by name, and decides each row's kind
//! from `NCH_CLM_TYPE_CD`. Every data row becomes exactly one
//! [`RowOutcome`], as with the canonical reader ([`crate::input::claims`]): a
//! [`ClaimLine`] in normal form, a rejected row with one of the contract's
//! reasons (section 5, in the same order of checks), or a row after the
//! run-out cutoff. Nothing is dropped, so the summary still adds up.
//!
//! The mapping, field by field with its CMS source, is in
//! `docs/INPUT-FORMATS.md`; in short:
//!
//! - claim type from `NCH_CLM_TYPE_CD` (10 HHA, 20/30 SNF, 40 OP, 50 HOS,
//!   60/61 IP, 71/72 PB, 81/82 DME; anything else is `bad_claim_type`);
//! - allowed amount: carrier and DME `LINE_ALOWD_CHRG_AMT` per line;
//!   institutional kinds at claim level, `CLM_PMT_AMT` plus the primary
//!   payer's payment and the beneficiary's deductibles and coinsurance
//!   present in the layout (plus the pass-through per diem times the
//!   utilization days on IP), carried by the first row of each claim version
//!   in the file, the version's other rows carrying `0.00`;
//! - version: `DML_IND` `DELETE`, `FINAL_ACTION` `N` or `CLM_FREQ_CD` `8`
//!   make a void, `DML_IND` `UPDATE` or `CLM_FREQ_CD` `7` a replacement,
//!   anything else an original; processed date `NCH_WKLY_PROC_DT`.
//!
//! Rows are split on `|`; a backslash-escaped pipe (`\|`) is a pipe inside a
//! field, as the Blue Button pipeline reads these files. A row with one
//! empty field more than the header (a trailing `|`, as the published
//! samples have) is read as if the trailing `|` were absent. There is no
//! quoting, so `bad_csv` never occurs.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;

use chrono::NaiveDate;
use rustc_hash::FxHashSet;

use crate::input::claim_rows::{
    ClaimFields, RowChecks, column_positions, columns, parse_line_number,
};
use crate::input::claims::{Error, open};
use crate::input::driver::{
    self, FormatReader, Reading, SEQUENTIAL_CHUNK_BYTES, Started, io_error,
};
use crate::input::records::{self, Dialect, Lines};
use crate::model::Text;
use crate::model::money::Money;
use crate::model::outcome::{RejectReason, RowOutcome, RowView, VersionKey};
use crate::model::{self, ClaimLine, ClaimType, Date, RecordType};

columns! {
    /// The RIF columns the reader uses; others are ignored.
    enum Column {
        BeneId => "BENE_ID",
        ClmId => "CLM_ID",
        ClmTypeCd => "NCH_CLM_TYPE_CD",
        FromDt => "CLM_FROM_DT",
        ThruDt => "CLM_THRU_DT",
        DmlInd => "DML_IND",
        FinalAction => "FINAL_ACTION",
        FreqCd => "CLM_FREQ_CD",
        WklyProcDt => "NCH_WKLY_PROC_DT",
        ClmLineNum => "CLM_LINE_NUM",
        LineNum => "LINE_NUM",
        PrvdrNum => "PRVDR_NUM",
        TaxNum => "TAX_NUM",
        AdmsnDt => "CLM_ADMSN_DT",
        DschrgDt => "NCH_BENE_DSCHRG_DT",
        Line1stExpnsDt => "LINE_1ST_EXPNS_DT",
        RevCntrDt => "REV_CNTR_DT",
        DrgCd => "CLM_DRG_CD",
        PrncpalDgnsCd => "PRNCPAL_DGNS_CD",
        HcpcsCd => "HCPCS_CD",
        LineAlowdChrgAmt => "LINE_ALOWD_CHRG_AMT",
        ClmPmtAmt => "CLM_PMT_AMT",
        PrmryPyrClmPdAmt => "NCH_PRMRY_PYR_CLM_PD_AMT",
        IpDdctblAmt => "NCH_BENE_IP_DDCTBL_AMT",
        PtaCoinsrncAmt => "NCH_BENE_PTA_COINSRNC_LBLTY_AM",
        BloodDdctblAmt => "NCH_BENE_BLOOD_DDCTBL_LBLTY_AM",
        PtbDdctblAmt => "NCH_BENE_PTB_DDCTBL_AMT",
        PtbCoinsrncAmt => "NCH_BENE_PTB_COINSRNC_AMT",
        PassThruPerDiemAmt => "CLM_PASS_THRU_PER_DIEM_AMT",
        UtlztnDayCnt => "CLM_UTLZTN_DAY_CNT",
    }
}

impl Column {
    /// The first five are the key columns: a file without one of them is
    /// not a claims file this reader can map.
    const KEY: usize = 5;
}

/// The claim-level amounts added to `CLM_PMT_AMT` on an institutional claim
/// when the layout has them: what a primary payer paid, and the
/// beneficiary's Part A or Part B deductible, coinsurance and blood
/// deductible, each with the kinds whose CMS layouts carry it (the CCW
/// codebook's variable lists, docs/INPUT-FORMATS.md [S4]: Part A cost
/// sharing on IP and SNF, Part B on OP, blood on all three). An empty
/// field counts zero.
const CLAIM_COST_SHARING: [(Column, &[ClaimType]); 6] = {
    use ClaimType::{Hha, Hos, Ip, Op, Snf};
    [
        (Column::PrmryPyrClmPdAmt, &[Ip, Snf, Op, Hha, Hos]),
        (Column::IpDdctblAmt, &[Ip, Snf]),
        (Column::PtaCoinsrncAmt, &[Ip, Snf]),
        (Column::BloodDdctblAmt, &[Ip, Snf, Op]),
        (Column::PtbDdctblAmt, &[Op]),
        (Column::PtbCoinsrncAmt, &[Op]),
    ]
};

/// What `NCH_CLM_TYPE_CD` says about a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Kind {
    claim_type: ClaimType,
    /// Institutional (facility) claims carry their amounts at claim level
    /// and their provider as a CCN; carrier and DME claims per line and as a
    /// tax number.
    institutional: bool,
}

/// The claim kind of an `NCH_CLM_TYPE_CD` value, or `None` for any other.
fn kind(code: &[u8]) -> Option<Kind> {
    let (claim_type, institutional) = match code {
        b"10" => (ClaimType::Hha, true),
        b"20" | b"30" => (ClaimType::Snf, true),
        b"40" => (ClaimType::Op, true),
        b"50" => (ClaimType::Hos, true),
        b"60" | b"61" => (ClaimType::Ip, true),
        b"71" | b"72" => (ClaimType::Pb, false),
        b"81" | b"82" => (ClaimType::Dme, false),
        _ => return None,
    };
    Some(Kind {
        claim_type,
        institutional,
    })
}

/// The version a row belongs to, from `DML_IND`, `FINAL_ACTION` and
/// `CLM_FREQ_CD` (each may be absent): the strongest of what they say,
/// void over replacement over original. `None` when `DML_IND` or
/// `FINAL_ACTION` holds a value that is not theirs.
fn record_type(dml_ind: &[u8], final_action: &[u8], frequency: &[u8]) -> Option<RecordType> {
    let dml = |value: &[u8]| dml_ind.eq_ignore_ascii_case(value);
    let by_dml = if dml(b"") || dml(b"INSERT") {
        RecordType::Original
    } else if dml(b"UPDATE") {
        RecordType::Replacement
    } else if dml(b"DELETE") {
        RecordType::Void
    } else {
        return None;
    };
    let by_final_action = match final_action {
        b"" | b"F" | b"f" => RecordType::Original,
        b"N" | b"n" => RecordType::Void,
        _ => return None,
    };
    let by_frequency = match frequency {
        b"7" => RecordType::Replacement,
        b"8" => RecordType::Void,
        _ => RecordType::Original,
    };
    Some(by_dml.max(by_final_action).max(by_frequency))
}

/// Parses a RIF date: `dd-MMM-yyyy` with the month's English abbreviation in
/// any case (the CCW writes `27-JAN-2016`, the synthetic files
/// `30-May-2015`), or `YYYYMMDD`, or `YYYY-MM-DD`; only real calendar dates.
pub fn parse_date(text: &[u8]) -> Option<Date> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"JAN", b"FEB", b"MAR", b"APR", b"MAY", b"JUN", b"JUL", b"AUG", b"SEP", b"OCT", b"NOV",
        b"DEC",
    ];
    if text.len() == 11 && text[2] == b'-' && text[6] == b'-' {
        let day = digits(&text[0..2])?;
        let month = MONTHS
            .iter()
            .position(|m| text[3..6].eq_ignore_ascii_case(*m))?;
        let year = i32::try_from(digits(&text[7..11])?).ok()?;
        return NaiveDate::from_ymd_opt(year, month as u32 + 1, day);
    }
    model::parse_date(text)
}

/// The value of a non-empty run of ASCII digits.
fn digits(text: &[u8]) -> Option<u32> {
    if text.is_empty() || text.len() > 9 {
        return None;
    }
    text.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Whether a header line is a RIF claims header: pipe-delimited, naming
/// `BENE_ID` and `NCH_CLM_TYPE_CD` or `CLM_ID` (names compared without case
/// and surrounding blanks). For `--claims-format auto`.
pub fn looks_like_rif(header: &str) -> bool {
    let piped = header.lines().next().is_some_and(|line| line.contains('|'));
    let has = |name| super::names_column(header, name);
    piped && has("BENE_ID") && (has("NCH_CLM_TYPE_CD") || has("CLM_ID"))
}

/// One line of the file split on `|`: its raw bytes and its fields.
#[derive(Debug)]
pub(crate) struct Row<'a> {
    raw: &'a [u8],
    /// The line as text when it is UTF-8, checked once for the whole row.
    text: Option<&'a str>,
    /// Each field's bytes: a range of `raw`, or of `unescaped` when the row
    /// has an escaped pipe.
    spans: &'a [(usize, usize)],
    /// The row's fields with `\|` unescaped, when it has one.
    unescaped: Option<&'a [u8]>,
}

/// The field buffers of a file's rows, reused from row to row.
#[derive(Debug, Default)]
pub(crate) struct Splitter {
    spans: Vec<(usize, usize)>,
    unescaped: Vec<u8>,
}

impl Splitter {
    /// Splits one line (without its line end) on unescaped pipes.
    pub(crate) fn split<'a>(&'a mut self, raw: &'a [u8]) -> Row<'a> {
        let text = std::str::from_utf8(raw).ok();
        let escaped = Dialect::EscapedPipe.needs_unescaping(raw);
        let (spans, unescaped) = (&mut self.spans, &mut self.unescaped);
        records::split_fields(Dialect::EscapedPipe, raw, escaped, spans, unescaped);
        Row {
            raw,
            text,
            spans: &self.spans,
            unescaped: escaped.then_some(&self.unescaped[..]),
        }
    }
}

impl<'a> Row<'a> {
    /// Field `index`, trimmed of surrounding blanks, or `None` past the end.
    pub(crate) fn get(&self, index: usize) -> Option<&'a [u8]> {
        let &(start, end) = self.spans.get(index)?;
        Some(records::trim(
            &self.unescaped.unwrap_or(self.raw)[start..end],
        ))
    }

    /// Field `index` as text: empty past the end or when the field is not
    /// UTF-8.
    pub(crate) fn text(&self, index: usize) -> &'a str {
        match (self.text, self.unescaped) {
            // Pipes are ASCII, so a field of a UTF-8 row is UTF-8 and its
            // bounds are character boundaries: no second check.
            (Some(text), None) => self
                .spans
                .get(index)
                .map_or("", |&(start, end)| records::trim_str(&text[start..end])),
            _ => self
                .get(index)
                .and_then(|field| std::str::from_utf8(field).ok())
                .unwrap_or_default(),
        }
    }

    /// Whether the row has `width` fields, or one more that is empty (a
    /// trailing `|`).
    pub(crate) fn has_width(&self, width: usize) -> bool {
        let n = self.spans.len();
        n == width || (n == width + 1 && self.get(width) == Some(b""))
    }

    /// Whether the whole row is UTF-8.
    pub(crate) fn is_utf8(&self) -> bool {
        self.text.is_some()
    }

    /// How many fields the row has, less one trailing empty field (a
    /// header ending in `|` names no column after it).
    pub(crate) fn width(&self) -> usize {
        match self.spans.len() {
            n if n > 1 && self.get(n - 1) == Some(b"") => n - 1,
            n => n,
        }
    }
}

/// Where each known column sits in one file's header.
#[derive(Debug)]
struct Header {
    index: [Option<usize>; Column::ALL.len()],
    /// Fields per row.
    width: usize,
}

impl Header {
    fn resolve(row: &Row, line: u64, path: &Path) -> Result<Header, Error> {
        if row.text.is_none() {
            return Err(Error::HeaderEncoding {
                path: path.to_owned(),
                row: line,
            });
        }
        // A header ending in `|` names no column after it.
        let width = row.width();
        let names = (0..width).map(|position| row.get(position).unwrap_or_default());
        let find = |name: &[u8]| {
            let column = Column::ALL
                .iter()
                .position(|c| name.eq_ignore_ascii_case(c.name().as_bytes()))?;
            Some((column, Column::ALL[column].name()))
        };
        let index = column_positions(names, find, path, line)?;
        let required = || {
            let keys: Vec<_> = Column::ALL[..Column::KEY]
                .iter()
                .map(|c| c.name())
                .collect();
            format!(
                "{}, and LINE_ALOWD_CHRG_AMT (carrier, DME) or CLM_PMT_AMT (institutional)",
                keys.join(", ")
            )
        };
        let missing = |column| Error::MissingColumn {
            path: path.to_owned(),
            row: line,
            column,
            required: required(),
        };
        if let Some(key) = Column::ALL[..Column::KEY]
            .iter()
            .find(|c| index[**c as usize].is_none())
        {
            return Err(missing(key.name()));
        }
        if index[Column::LineAlowdChrgAmt as usize].is_none()
            && index[Column::ClmPmtAmt as usize].is_none()
        {
            return Err(missing("LINE_ALOWD_CHRG_AMT or CLM_PMT_AMT"));
        }
        Ok(Header { index, width })
    }

    /// Where the line number is: `CLM_LINE_NUM` (institutional layouts) or
    /// `LINE_NUM` (carrier, DME), the one of the row's kind when the header
    /// has both.
    fn line_number(&self, kind: Option<Kind>) -> Option<usize> {
        let (clm, line) = (
            self.index[Column::ClmLineNum as usize],
            self.index[Column::LineNum as usize],
        );
        match kind {
            Some(k) if !k.institutional => line.or(clm),
            _ => clm.or(line),
        }
    }

    /// The trimmed field of `column`, empty when the header lacks it.
    fn field<'r>(&self, row: &Row<'r>, column: Column) -> &'r [u8] {
        self.index[column as usize]
            .and_then(|i| row.get(i))
            .unwrap_or_default()
    }

    /// [`Header::field`] as text, empty when the row is not UTF-8.
    fn text<'r>(&self, row: &Row<'r>, column: Column) -> &'r str {
        self.index[column as usize].map_or("", |i| row.text(i))
    }
}

/// Reads RIF rows from `input` (named `path` in errors) in chunks parsed
/// in parallel on the current rayon pool, with the accumulator protocol of
/// [`crate::input::formats::ClaimsFormat::read_chunked`]. `reread` is where
/// the rows can be read again when `input` is a regular file, `None` for a
/// stream.
///
/// The one rule that spans rows, an institutional claim amount carried by
/// the first row of its version in the file, is settled between parsing and
/// folding, in file order (see [`Settled`]).
pub(crate) fn read_chunked<T: Send, E: From<Error>>(
    input: impl Read,
    path: &Path,
    reread: Option<&Path>,
    reading: Reading,
    init: impl Fn() -> T + Sync,
    fold: impl Fn(&mut T, RowView<'_>) + Sync,
    merge: impl FnMut(T, u64) -> Result<(), E>,
) -> Result<(), E> {
    let Started {
        header,
        rest,
        chunks,
    } = driver::start(&Rif, input, path, reading.chunking.chunk_bytes)?;
    let Reading { file, as_of, .. } = reading;
    let rows_start = rest.offset;
    // Only a file read again from itself can rebuild the versions before
    // a disorder; a stream remembers every version from the start.
    let header_ref = &header;
    let rebuild =
        reread.map(|again| move |end| versions_carried(again, header_ref, rows_start, end));
    let mut settled = Settled::new(rebuild.as_ref().map(|r| r as Rebuild));
    driver::run_batches(
        driver::chunks_of(path, rest, chunks),
        reading.chunking.batch,
        |chunk| Ok(parse_chunk(&header, file, as_of, chunk)),
        |parsed| settled.settle(parsed),
        |parsed| {
            let mut acc = init();
            for outcome in parsed.outcomes {
                outcome.pass(|view| fold(&mut acc, view));
            }
            acc
        },
        merge,
    )
}

/// RIF as the driver reads it: one row a line, split on unescaped pipes,
/// the header the first non-empty line.
struct Rif;

impl FormatReader for Rif {
    type Header = Header;

    fn quoting(&self) -> bool {
        false
    }

    fn header(
        &self,
        chunk: &records::Chunk,
        path: &Path,
    ) -> Result<Option<(Header, usize, u64)>, Error> {
        let mut lines = Lines::of(chunk);
        let Some((line, _, raw)) = lines.next() else {
            return Ok(None);
        };
        let header = Header::resolve(&Splitter::default().split(raw), line, path)?;
        let (next_line, next_offset) = lines.next_position();
        Ok(Some((
            header,
            (next_offset - chunk.offset) as usize,
            next_line,
        )))
    }
}

/// A chunk's row outcomes, with the rows that carried their version's claim
/// amount as the first of the version within the chunk.
#[derive(Debug, Default)]
struct ParsedChunk {
    outcomes: Vec<RowOutcome>,
    carried: Vec<Carried>,
}

/// A row that carried its version's claim amount within its chunk.
#[derive(Debug)]
struct Carried {
    /// Its index in [`ParsedChunk::outcomes`].
    index: usize,
    /// Its byte offset in the file.
    offset: u64,
    version: VersionSeen,
}

/// Parses one chunk of whole rows.
fn parse_chunk(
    header: &Header,
    file: u32,
    as_of: Option<Date>,
    chunk: &records::Chunk,
) -> ParsedChunk {
    let mut checker = RowChecker::new(header, file, as_of);
    let mut splitter = Splitter::default();
    let mut parsed = ParsedChunk::default();
    for (line, offset, raw) in Lines::of(chunk) {
        let row = splitter.split(raw);
        parsed.outcomes.push(checker.check(&row, line, offset));
        if let Some(version) = checker.carried.take() {
            let index = parsed.outcomes.len() - 1;
            parsed.carried.push(Carried {
                index,
                offset,
                version,
            });
        }
    }
    parsed
}

/// Every version carried by the file's rows before a byte offset: what
/// [`Settled`] needs when it finds the file out of claim order.
type Rebuild<'a> = &'a dyn Fn(u64) -> Result<FxHashSet<VersionSeen>, Error>;

/// The rows of `path` between `start` and `end` parsed again, for
/// [`Rebuild`].
fn versions_carried(
    path: &Path,
    header: &Header,
    start: u64,
    end: u64,
) -> Result<FxHashSet<VersionSeen>, Error> {
    let mut input = open(path)?;
    io::Seek::seek(&mut input, io::SeekFrom::Start(start)).map_err(|e| io_error(path, e))?;
    let mut chunks =
        records::ChunkReader::unquoted(input.take(end - start), SEQUENTIAL_CHUNK_BYTES);
    let mut versions = FxHashSet::default();
    let mut read = 0;
    while let Some(mut chunk) = chunks.next_chunk().map_err(|e| io_error(path, e))? {
        read += chunk.bytes.len() as u64;
        chunk.offset += start;
        let parsed = parse_chunk(header, 0, None, &chunk);
        versions.extend(parsed.carried.into_iter().map(|carried| carried.version));
    }
    if read != end - start {
        let changed = io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the file changed while it was being read",
        );
        return Err(io_error(path, changed));
    }
    Ok(versions)
}

/// The institutional claim versions whose amount a row has carried, over
/// the chunks of a file taken in order: a row that carried its version's
/// amount within its chunk keeps it only if no earlier chunk had a row of
/// the same version (which row carries it changes the row's amount, never
/// whether the row is rejected).
///
/// CMS extracts come sorted by beneficiary and claim, so a claim's rows are
/// together and only the current claim's versions need remembering: memory
/// stays flat on a national file. The order is checked on the ids as text,
/// byte by byte (an extract sorted numerically on ids of several lengths
/// counts as out of order). The first row out of that order switches to
/// remembering every version, after re-reading the rows before it to learn
/// theirs: a file that is not sorted costs one more pass over the rows
/// before the first disorder, and one entry per institutional claim
/// version. Input that cannot be read twice (a pipe) remembers every
/// version from the start.
enum Settled<'r> {
    InOrder {
        /// The beneficiary and claim id of the last carrying row.
        beneficiary: Vec<u8>,
        claim: Vec<u8>,
        /// That claim's versions carried so far.
        versions: FxHashSet<VersionSeen>,
        rebuild: Rebuild<'r>,
    },
    Any(FxHashSet<VersionSeen>),
}

impl<'r> Settled<'r> {
    /// A settlement starting in claim order when it can re-read the file,
    /// else remembering every version from the start.
    fn new(rebuild: Option<Rebuild<'r>>) -> Self {
        match rebuild {
            Some(rebuild) => Settled::InOrder {
                beneficiary: Vec::new(),
                claim: Vec::new(),
                versions: FxHashSet::default(),
                rebuild,
            },
            None => Settled::Any(FxHashSet::default()),
        }
    }

    /// Takes the claim amount off the rows of `chunk` (the next chunk in
    /// file order) whose version an earlier row carried.
    fn settle(&mut self, chunk: &mut ParsedChunk) -> Result<(), Error> {
        use std::cmp::Ordering;
        for Carried {
            index,
            offset,
            version,
        } in chunk.carried.drain(..)
        {
            if let Settled::InOrder {
                beneficiary,
                claim,
                versions,
                rebuild,
            } = self
            {
                let this = version.claim();
                match this.cmp(&(beneficiary.as_slice(), claim.as_slice())) {
                    Ordering::Equal => {}
                    Ordering::Greater => {
                        beneficiary.clear();
                        beneficiary.extend_from_slice(this.0);
                        claim.clear();
                        claim.extend_from_slice(this.1);
                        versions.clear();
                    }
                    Ordering::Less => *self = Settled::Any(rebuild(offset)?),
                }
            }
            let first = match self {
                Settled::InOrder { versions, .. } | Settled::Any(versions) => {
                    versions.insert(version)
                }
            };
            if !first {
                drop_claim_amount(&mut chunk.outcomes[index]);
            }
        }
        Ok(())
    }
}

/// The outcome a row has when it does not carry its version's claim amount.
fn drop_claim_amount(outcome: &mut RowOutcome) {
    match outcome {
        RowOutcome::Line(line) => line.allowed = Money::ZERO,
        RowOutcome::Rejected(row) => row.amount = Money::ZERO,
        RowOutcome::AfterCutoff { amount } => *amount = Money::ZERO,
    }
}

/// The raw text of the rows at `rows` (`(line, offset)` pairs) of one file,
/// re-read by seeking to each offset, without line ends: for the rejects of
/// version-level checks, whose text is not kept.
pub fn raw_rows(path: &Path, rows: &[(u64, u64)]) -> Result<Vec<Box<[u8]>>, Error> {
    records::lines_at(&mut open(path)?, rows.iter().map(|&(_, offset)| offset))
        .map_err(|e| io_error(path, e))
}

/// Which claim version a row's claim-level amount belongs to: the version
/// key when the row names one readably, else its raw identifying fields.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum VersionSeen {
    Key(VersionKey),
    Raw {
        beneficiary: Box<[u8]>,
        claim: Box<[u8]>,
        /// The version's other fields, each after its length, so that no
        /// two different rows give the same bytes.
        version: Box<[u8]>,
    },
}

impl VersionSeen {
    /// The beneficiary and claim id the version belongs to, as the row
    /// wrote them (trimmed).
    fn claim(&self) -> (&[u8], &[u8]) {
        match self {
            VersionSeen::Key(key) => (key.beneficiary_id.as_bytes(), key.claim_id.as_bytes()),
            VersionSeen::Raw {
                beneficiary, claim, ..
            } => (beneficiary, claim),
        }
    }
}

/// The row checks of one file, with what RIF adds: which row of an
/// institutional claim version carries its claim-level amount.
struct RowChecker<'h> {
    header: &'h Header,
    checks: RowChecks,
    /// The institutional claim versions whose claim-level amount a row of
    /// this chunk has already carried.
    seen: FxHashSet<VersionSeen>,
    /// The version of the previous institutional row, to skip the set for
    /// the (usual) adjacent lines of one claim.
    last_seen: Option<VersionSeen>,
    /// The version whose claim-level amount the last checked row carried,
    /// for [`Settled`] to settle across chunks.
    carried: Option<VersionSeen>,
}

impl<'h> RowChecker<'h> {
    fn new(header: &'h Header, file: u32, as_of: Option<Date>) -> Self {
        RowChecker {
            header,
            checks: RowChecks::new(file, as_of, parse_date),
            seen: FxHashSet::default(),
            last_seen: None,
            carried: None,
        }
    }
}

impl RowChecker<'_> {
    fn check(&mut self, row: &Row, line: u64, offset: u64) -> RowOutcome {
        self.carried = None;
        let source = self.checks.source(line, offset);
        let header = self.header;
        if !row.has_width(header.width) {
            return RowChecks::shape_reject(source, row.raw, RejectReason::BadFieldCount);
        }
        let field = |column| header.field(row, column);
        let text = |column| header.text(row, column);
        let kind = kind(field(Column::ClmTypeCd));
        let institutional = kind.is_some_and(|k| k.institutional);
        let claim_type = kind.map(|k| k.claim_type);
        // CLM_FREQ_CD is an institutional field: a carrier or DME row of a
        // joined layout does not take its version from it.
        let frequency = match kind {
            Some(k) if !k.institutional => b"",
            _ => field(Column::FreqCd),
        };
        let processed = match field(Column::WklyProcDt) {
            b"" => field(Column::ThruDt),
            given => given,
        };
        let amount_column = kind.map(|k| {
            if k.institutional {
                Column::ClmPmtAmt
            } else {
                Column::LineAlowdChrgAmt
            }
        });
        let line_number_text = header.line_number(kind).map(|i| row.text(i));
        // The kinds whose CMS layouts have these dates (IP, SNF, HHA; IP,
        // SNF, hospice): in a joined layout, another kind's row takes the
        // defaults, as its own file would give it.
        let admission_date = match claim_type {
            Some(ClaimType::Ip | ClaimType::Snf | ClaimType::Hha) => field(Column::AdmsnDt),
            _ => b"",
        };
        let discharge_date = match claim_type {
            Some(ClaimType::Ip | ClaimType::Snf | ClaimType::Hos) => field(Column::DschrgDt),
            _ => b"",
        };
        let (line_date, provider) = if institutional {
            (Column::RevCntrDt, Column::PrvdrNum)
        } else {
            (Column::Line1stExpnsDt, Column::TaxNum)
        };
        let mut fields = ClaimFields {
            source,
            raw: row.raw,
            utf8: row.is_utf8(),
            processed_date: self.checks.date(processed),
            // Known once the row's version is: see below.
            amount: None,
            missing: text(Column::ClmTypeCd).is_empty()
                || amount_column.is_some_and(|c| text(c).is_empty())
                || line_number_text == Some(""),
            line_number: match line_number_text {
                Some(given) => parse_line_number(given),
                None => Some(1),
            },
            claim_type,
            record_type: record_type(field(Column::DmlInd), field(Column::FinalAction), frequency),
            beneficiary_id: text(Column::BeneId),
            claim_id: text(Column::ClmId),
            claim_prefix: "",
            from_date: field(Column::FromDt),
            thru_date: field(Column::ThruDt),
            admission_date,
            discharge_date,
            line_date: field(line_date),
            provider_id: text(provider),
            // Only the inpatient and SNF layouts have a DRG.
            drg: match claim_type {
                Some(ClaimType::Ip | ClaimType::Snf) => text(Column::DrgCd),
                _ => "",
            },
            principal_dx: text(Column::PrncpalDgnsCd),
            hcpcs: text(Column::HcpcsCd),
        };
        let carries_claim_amount = institutional && {
            let version = self.checks.version_key(&fields);
            self.first_row_of_version(row, version.as_ref())
        };
        fields.amount = allowed(header, row, kind, carries_claim_amount);
        self.checks.check(&fields)
    }

    /// Whether this row is the first of its claim version in the file, and
    /// so carries the version's claim-level amount.
    fn first_row_of_version(&mut self, row: &Row, version: Option<&VersionKey>) -> bool {
        let seen = match version {
            Some(key) => VersionSeen::Key(key.clone()),
            None => {
                let field = |column| self.header.field(row, column);
                let mut version = Vec::new();
                for column in [
                    Column::DmlInd,
                    Column::FinalAction,
                    Column::FreqCd,
                    Column::WklyProcDt,
                    Column::ThruDt,
                ] {
                    let text = field(column);
                    version.extend_from_slice(&text.len().to_le_bytes());
                    version.extend_from_slice(text);
                }
                VersionSeen::Raw {
                    beneficiary: field(Column::BeneId).into(),
                    claim: field(Column::ClmId).into(),
                    version: version.into(),
                }
            }
        };
        if self.last_seen.as_ref() == Some(&seen) {
            return false;
        }
        let first = self.seen.insert(seen.clone());
        if first {
            self.carried = Some(seen.clone());
        }
        self.last_seen = Some(seen);
        first
    }
}

/// A row's allowed amount, `None` when a field it needs is empty or not an
/// amount. Carrier and DME: `LINE_ALOWD_CHRG_AMT`. Institutional: the claim
/// amount of [`claim_amount`] on the row that carries it, else zero (the
/// claim amount is still checked on every row, as every row repeats it).
fn allowed(header: &Header, row: &Row, kind: Option<Kind>, carries: bool) -> Option<Money> {
    let kind = kind?;
    if !kind.institutional {
        return Money::parse(header.field(row, Column::LineAlowdChrgAmt));
    }
    let claim = claim_amount(header, row, kind.claim_type)?;
    Some(if carries { claim } else { Money::ZERO })
}

/// The allowed amount of an institutional claim:
/// `CLM_PMT_AMT + NCH_PRMRY_PYR_CLM_PD_AMT + NCH_BENE_IP_DDCTBL_AMT +
/// NCH_BENE_PTA_COINSRNC_LBLTY_AM + NCH_BENE_PTB_DDCTBL_AMT +
/// NCH_BENE_PTB_COINSRNC_AMT + NCH_BENE_BLOOD_DDCTBL_LBLTY_AM`, each added
/// term only on the kinds whose layouts have it ([`CLAIM_COST_SHARING`])
/// and counting zero when the layout lacks it or the field is empty, and
/// on IP claims `+ CLM_PASS_THRU_PER_DIEM_AMT × CLM_UTLZTN_DAY_CNT`. Exact in
/// cents: every term is a whole number of cents and the day count an integer.
fn claim_amount(header: &Header, row: &Row, claim_type: ClaimType) -> Option<Money> {
    let optional_money = |column| match header.field(row, column) {
        b"" => Some(Money::ZERO),
        given => Money::parse(given),
    };
    let mut total = Money::parse(header.field(row, Column::ClmPmtAmt))?;
    // Each term only on the kinds whose CMS layouts have it: in a file
    // joining several kinds' columns, an outpatient row's Part A
    // deductible column belongs to the inpatient rows.
    for (column, kinds) in CLAIM_COST_SHARING {
        if kinds.contains(&claim_type) {
            total = total.checked_add(optional_money(column)?)?;
        }
    }
    if claim_type == ClaimType::Ip {
        let per_diem = optional_money(Column::PassThruPerDiemAmt)?;
        let days = match header.field(row, Column::UtlztnDayCnt) {
            b"" => 0,
            given => digits(given)?,
        };
        let pass_through = per_diem.cents().checked_mul(i128::from(days))?;
        total = total.checked_add(Money::from_cents(pass_through))?;
    }
    // The sum of several fields is still an amount (RULES 7): a longer one
    // is `bad_amount`, which keeps every claims-path sum bounded (7a).
    Some(total).filter(|t| t.is_claim_amount())
}

/// A RIF date, `dd-MMM-yyyy` in upper case.
fn rif_date(day: Date) -> String {
    day.format("%d-%b-%Y").to_string().to_ascii_uppercase()
}

/// The inverse mapping, for round-trip tests and benchmarks: canonical
/// lines as one RIF file in a layout that joins the carrier
/// and inpatient columns the reader uses (each row fills the columns of its
/// kind): PB and DME rows carry `LINE_ALOWD_CHRG_AMT` and `TAX_NUM` and
/// mark versions with `DML_IND` (`UPDATE` replacement, `DELETE` void);
/// institutional rows carry `PRVDR_NUM`, `REV_CNTR_DT` and the version's
/// total allowed amount in `CLM_PMT_AMT` on every row (RIF repeats claim
/// fields on each line), and mark versions with `CLM_FREQ_CD` (7, 8).
///
/// The reader puts an institutional claim amount on the first row of its
/// version, so the round trip is exact when the canonical lines of each
/// institutional version have their total on the first line written and
/// zero on the others.
pub fn write(lines: &[ClaimLine]) -> String {
    let mut totals: BTreeMap<(Text, Text, RecordType, Date), Money> = BTreeMap::new();
    for l in lines {
        let total = totals
            .entry((
                l.beneficiary_id.clone(),
                l.claim_id.clone(),
                l.record_type,
                l.processed_date,
            ))
            .or_default();
        // Claim lines of one version: bounded by RULES 7a.
        *total = total.add_claim(l.allowed);
    }
    let mut out = String::from(
        "DML_IND|BENE_ID|CLM_ID|FINAL_ACTION|NCH_CLM_TYPE_CD|CLM_FROM_DT|CLM_THRU_DT|NCH_WKLY_PROC_DT|CLM_FREQ_CD|PRVDR_NUM|TAX_NUM|CLM_PMT_AMT|CLM_ADMSN_DT|NCH_BENE_DSCHRG_DT|CLM_DRG_CD|PRNCPAL_DGNS_CD|CLM_LINE_NUM|REV_CNTR_DT|LINE_1ST_EXPNS_DT|HCPCS_CD|LINE_ALOWD_CHRG_AMT\n",
    );
    for l in lines {
        let institutional = !matches!(l.claim_type, ClaimType::Pb | ClaimType::Dme);
        let type_code = match l.claim_type {
            ClaimType::Hha => "10",
            ClaimType::Snf => "20",
            ClaimType::Op => "40",
            ClaimType::Hos => "50",
            ClaimType::Ip => "60",
            ClaimType::Pb => "71",
            ClaimType::Dme => "82",
        };
        let (dml, frequency) = match (institutional, l.record_type) {
            (true, RecordType::Original) => ("INSERT", "1"),
            (true, RecordType::Replacement) => ("INSERT", "7"),
            (true, RecordType::Void) => ("INSERT", "8"),
            (false, RecordType::Original) => ("INSERT", ""),
            (false, RecordType::Replacement) => ("UPDATE", ""),
            (false, RecordType::Void) => ("DELETE", ""),
        };
        let text = |v: &Option<Text>| v.as_deref().unwrap_or_default().to_owned();
        let provider = text(&l.provider_id);
        // Every line's version was totalled above.
        let total = totals[&(
            l.beneficiary_id.clone(),
            l.claim_id.clone(),
            l.record_type,
            l.processed_date,
        )];
        let fields = [
            dml.to_owned(),
            l.beneficiary_id.to_string(),
            l.claim_id.to_string(),
            "F".to_owned(),
            type_code.to_owned(),
            rif_date(l.from_date),
            rif_date(l.thru_date),
            rif_date(l.processed_date),
            frequency.to_owned(),
            if institutional {
                provider.clone()
            } else {
                String::new()
            },
            if institutional {
                String::new()
            } else {
                provider
            },
            if institutional {
                total.to_string()
            } else {
                String::new()
            },
            rif_date(l.admission_date),
            rif_date(l.discharge_date),
            text(&l.drg),
            text(&l.principal_dx),
            l.line_number.to_string(),
            if institutional {
                rif_date(l.line_date)
            } else {
                String::new()
            },
            if institutional {
                String::new()
            } else {
                rif_date(l.line_date)
            },
            text(&l.hcpcs),
            if institutional {
                String::new()
            } else {
                l.allowed.to_string()
            },
        ];
        out.push_str(&fields.join("|"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> Date {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dates_in_rif_and_iso_forms() {
        assert_eq!(parse_date(b"27-JAN-2016"), Some(date(2016, 1, 27)));
        assert_eq!(parse_date(b"30-May-2015"), Some(date(2015, 5, 30)));
        assert_eq!(parse_date(b"29-feb-2016"), Some(date(2016, 2, 29)));
        assert_eq!(parse_date(b"20160127"), Some(date(2016, 1, 27)));
        assert_eq!(parse_date(b"2016-01-27"), Some(date(2016, 1, 27)));
        for bad in [
            "29-FEB-2015",
            "7-JAN-2016",
            "07-JANU-2016",
            "07-XYZ-2016",
            "07/JAN/2016",
            "32-JAN-2016",
            "",
        ] {
            assert_eq!(parse_date(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn versions_take_the_strongest_indicator() {
        use RecordType::*;
        assert_eq!(record_type(b"", b"", b""), Some(Original));
        assert_eq!(record_type(b"INSERT", b"F", b"1"), Some(Original));
        assert_eq!(record_type(b"UPDATE", b"F", b"1"), Some(Replacement));
        assert_eq!(record_type(b"INSERT", b"F", b"7"), Some(Replacement));
        assert_eq!(record_type(b"INSERT", b"F", b"8"), Some(Void));
        assert_eq!(record_type(b"INSERT", b"N", b"1"), Some(Void));
        assert_eq!(record_type(b"delete", b"F", b"7"), Some(Void));
        assert_eq!(record_type(b"UPSERT", b"F", b"1"), None);
        assert_eq!(record_type(b"INSERT", b"X", b"1"), None);
    }

    #[test]
    fn claim_type_codes() {
        let types: Vec<_> = [
            "10", "20", "30", "40", "50", "60", "61", "71", "72", "81", "82",
        ]
        .iter()
        .map(|c| kind(c.as_bytes()).unwrap().claim_type.code())
        .collect();
        assert_eq!(
            types,
            [
                "HHA", "SNF", "SNF", "OP", "HOS", "IP", "IP", "PB", "PB", "DME", "DME"
            ]
        );
        for bad in ["", "62", "0", "1", "7", "A"] {
            assert_eq!(kind(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn rows_split_on_unescaped_pipes_and_drop_one_trailing_pipe() {
        let mut splitter = Splitter::default();
        let row = splitter.split(b" a |b\\|c||");
        assert_eq!(row.get(0), Some(&b"a"[..]));
        assert_eq!(row.get(1), Some(&b"b|c"[..]));
        assert_eq!(row.get(2), Some(&b""[..]));
        assert_eq!(row.get(3), Some(&b""[..]));
        assert!(row.has_width(4) && row.has_width(3) && !row.has_width(2));
        assert_eq!((row.text(1), row.text(9)), ("b|c", ""));
        let row = splitter.split("é|ö ".as_bytes());
        assert_eq!((row.text(0), row.text(1)), ("é", "ö"));
        let row = splitter.split(b"\xFF|a");
        assert_eq!((row.text(0), row.text(1)), ("", "a"));
    }

    #[test]
    fn rif_headers_are_recognized() {
        assert!(looks_like_rif("DML_IND|BENE_ID|CLM_ID|NCH_CLM_TYPE_CD"));
        assert!(looks_like_rif("\u{feff}BENE_ID|CLM_ID\n1|2"));
        assert!(!looks_like_rif("claim_id,beneficiary_id"));
        assert!(!looks_like_rif("BENE_ID|STATE_CODE"));
    }
}
