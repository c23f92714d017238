//! Reading an earlier run back from its output folder, for the commands
//! that work from runs instead of claims (`true-up`, `reprice`,
//! `scenarios`, `report`).
//!
//! Only the episode-level outputs and the summary are read: they hold every
//! figure pricing needs, which is what makes repricing cheap. A run that
//! settled participants has `participants.csv` too, read so that a true-up
//! can say what each participant is now due.
//!
//! A run written with `--output-format parquet` (its summary says so) is
//! read from its Parquet tables the same way (RULES 52): each row becomes
//! the text its CSV file would hold (`crate::input::arrow`: money
//! `12.34`, dates `YYYY-MM-DD`, a null empty) and goes through the same
//! row parsing as a CSV row, so there is one parser of a run's rows. Its
//! rows are numbered from 1 (a Parquet file has no header row) and its
//! header problems name its `schema`.

use crate::model::Text;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::config::fingerprint::RunRecord;
use crate::engine::eligibility::CancelReason;
use crate::engine::pricing::{EpisodeFigures, Status, TypePricing};
use crate::engine::risk::{self, Levels};
#[cfg(feature = "parquet")]
use crate::input::arrow::Pieces;
use crate::input::claims::header_place;
use crate::input::records::{Record, RecordReader, TextFields, find_columns};
use crate::model::money::Money;
use crate::model::outcome::{Accounting, BeneficiaryCounts, RejectReason, Tally, TypeTally};
use crate::model::warning::{Warning, WarningKind};
use crate::model::{Date, parse_date};
use crate::output::report::{self, CsvView, OutputFormat, Table};

/// A run folder that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file is missing or unreadable.
    #[error("{path}: cannot read the run's output: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The run was written with `--excel-safe`: its text fields carry a
    /// `'` that the run did not read, so its ids no longer match anything.
    #[error(
        "{dir}: the run was written with --excel-safe (summary.json has \"excel_safe\": true), so its ids and codes were altered for spreadsheets and cannot be read back; reconcile again without --excel-safe for true-up, reprice and scenarios, and give --excel-safe to those commands instead"
    )]
    ExcelSafe {
        /// The run folder.
        dir: PathBuf,
    },
    /// The run's tables were written as Parquet, and this build does not
    /// read Parquet (the `parquet` feature is off).
    #[error(
        "{dir}: the run was written with --output-format parquet (summary.json has \"output_format\": \"parquet\"): {}",
        crate::error::WithoutParquet
    )]
    WithoutParquet {
        /// The run folder.
        dir: PathBuf,
    },
    /// A Parquet table of the run is not a Parquet file, is damaged, or
    /// stops decoding at a row (the position is in `problem`).
    #[error(
        "{path}: cannot read the Parquet file: {problem}; expected the output of `episode-recon reconcile`"
    )]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the Parquet reader said.
        problem: String,
    },
    /// A file is not what episode-recon writes.
    #[error(
        "{path}: {}: {problem}; expected the output of `episode-recon reconcile`",
        header_place(*row)
    )]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line of a CSV file, 1-based row of a Parquet table; 0
        /// for a Parquet table's schema (its column names and types).
        row: u64,
        /// What is wrong.
        problem: String,
    },
    /// A key of `summary.json` is missing, or its value is not what the run
    /// wrote: the position is the key, not a line.
    #[error("{path}: key `{key}`: {problem}; expected the output of `episode-recon reconcile`")]
    Key {
        /// The summary file.
        path: PathBuf,
        /// The dotted key (`money.actual`).
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// The run's files disagree about what the run was, with no one key or
    /// row to blame.
    #[error("{dir}: {problem}; expected the output of `episode-recon reconcile`")]
    Inconsistent {
        /// The run folder.
        dir: PathBuf,
        /// What disagrees.
        problem: String,
    },
}

impl crate::error::Classify for Error {
    /// A run folder read back is input data the user named.
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::Io { source, .. } => ErrorKind::reading(ErrorKind::InputData, source),
            Error::WithoutParquet { .. } => crate::error::WithoutParquet.kind(),
            _ => ErrorKind::InputData,
        }
    }
}

/// One row of an earlier run's `episodes.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorEpisode {
    /// `TYPE:beneficiary:anchor`.
    pub episode_id: String,
    /// Episode type.
    pub episode_type: String,
    /// The beneficiary. The ids are [`Text`], as pricing holds them, so
    /// that an episode's figures share them rather than copy them.
    pub beneficiary_id: Text,
    /// The provider it is attributed to.
    pub provider_id: Text,
    /// The anchor claim.
    pub anchor_claim_id: Text,
    /// Price group.
    pub price_group: String,
    /// First day.
    pub start: Date,
    /// Last day.
    pub end: Date,
    /// Period.
    pub period: String,
    /// What became of it.
    pub status: Status,
    /// Ledger rows.
    pub claim_lines: u64,
    /// Actual spending (0 when canceled).
    pub actual: Money,
    /// Capped spending; `None` when canceled.
    pub capped: Option<Money>,
    /// Effective target, when priced.
    pub target: Option<Money>,
    /// Gain or loss, when priced.
    pub gain_loss: Option<Money>,
    /// Why it was canceled.
    pub cancel: Option<CancelReason>,
    /// Its risk factors and levels, as `risk_levels` wrote them.
    pub risk_levels: Option<Levels>,
}

/// One row of an earlier run's `providers.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorProvider {
    /// The provider.
    pub provider_id: String,
    /// Episode type.
    pub episode_type: String,
    /// Period.
    pub period: String,
    /// Priced episodes.
    pub episodes: u64,
    /// Sum of targets.
    pub target_total: Money,
    /// Sum of actual spending.
    pub actual_total: Money,
    /// Sum of capped spending.
    pub capped_total: Money,
    /// Sum of gains and losses before limits.
    pub gain_loss_total: Money,
    /// `none`, `stop_gain` or `stop_loss`.
    pub limit: String,
    /// What was settled.
    pub reconciliation_amount: Money,
}

/// One row of an earlier run's `participants.csv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorParticipant {
    /// The participant (a provider).
    pub provider_id: String,
    /// Period.
    pub period: String,
    /// Its track that period.
    pub track: String,
    /// Its quality score, as the run wrote it (as read from its
    /// participants file).
    pub quality_score: String,
    /// Priced episodes, all types.
    pub episodes: u64,
    /// Sum of effective targets.
    pub target_total: Money,
    /// Sum of capped spending.
    pub capped_total: Money,
    /// `target_total − capped_total` before the quality adjustment.
    pub reconciliation_amount: Money,
    /// After the quality adjustment.
    pub quality_adjusted_amount: Money,
    /// `none`, `stop_gain` or `stop_loss`.
    pub limit: String,
    /// What was paid (positive) or repaid (negative).
    pub net_payment_reconciliation_amount: Money,
}

/// An earlier run, read back.
#[derive(Clone, Debug)]
pub struct PriorRun {
    /// Its folder.
    pub dir: PathBuf,
    /// Its episodes, as written (sorted by id).
    pub episodes: Vec<PriorEpisode>,
    /// Its provider rows, as written.
    pub providers: Vec<PriorProvider>,
    /// Its `participants.csv` rows, as written; `None` for a run that did
    /// not settle participants. Present exactly when the run's record has
    /// a settlement fingerprint (checked on reading).
    pub participants: Option<Vec<PriorParticipant>>,
    /// What it was made with.
    pub record: RunRecord,
    /// Its summary, as JSON.
    pub summary: serde_json::Value,
    /// Its `--as-of` date, if it had one.
    as_of: Option<Date>,
    /// The sum of its providers' reconciliation amounts (checked on
    /// reading, and equal to its summary's `money.reconciliation`).
    reconciliation: Money,
    /// How its tables were written: exact CSV, or Parquet.
    format: OutputFormat,
}

const EPISODE_COLUMNS: [&str; 19] = [
    "episode_id",
    "episode_type",
    "beneficiary_id",
    "provider_id",
    "anchor_claim_id",
    "price_group",
    "start_date",
    "end_date",
    "period",
    "status",
    "claim_lines",
    "actual_amount",
    "capped_amount",
    "target_amount",
    "gain_loss",
    "cancel_reason",
    "risk_levels",
    "risk_multiplier",
    "target_price",
];

const PROVIDER_COLUMNS: [&str; 10] = [
    "provider_id",
    "episode_type",
    "period",
    "episodes",
    "target_total",
    "actual_total",
    "capped_total",
    "gain_loss_total",
    "limit",
    "reconciliation_amount",
];

const PARTICIPANT_COLUMNS: [&str; 11] = [
    "provider_id",
    "period",
    "track",
    "quality_score",
    "episodes",
    "target_total",
    "capped_total",
    "reconciliation_amount",
    "quality_adjusted_amount",
    "limit",
    "net_payment_reconciliation_amount",
];

/// The first `N` columns asked of `row`, as text borrowed from it: a run's
/// tables are read field by field without a string per field (a reprice
/// reads every episode row, and is meant to cost little).
fn fields<'r, const N: usize>(row: &Row<'r>) -> Result<[&'r str; N], Error> {
    let mut fields = [""; N];
    for (j, field) in fields.iter_mut().enumerate() {
        *field = row.text(j)?;
    }
    Ok(fields)
}

/// One row of a run's table as [`stream_table`] hands it over: the named
/// columns, by their position in the list asked for.
pub struct Row<'r> {
    /// 1-based line where the row starts (of a Parquet table, its 1-based
    /// row).
    pub line: u64,
    path: &'r Path,
    record: &'r Record,
    /// The record's fields as text, validated once for the row (`None`
    /// when it is not UTF-8): a row's dozen reads each validated the
    /// whole record, 11% of a reprice's instructions (callgrind).
    fields: Option<TextFields<'r>>,
    index: &'r [usize],
}

impl<'r> Row<'r> {
    /// Column `j` as text; an error naming the row when it is not UTF-8.
    pub fn text(&self, j: usize) -> Result<&'r str, Error> {
        self.fields
            .as_ref()
            .and_then(|t| t.get(self.index[j]))
            .ok_or_else(|| self.error("not UTF-8".into()))
    }

    /// Column `j`, its bytes that are not UTF-8 replaced: for a field kept
    /// as it was read whatever its bytes (a rejected record).
    pub fn lossy(&self, j: usize) -> std::borrow::Cow<'r, str> {
        String::from_utf8_lossy(self.record.get(self.index[j]).unwrap_or_default())
    }

    /// Column `j` as an amount with two decimals.
    pub fn money(&self, j: usize) -> Result<Money, Error> {
        let text = self.text(j)?;
        Money::parse_total(text.as_bytes())
            .ok_or_else(|| self.error(format!("amount {text:?} does not parse")))
    }

    /// An error in this row.
    pub fn error(&self, problem: String) -> Error {
        Error::Format {
            path: self.path.to_owned(),
            row: self.line,
            problem,
        }
    }
}

/// Where the columns asked of a table are among its fields, found from its
/// header by name: CSV and Parquet tables alike.
struct Positions {
    index: Vec<usize>,
    /// Fields a row needs: one past the last position.
    widest: usize,
}

impl Positions {
    /// The positions of `columns` in `header` (a CSV file's first record,
    /// or a Parquet table's column names at line 0); an error at the
    /// header's line names a missing or repeated column.
    fn of(path: &Path, header: &Record, columns: &[&'static str]) -> Result<Positions, Error> {
        let format = |problem: String| Error::Format {
            path: path.to_owned(),
            row: header.line(),
            problem,
        };
        let found =
            find_columns(header, columns).map_err(|p| format(format!("bad header: {p:?}")))?;
        let index: Vec<usize> = found
            .iter()
            .zip(columns)
            .map(|(i, name)| i.ok_or_else(|| format(format!("missing column `{name}`"))))
            .collect::<Result<_, _>>()?;
        let widest = index.iter().max().map_or(0, |i| i + 1);
        Ok(Positions { index, widest })
    }

    /// `record` as a row; a row with fewer fields than a column asked for
    /// is an error.
    fn row<'r>(&'r self, path: &'r Path, record: &'r Record) -> Result<Row<'r>, Error> {
        if record.len() < self.widest {
            return Err(Error::Format {
                path: path.to_owned(),
                row: record.line(),
                problem: "too few fields".into(),
            });
        }
        Ok(Row {
            line: record.line(),
            path,
            record,
            fields: record.text(),
            index: &self.index,
        })
    }
}

/// Whether `path` is a table written as Parquet: a run names its tables
/// `episodes.parquet` and so on ([`PriorRun::table_path`]).
fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "parquet")
}

/// The fewest bytes a row of `episodes.csv` takes: its nineteen fields'
/// separators and line end, its two ten-character dates, and one
/// character at least in each of the seven fields that always hold one
/// (id, type, beneficiary, provider, period, status, lines).
const EPISODE_ROW_BYTES: u64 = 19 + 2 * 10 + 7;

/// The fewest bytes a row of `providers.csv` takes: its ten fields'
/// separators and line end, a one-character provider, type and count, a
/// year, five amounts of at least `0.00`, and the shortest limit, `none`.
const PROVIDER_ROW_BYTES: u64 = 10 + 3 + 4 + 5 * 4 + 4;

/// How many rows a run's CSV table at `path` can hold at most, its rows
/// taking `row_bytes` at least. 0 for a Parquet table, or a file whose
/// size cannot be read (reading it will say why).
fn rows_at_most(path: &Path, row_bytes: u64) -> usize {
    if is_parquet(path) {
        return 0;
    }
    let bytes = fs::metadata(path).map_or(0, |m| m.len());
    usize::try_from(bytes / row_bytes).unwrap_or(0)
}

/// Reads one table of a run (a CSV file, or a Parquet file when `path`
/// ends in `.parquet`) row by row, handing each row to `each` without
/// keeping it: the ledger of a large run does not fit in memory, and the
/// report reads it this way. A row with fewer fields than a column asked
/// for is an error, before `each` sees it.
pub fn stream_table(
    path: &Path,
    columns: &[&'static str],
    mut each: impl FnMut(Row<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    if is_parquet(path) {
        return stream_parquet(path, columns, each);
    }
    let io_error = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let mut reader = RecordReader::new(BufReader::with_capacity(1 << 20, file));
    let mut record = Record::default();
    if !reader.read(&mut record).map_err(io_error)? {
        return Err(Error::Format {
            path: path.to_owned(),
            row: 1,
            problem: "the file is empty".into(),
        });
    }
    let positions = Positions::of(path, &record, columns)?;
    while reader.read(&mut record).map_err(io_error)? {
        each(positions.row(path, &record)?)?;
    }
    Ok(())
}

/// A Parquet table of a run, opened: its footer read, and the columns
/// asked for found in its schema.
#[cfg(feature = "parquet")]
struct ParquetTable {
    file: crate::input::formats::parquet::ParquetFile,
    table: crate::input::arrow::Table,
    positions: Positions,
}

#[cfg(feature = "parquet")]
impl ParquetTable {
    /// Opens the Parquet table at `path` to read `columns`: a file that is
    /// not Parquet, or whose schema lacks one of them or holds it in a
    /// type no table is read from (floating point), is an error.
    fn open(path: &Path, columns: &[&'static str]) -> Result<ParquetTable, Error> {
        let file = crate::input::formats::parquet::ParquetFile::open(path)
            .map_err(|e| parquet_error(path, e))?;
        let table = crate::input::arrow::Table::of(&file.schema(), |name| columns.contains(&name))
            .map_err(|problem| Error::Format {
                path: path.to_owned(),
                row: 0,
                problem,
            })?;
        let positions = Positions::of(path, &table.header(), columns)?;
        Ok(ParquetTable {
            file,
            table,
            positions,
        })
    }
}

/// The error of a Parquet table of the run at `path` that the Parquet
/// reader could not read.
#[cfg(feature = "parquet")]
fn parquet_error(path: &Path, error: crate::input::claims::Error) -> Error {
    use crate::input::claims;
    use crate::input::formats::ParquetError;
    match error {
        claims::Error::Io { path, source } => Error::Io { path, source },
        claims::Error::Parquet(ParquetError::Unreadable { path, problem }) => {
            Error::Unreadable { path, problem }
        }
        other => Error::Unreadable {
            path: path.to_owned(),
            problem: other.to_string(),
        },
    }
}

/// [`stream_table`] of a Parquet table: each row made the text its CSV
/// file would hold, then read as a CSV row is.
#[cfg(feature = "parquet")]
fn stream_parquet(
    path: &Path,
    columns: &[&'static str],
    mut each: impl FnMut(Row<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    let opened = ParquetTable::open(path, columns)?;
    let positions = &opened.positions;
    opened
        .file
        .each_record(&opened.table, |record| each(positions.row(path, record)?))
        .map_err(|e| parquet_error(path, e))?
}

/// Without the `parquet` feature, a Parquet table is not read
/// ([`PriorRun::load`] refuses its run first).
#[cfg(not(feature = "parquet"))]
fn stream_parquet(
    path: &Path,
    _columns: &[&'static str],
    _each: impl FnMut(Row<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    Err(Error::WithoutParquet {
        dir: path.parent().unwrap_or(path).to_owned(),
    })
}

/// Checks that a table of the run a command copies or streams later (the
/// ledger, the rejects) is there: a CSV file exists; a Parquet file
/// opens, with `columns` in its schema, so that a foreign or damaged
/// file is an input error before anything is written.
fn check_table(path: &Path, columns: &[&'static str]) -> Result<(), Error> {
    #[cfg(feature = "parquet")]
    if is_parquet(path) {
        return ParquetTable::open(path, columns).map(drop);
    }
    let _ = columns;
    std::fs::metadata(path)
        .map(drop)
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })
}

/// How the run in `dir` wrote its tables, as its `summary.json` says:
/// [`Error::ExcelSafe`] when its CSV files were written Excel-safe,
/// [`Error::WithoutParquet`] when its tables are Parquet and this build
/// does not read Parquet. A summary that is missing or not JSON is left
/// for [`PriorRun::load`] to report as it reports any other (the run is
/// taken for CSV until then).
fn run_format(dir: &Path) -> Result<OutputFormat, Error> {
    let csv = OutputFormat::Csv(CsvView::Exact);
    let Ok(text) = std::fs::read_to_string(dir.join("summary.json")) else {
        return Ok(csv);
    };
    let Ok(summary) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Ok(csv);
    };
    if summary["excel_safe"] == serde_json::Value::Bool(true) {
        return Err(Error::ExcelSafe {
            dir: dir.to_owned(),
        });
    }
    if summary["output_format"] == "parquet" {
        if !crate::error::PARQUET {
            return Err(Error::WithoutParquet {
                dir: dir.to_owned(),
            });
        }
        return Ok(OutputFormat::Parquet);
    }
    Ok(csv)
}

/// Parses the fields of one output row, naming the row on failure.
struct RowParser<'a> {
    path: &'a Path,
    row: u64,
}

impl RowParser<'_> {
    fn error(&self, what: &str, value: &str) -> Error {
        Error::Format {
            path: self.path.to_owned(),
            row: self.row,
            problem: format!("{what} {value:?} does not parse"),
        }
    }

    fn money(&self, value: &str) -> Result<Money, Error> {
        Money::parse_total(value.as_bytes()).ok_or_else(|| self.error("amount", value))
    }

    fn optional_money(&self, value: &str) -> Result<Option<Money>, Error> {
        if value.is_empty() {
            Ok(None)
        } else {
            self.money(value).map(Some)
        }
    }

    fn date(&self, value: &str) -> Result<Date, Error> {
        parse_date(value.as_bytes()).ok_or_else(|| self.error("date", value))
    }

    fn count(&self, value: &str) -> Result<u64, Error> {
        value.parse().map_err(|_| self.error("count", value))
    }
}

/// The running total of one amount column of a run's file. Amounts read
/// back have up to 36 digits, so two of them may already exceed an `i128`
/// of cents: the sum is checked, and the row where it stops fitting is an
/// input error rather than a wrapped total.
struct ColumnTotal {
    column: &'static str,
    total: Money,
}

impl ColumnTotal {
    fn new(column: &'static str) -> ColumnTotal {
        ColumnTotal {
            column,
            total: Money::ZERO,
        }
    }

    fn add(&mut self, p: &RowParser<'_>, amount: Money) -> Result<(), Error> {
        self.total = self
            .total
            .checked_add(amount)
            .ok_or_else(|| Error::Format {
                path: p.path.to_owned(),
                row: p.row,
                problem: format!(
                    "column `{}`: the total up to this row is too large (beyond {} dollars)",
                    self.column,
                    Money::from_cents(i128::MAX)
                ),
            })?;
        Ok(())
    }
}

/// RULES 32a, row by row: each priced episode's gain or loss is its target
/// less its capped spending, and each row of `providers.csv` is what the
/// priced episodes of its provider, type and period give (count and
/// totals), its limit and reconciliation what the run's recorded pricing
/// makes of them; no such group lacks its row. The totals the summary
/// states do not see two providers' rows swapped, or an episode's target
/// and gain changed together, which a true-up would then carry into
/// amounts due. `row_of` numbers a table's row from its index. A type
/// whose recorded pricing does not read is not checked for its limits:
/// pricing it again names it (`reprice`'s `BadRecord`).
fn check_rows(
    (episodes_path, episodes): (&Path, &[PriorEpisode]),
    (providers_path, providers): (&Path, &[PriorProvider]),
    record: &RunRecord,
    row_of: impl Fn(usize) -> u64,
) -> Result<(), Error> {
    const EDITED: &str = "the run's files were edited or do not belong together";
    let wrong = |path: &Path, index: usize, problem: String| Error::Format {
        path: path.to_owned(),
        row: row_of(index),
        problem: format!("{problem}: {EDITED}"),
    };
    /// Priced episodes, and the sums of their target, actual, capped and
    /// gain or loss.
    type Group = (u64, [Money; 4]);
    let pricing: BTreeMap<&str, Option<crate::config::definitions::Pricing>> = record
        .definitions
        .iter()
        .map(|t| (t.id.as_str(), t.pricing.to_pricing()))
        .collect();
    // Hashed (as `pricing::reconcile_providers` groups them): the first
    // group left without a row is found by sorting only when one is.
    let mut groups: FxHashMap<(&str, &str, &str), Group> =
        FxHashMap::with_capacity_and_hasher(providers.len(), Default::default());
    for (index, e) in episodes.iter().enumerate() {
        let (Some(target), Some(gain_loss)) = (e.target, e.gain_loss) else {
            continue;
        };
        let capped = e.capped.unwrap_or(e.actual);
        if target.checked_sub(capped) != Some(gain_loss) {
            return Err(wrong(
                episodes_path,
                index,
                format!(
                    "gain_loss {gain_loss} is not target_amount {target} less capped_amount {capped}"
                ),
            ));
        }
        let key = (
            e.provider_id.as_str(),
            e.episode_type.as_str(),
            e.period.as_str(),
        );
        let (count, sums) = groups.entry(key).or_default();
        *count += 1;
        for (sum, amount) in sums.iter_mut().zip([target, e.actual, capped, gain_loss]) {
            // A sum past what an amount holds matches no row.
            *sum = sum
                .checked_add(amount)
                .unwrap_or(Money::from_cents(i128::MAX));
        }
    }
    for (index, p) in providers.iter().enumerate() {
        let key = (
            p.provider_id.as_str(),
            p.episode_type.as_str(),
            p.period.as_str(),
        );
        let stated = (
            p.episodes,
            [
                p.target_total,
                p.actual_total,
                p.capped_total,
                p.gain_loss_total,
            ],
        );
        match groups.remove(&key) {
            Some(given) if given == stated => {}
            given => {
                let (count, [target, actual, capped, gain_loss]) = given.unwrap_or_default();
                return Err(wrong(
                    providers_path,
                    index,
                    format!(
                        "provider {}, episode type {}, period {}: the row is not what episodes.csv gives ({count} priced episode(s), target {target}, actual {actual}, capped {capped}, gain or loss {gain_loss})",
                        p.provider_id, p.episode_type, p.period
                    ),
                ));
            }
        }
        if let Some(Some(pricing)) = pricing.get(p.episode_type.as_str()) {
            let (limit, amount) = crate::engine::pricing::apply_limits(
                p.gain_loss_total,
                p.target_total,
                pricing.stop_gain,
                pricing.stop_loss,
            );
            if limit.name() != p.limit || amount != p.reconciliation_amount {
                return Err(wrong(
                    providers_path,
                    index,
                    format!(
                        "provider {}, episode type {}, period {}: limit {} and reconciliation_amount {} where the run's pricing gives {} and {amount}",
                        p.provider_id,
                        p.episode_type,
                        p.period,
                        p.limit,
                        p.reconciliation_amount,
                        limit.name()
                    ),
                ));
            }
        }
    }
    if let Some(((provider, episode_type, period), (count, _))) =
        groups.into_iter().min_by(|(a, _), (b, _)| a.cmp(b))
    {
        return Err(Error::Format {
            path: providers_path.to_owned(),
            row: row_of(providers.len()),
            problem: format!(
                "no row for provider {provider}, episode type {episode_type}, period {period}, where episodes.csv has {count} priced episode(s): {EDITED}"
            ),
        });
    }
    Ok(())
}

impl PriorRun {
    /// Reads `episodes.csv`, `providers.csv` and `summary.json` of a run
    /// (`episodes.parquet` and `providers.parquet` for a run written as
    /// Parquet, read as the same text).
    ///
    /// Refuses ([`Error::ExcelSafe`]) a run written with `--excel-safe`
    /// before reading any of its rows: stripping the `'` back off would
    /// be a guess (an id may itself start with `'`), and a guessed id
    /// would silently match the wrong episode (RULES 33f). Refuses
    /// ([`Error::WithoutParquet`]) a run whose tables are Parquet when
    /// this build does not read Parquet.
    pub fn load(dir: &Path) -> Result<PriorRun, Error> {
        let format = run_format(dir)?;
        let file_name = |table: &Table| format.file_name(table);
        let episodes_path = dir.join(file_name(&report::EPISODES));
        let mut episodes = Vec::new();
        // Room for every row at once, so the rows read are not copied each
        // time the vector grows (a third of a reprice's page faults).
        // Reserved, not touched: the pages the rows do not fill are never
        // faulted in. Without it, when the memory cannot be reserved, the
        // vector grows as it would have.
        let _ = episodes.try_reserve(rows_at_most(&episodes_path, EPISODE_ROW_BYTES));
        let mut actual_total = ColumnTotal::new("actual_amount");
        let mut capped_total = ColumnTotal::new("capped_amount");
        // Summed by a true-up; checked here so its error names the row.
        let mut gain_loss_total = ColumnTotal::new("gain_loss");
        stream_table(&episodes_path, &EPISODE_COLUMNS, |row| {
            let p = RowParser {
                path: &episodes_path,
                row: row.line,
            };
            let [
                id,
                episode_type,
                beneficiary,
                provider,
                anchor,
                group,
                start,
                end,
                period,
                status,
                lines,
                actual,
                capped,
                target,
                gain_loss,
                cancel_reason,
                risk_levels,
                _risk_multiplier,
                _target_price,
            ] = fields::<19>(&row)?;
            let status = Status::parse(status).ok_or_else(|| p.error("status", status))?;
            let cancel = CancelReason::parse(cancel_reason);
            if cancel.is_some() != (status == Status::Canceled) {
                return Err(p.error("cancel_reason", cancel_reason));
            }
            let risk_levels = match risk_levels {
                "" => None,
                text => Some(risk::parse_levels(text).ok_or_else(|| p.error("risk_levels", text))?),
            };
            let actual = p.optional_money(actual)?.unwrap_or(Money::ZERO);
            let capped = p.optional_money(capped)?;
            let gain_loss = p.optional_money(gain_loss)?;
            actual_total.add(&p, actual)?;
            capped_total.add(&p, capped.unwrap_or(Money::ZERO))?;
            gain_loss_total.add(&p, gain_loss.unwrap_or(Money::ZERO))?;
            episodes.push(PriorEpisode {
                episode_id: id.to_owned(),
                episode_type: episode_type.to_owned(),
                beneficiary_id: Text::from(beneficiary),
                provider_id: Text::from(provider),
                anchor_claim_id: Text::from(anchor),
                price_group: group.to_owned(),
                start: p.date(start)?,
                end: p.date(end)?,
                period: period.to_owned(),
                status,
                claim_lines: p.count(lines)?,
                actual,
                capped,
                target: p.optional_money(target)?,
                gain_loss,
                cancel,
                risk_levels,
            });
            Ok(())
        })?;
        let providers_path = dir.join(file_name(&report::PROVIDERS));
        let mut providers = Vec::new();
        // As for the episodes above.
        let _ = providers.try_reserve(rows_at_most(&providers_path, PROVIDER_ROW_BYTES));
        let mut reconciliation_total = ColumnTotal::new("reconciliation_amount");
        stream_table(&providers_path, &PROVIDER_COLUMNS, |row| {
            let p = RowParser {
                path: &providers_path,
                row: row.line,
            };
            let [
                provider,
                episode_type,
                period,
                count,
                target,
                actual,
                capped,
                gain_loss,
                limit,
                amount,
            ] = fields::<10>(&row)?;
            let reconciliation_amount = p.money(amount)?;
            reconciliation_total.add(&p, reconciliation_amount)?;
            providers.push(PriorProvider {
                provider_id: provider.to_owned(),
                episode_type: episode_type.to_owned(),
                period: period.to_owned(),
                episodes: p.count(count)?,
                target_total: p.money(target)?,
                actual_total: p.money(actual)?,
                capped_total: p.money(capped)?,
                gain_loss_total: p.money(gain_loss)?,
                limit: limit.to_owned(),
                reconciliation_amount,
            });
            Ok(())
        })?;
        let participants_file = file_name(&report::PARTICIPANTS);
        let (participants, net_payment_total) =
            match read_participants(&dir.join(&participants_file))? {
                Some((rows, total)) => (Some(rows), Some(total)),
                None => (None, None),
            };
        let summary_path = dir.join("summary.json");
        let text = std::fs::read_to_string(&summary_path).map_err(|source| Error::Io {
            path: summary_path.clone(),
            source,
        })?;
        let summary: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::Format {
                path: summary_path.clone(),
                row: e.line() as u64,
                problem: format!("not JSON: {e}"),
            })?;
        let record: RunRecord =
            serde_json::from_value(summary["run"].clone()).map_err(|e| Error::Key {
                path: summary_path.clone(),
                key: "run".into(),
                problem: format!("no readable section ({e}); the run predates fingerprints, so run reconcile again"),
            })?;
        const EDITED: &str = "the run's files were edited or do not belong together";
        let inconsistent = |key: &str, problem: String| Error::Key {
            path: summary_path.clone(),
            key: key.into(),
            problem: format!("{problem}: {EDITED}"),
        };
        if !record.is_consistent() {
            return Err(inconsistent(
                "run",
                "the section's fingerprint does not match its episode types".into(),
            ));
        }
        let as_of = match &summary["as_of"] {
            serde_json::Value::Null => None,
            value => Some(
                value
                    .as_str()
                    .and_then(|d| parse_date(d.as_bytes()))
                    .ok_or_else(|| inconsistent("as_of", format!("malformed ({value})")))?,
            ),
        };
        // The figures the summary states must be those of the files beside it.
        let stated = |section: &str, key: &str| summary[section][key].clone();
        let total = |amount: Money| serde_json::Value::from(amount.to_string());
        // A run settles participants exactly when it records a settlement
        // fingerprint and a `participants` section; a folder where the three
        // disagree had a file added or removed by hand.
        let section = &summary["participants"];
        let parts = [
            (participants_file.as_str(), participants.is_some()),
            ("key `participants` of summary.json", !section.is_null()),
            (
                "key `run.settlement_fingerprint` of summary.json",
                record.settlement_fingerprint.is_some(),
            ),
        ];
        if parts.iter().any(|(_, present)| *present != parts[0].1) {
            let list = |present: bool| {
                let names: Vec<&str> = parts
                    .iter()
                    .filter(|(_, p)| *p == present)
                    .map(|(name, _)| *name)
                    .collect();
                names.join(" and ")
            };
            return Err(Error::Inconsistent {
                dir: dir.to_owned(),
                problem: format!(
                    "the run has {} but not {}: {EDITED}",
                    list(true),
                    list(false)
                ),
            });
        }
        let rows = participants.as_deref().unwrap_or_default();
        let outputs = &format!(
            "{} and {} give",
            file_name(&report::EPISODES),
            file_name(&report::PROVIDERS)
        );
        let participants_give = &format!("{participants_file} gives");
        let mut checks = vec![
            (
                "episodes.total",
                stated("episodes", "total"),
                serde_json::Value::from(episodes.len()),
                outputs,
            ),
            (
                "money.actual",
                stated("money", "actual"),
                total(actual_total.total),
                outputs,
            ),
            (
                "money.capped",
                stated("money", "capped"),
                total(capped_total.total),
                outputs,
            ),
            (
                "providers",
                summary["providers"].clone(),
                serde_json::Value::from(providers.len()),
                outputs,
            ),
            (
                "money.reconciliation",
                stated("money", "reconciliation"),
                total(reconciliation_total.total),
                outputs,
            ),
        ];
        if let Some(net_payment_total) = net_payment_total {
            checks.extend([
                (
                    "participants.settled",
                    stated("participants", "settled"),
                    serde_json::Value::from(rows.len()),
                    participants_give,
                ),
                (
                    "participants.net_payment_reconciliation",
                    stated("participants", "net_payment_reconciliation"),
                    total(net_payment_total),
                    participants_give,
                ),
            ]);
        }
        for (key, said, found, source) in checks {
            if said != found {
                return Err(inconsistent(
                    key,
                    format!("says {said} where {source} {found}"),
                ));
            }
        }
        let header_rows = match format {
            OutputFormat::Csv(_) => 2,
            OutputFormat::Parquet => 1,
        };
        check_rows(
            (&episodes_path, &episodes),
            (&providers_path, &providers),
            &record,
            |index| index as u64 + header_rows,
        )?;
        for table in [&report::LEDGER, &report::REJECTS] {
            let columns: Vec<&'static str> = table.columns.iter().map(|(name, _)| *name).collect();
            check_table(&dir.join(file_name(table)), &columns)?;
        }
        Ok(PriorRun {
            dir: dir.to_owned(),
            episodes,
            providers,
            participants,
            record,
            summary,
            as_of,
            reconciliation: reconciliation_total.total,
            format,
        })
    }

    /// How the run's tables were written: exact CSV, or Parquet.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// The file name of the run's `table` (`episodes.csv`, or
    /// `episodes.parquet` for a run written as Parquet).
    pub fn file_name<S>(&self, table: &Table<'_, S>) -> String {
        self.format.file_name(table)
    }

    /// The row number errors give the row at `index` (from 0) of one of
    /// the run's tables: its line in a CSV file (after the header), its
    /// 1-based row in a Parquet table.
    pub fn row_number(&self, index: usize) -> u64 {
        let header = match self.format {
            OutputFormat::Csv(_) => 1,
            OutputFormat::Parquet => 0,
        };
        index as u64 + 1 + header
    }

    /// The file of the run's `table`, which [`stream_table`] reads.
    pub fn table_path<S>(&self, table: &Table<'_, S>) -> PathBuf {
        self.dir.join(self.file_name(table))
    }

    /// The pricing of each of the run's episode types (sorted by id), as
    /// its summary recorded it; `Err` names a type whose record does not
    /// read back.
    pub fn types(&self) -> Result<Vec<TypePricing>, String> {
        self.record
            .definitions
            .iter()
            .map(|t| {
                let pricing = t.pricing.to_pricing().ok_or_else(|| t.id.clone())?;
                Ok(TypePricing {
                    id: t.id.clone(),
                    post_days: t.post_days,
                    pricing,
                })
            })
            .collect()
    }

    /// The episode figures to price again, with each episode's type as an
    /// index into `types` (sorted by id). `None` names a type the run has
    /// that `types` lacks.
    pub fn figures(&self, types: &[TypePricing]) -> Result<Vec<EpisodeFigures>, String> {
        // Filled by a loop, not collected into a `Result`, which cannot
        // know its length and grows the vector by copying it (as in
        // `pricing::price`): a sixth of a reprice's page faults.
        let mut figures = Vec::with_capacity(self.episodes.len());
        for e in &self.episodes {
            let episode_type = types
                .iter()
                .position(|t| t.id == e.episode_type)
                .ok_or_else(|| e.episode_type.clone())?;
            figures.push(EpisodeFigures {
                episode_id: e.episode_id.clone(),
                episode_type,
                beneficiary_id: e.beneficiary_id.clone(),
                provider_id: e.provider_id.clone(),
                anchor_claim_id: e.anchor_claim_id.clone(),
                price_group: e.price_group.clone(),
                start: e.start,
                end: e.end,
                anchor_end: types[episode_type].anchor_end(e.end),
                cancel: e.cancel.clone(),
                risk_levels: e.risk_levels.clone(),
                claim_lines: e.claim_lines,
                actual: e.actual,
            });
        }
        Ok(figures)
    }

    /// The run's accounting, read from its summary: none of it depends on
    /// prices, so a repriced run reports it unchanged.
    pub fn accounting(&self, types: &[TypePricing]) -> Result<Accounting, Error> {
        let path = self.dir.join("summary.json");
        let bad = |key: &str| Error::Key {
            path: path.clone(),
            key: key.into(),
            problem: "missing or malformed".into(),
        };
        let s = &self.summary;
        let count = |section: &str, key: &str| {
            s[section][key]
                .as_u64()
                .ok_or_else(|| bad(&format!("{section}.{key}")))
        };
        let money = |value: &serde_json::Value, key: &str| {
            value
                .as_str()
                .and_then(|t| Money::parse_total(t.as_bytes()))
                .ok_or_else(|| bad(key))
        };
        let tally = |key: &str| -> Result<Tally, Error> {
            Ok(Tally {
                rows: count("rows", key)?,
                amount: money(&s["amounts"][key], key)?,
            })
        };
        let rejected_by_reason = reasons(&s["rejected_by_reason"], bad)?;
        let [read, rejected, after_cutoff, void, superseded, final_action] = [
            "read",
            "rejected",
            "after_cutoff",
            "void",
            "superseded",
            "final_action",
        ]
        .map(tally);
        let (read, rejected, after_cutoff, void, superseded, final_action) = (
            read?,
            rejected?,
            after_cutoff?,
            void?,
            superseded?,
            final_action?,
        );
        // The summary checks that these parts add up to `read`; 36-digit
        // amounts may not fit in their sum, which is an input error here
        // rather than a wrapped total there.
        let parts = [rejected, after_cutoff, void, superseded, final_action];
        if Money::checked_sum(parts.iter().map(|t| t.amount)).is_none() {
            return Err(Error::Key {
                path: path.clone(),
                key: "amounts".into(),
                problem: format!(
                    "the total of rejected, after_cutoff, void, superseded and final_action is too large (beyond {} dollars)",
                    Money::from_cents(i128::MAX)
                ),
            });
        }
        let mut type_tallies = Vec::with_capacity(types.len());
        for t in types {
            let v = &s["episode_types"][t.id.as_str()];
            let key = |k: &str| format!("episode_types.{}.{k}", t.id);
            type_tallies.push(TypeTally {
                triggers_without_provider: v["triggers_without_provider"]
                    .as_u64()
                    .ok_or_else(|| bad(&key("triggers_without_provider")))?,
                lines_in_several_episodes: v["lines_in_several_episodes"]
                    .as_u64()
                    .ok_or_else(|| bad(&key("lines_in_several_episodes")))?,
                outside: money(&v["outside_amount"], &key("outside_amount"))?,
            });
        }
        Ok(Accounting {
            read,
            rejected,
            after_cutoff,
            void,
            superseded,
            final_action,
            rejected_by_reason,
            types: type_tallies,
        })
    }

    /// The run's beneficiaries accounting, read from its summary; `None`
    /// for a run made without `--beneficiaries`.
    pub fn beneficiaries(&self) -> Result<Option<BeneficiaryCounts>, Error> {
        let path = self.dir.join("summary.json");
        let bad = |key: &str| Error::Key {
            path: path.clone(),
            key: format!("beneficiaries.{key}"),
            problem: "missing or malformed".into(),
        };
        let section = &self.summary["beneficiaries"];
        if section.is_null() {
            return Ok(None);
        }
        let count = |key: &str| section[key].as_u64().ok_or_else(|| bad(key));
        Ok(Some(BeneficiaryCounts {
            read: count("read")?,
            accepted: count("accepted")?,
            rejected_by_reason: reasons(&section["rejected_by_reason"], bad)?,
        }))
    }

    /// The warnings the run recorded about its claims (an empty file, a
    /// file skipped as no claims), which a repriced run keeps since it
    /// reads the same claims; warnings about pricing files are left out,
    /// as a reprice takes its pricing files anew. None for a summary
    /// without `warnings` (a run that had none).
    pub fn claims_warnings(&self) -> Result<Vec<Warning>, Error> {
        let section = &self.summary["warnings"];
        if section.is_null() {
            return Ok(Vec::new());
        }
        let bad = |index: usize| Error::Key {
            path: self.dir.join("summary.json"),
            key: format!("warnings.{index}"),
            problem: "expected an object of `kind` (a warning's name), `file` and `detail`".into(),
        };
        let entries = section.as_array().ok_or_else(|| Error::Key {
            path: self.dir.join("summary.json"),
            key: "warnings".into(),
            problem: "expected an array".into(),
        })?;
        let mut warnings = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let text = |key: &str| entry[key].as_str().ok_or_else(|| bad(index));
            let kind = WarningKind::parse(text("kind")?).ok_or_else(|| bad(index))?;
            if !kind.is_about_pricing() {
                warnings.push(Warning {
                    kind,
                    file: text("file")?.to_owned(),
                    detail: text("detail")?.to_owned(),
                });
            }
        }
        Ok(warnings)
    }

    /// What the run settles in all: its providers' reconciliation amounts.
    pub fn reconciliation(&self) -> Money {
        self.reconciliation
    }

    /// The run's `--as-of` date, if it had one.
    pub fn as_of(&self) -> Option<Date> {
        self.as_of
    }
}

/// The rows of a run's participants table at `path` and the total of
/// their net payments (checked, as [`ColumnTotal`] says); `None` when the
/// run has none (it did not settle participants).
fn read_participants(path: &Path) -> Result<Option<(Vec<PriorParticipant>, Money)>, Error> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_owned(),
                source,
            });
        }
        Ok(_) => {}
    }
    let mut participants = Vec::new();
    let mut net_total = ColumnTotal::new("net_payment_reconciliation_amount");
    stream_table(path, &PARTICIPANT_COLUMNS, |row| {
        let p = RowParser {
            path,
            row: row.line,
        };
        let [
            provider_id,
            period,
            track,
            quality_score,
            episodes,
            target_total,
            capped_total,
            reconciliation_amount,
            quality_adjusted_amount,
            limit,
            net,
        ] = fields::<11>(&row)?;
        let net = p.money(net)?;
        net_total.add(&p, net)?;
        participants.push(PriorParticipant {
            provider_id: provider_id.to_owned(),
            period: period.to_owned(),
            track: track.to_owned(),
            quality_score: quality_score.to_owned(),
            episodes: p.count(episodes)?,
            target_total: p.money(target_total)?,
            capped_total: p.money(capped_total)?,
            reconciliation_amount: p.money(reconciliation_amount)?,
            quality_adjusted_amount: p.money(quality_adjusted_amount)?,
            limit: limit.to_owned(),
            net_payment_reconciliation_amount: net,
        });
        Ok(())
    })?;
    Ok(Some((participants, net_total.total)))
}

/// A summary's `rejected_by_reason` object read back; `bad` names a key
/// that is not a reason with a count.
fn reasons(
    value: &serde_json::Value,
    bad: impl Fn(&str) -> Error,
) -> Result<BTreeMap<RejectReason, u64>, Error> {
    let object = value.as_object().ok_or_else(|| bad("rejected_by_reason"))?;
    object
        .iter()
        .map(|(name, n)| {
            let key = format!("rejected_by_reason.{name}");
            let reason = RejectReason::from_name(name).ok_or_else(|| bad(&key))?;
            Ok((reason, n.as_u64().ok_or_else(|| bad(&key))?))
        })
        .collect()
}
