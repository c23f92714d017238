//! Arrow tables as the rows the canonical readers check (feature
//! `parquet`): the one place on the input side that knows Arrow types.
//!
//! A table (a Parquet file's row groups, or any stream of
//! [`RecordBatch`]es a caller holds) has no text of its own, so each of its
//! rows becomes a [`Record`] *made* of its values written as text
//! ([`Rows::record`]), whose raw text is those values joined as a CSV line.
//! The canonical claims checks ([`crate::input::claims`]) and beneficiaries
//! checks then read it as they read a row of the canonical CSV: a value
//! in a Parquet file is accepted or rejected exactly as the same text in a
//! CSV file would be, and the checks exist once (RULES 51).
//!
//! How each Arrow type becomes text (docs/INPUT-FORMATS.md, "Parquet"):
//!
//! | type | text |
//! |---|---|
//! | Utf8, LargeUtf8, Utf8View | as it is (then trimmed, as every field) |
//! | Int8 to Int64, UInt8 to UInt64 | decimal digits |
//! | Decimal32 to Decimal256 | exact, with the column's scale (`12.50`, `-3.000`; a negative scale adds zeros) |
//! | Date32, Date64 | `YYYY-MM-DD` (under `month`, `YYYY-MM` for the first of a month) |
//! | Timestamp | its date, `YYYY-MM-DD`: in its time zone when it has one (UTC or a fixed offset), else as written |
//! | Boolean | `Y` or `N` (the flags' values) |
//! | Null | empty |
//! | Dictionary of any of these | its value |
//!
//! A null is an empty field. The rows hold the columns the engine reads
//! (the contract's, by name), in the table's order; the others are
//! ignored, as a CSV file's extra columns are, and never decoded. A column
//! the engine reads of another type (floating point above all: money is
//! never read from a float) is a fatal error naming it and its type.
//!
//! A Parquet file and a table held in memory ([`BatchStream`]) are read
//! through one path: both are pieces decoded to batches on their own (row
//! groups; slices of the stream's batches), checked in parallel and found
//! again by row for rejects (`Pieces`, `read_claims`, `records_at`), or
//! read back whole in order (`Pieces::each_record`: beneficiaries, and a
//! run's tables written as Parquet).
//!
//! A table's header is its column names, at line 0 (a table has no header
//! row, so header errors name its `schema`); its data rows are numbered
//! from 1, the first row of the table, and their offset is the row's
//! 0-based index, by which it is found again.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use arrow_array::cast::AsArray;
use arrow_array::temporal_conversions::{as_datetime, date32_to_datetime, date64_to_datetime};
use arrow_array::timezone::Tz;
use arrow_array::types::{
    ArrowTimestampType, Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type, DecimalType,
    Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray, RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, Schema, SchemaRef, TimeUnit};
use chrono::{Datelike, NaiveDate, Offset, TimeZone, Utc};

use crate::input::claim_rows::RowChecks;
use crate::input::claims::{self, Header, RowChecker};
use crate::input::driver::{self, Piece, Reading};
use crate::input::records::{Record, trim_str};
use crate::model::outcome::RowView;
use crate::model::{IsoDate, parse_date};

/// The column whose dates are months (contract 1.5): a date there is
/// written `YYYY-MM` when it is the first of its month.
const MONTH_COLUMN: &str = "month";

/// What becomes of a table's columns: the ones whose values make a row's
/// fields, in the table's order.
#[derive(Clone, Debug)]
pub struct Table {
    /// Each field's column: its index in the batches and its name.
    columns: Vec<(usize, String)>,
}

impl Table {
    /// The columns of `schema` that make a row's fields: those the engine
    /// reads, as `read` says of their names (trimmed, as a header's are),
    /// in the schema's order. One of a type the engine does not read is an
    /// error saying the column, its type and what was expected, to put
    /// after the table's name.
    pub fn of(schema: &Schema, read: impl Fn(&str) -> bool) -> Result<Table, String> {
        let mut columns = Vec::new();
        for (index, field) in schema.fields().iter().enumerate() {
            let name = field.name();
            if !read(trim_str(name)) {
                continue;
            }
            if let Some(why) = refusal(field.data_type()) {
                return Err(format!(
                    "column `{}` is {}{why}; expected text, an integer, a decimal, a date, a timestamp or a boolean",
                    trim_str(name),
                    field.data_type()
                ));
            }
            columns.push((index, name.clone()));
        }
        Ok(Table { columns })
    }

    /// The schema indices of the columns the rows hold, in order: the
    /// projection a columnar file decodes.
    pub fn indices(&self) -> Vec<usize> {
        self.columns.iter().map(|(index, _)| *index).collect()
    }

    /// This table for batches holding only its columns, in order (read
    /// with the projection [`Table::indices`]).
    pub fn projected(&self) -> Table {
        let columns = self.columns.iter().map(|(_, name)| name.clone());
        Table {
            columns: columns.enumerate().collect(),
        }
    }

    /// The table's header: its column names as a record at line 0.
    pub fn header(&self) -> Record {
        let mut record = Record::default();
        record.start_made(0, 0);
        for (_, name) in &self.columns {
            record.push_made(name.as_bytes());
        }
        record
    }

    /// The rows of `batch` (a batch of a table of this schema), ready to
    /// be made into records.
    pub fn rows<'b>(&self, batch: &'b RecordBatch) -> Rows<'b> {
        let cells = self
            .columns
            .iter()
            .map(|(index, name)| {
                let array = batch.column(*index).as_ref();
                (array, writer(array, trim_str(name) == MONTH_COLUMN))
            })
            .collect();
        Rows {
            cells,
            text: Vec::new(),
        }
    }
}

/// Why the engine does not read a column of `data_type` (with the text to
/// put after the type in the error), or `None` when it does.
fn refusal(data_type: &DataType) -> Option<String> {
    use DataType::*;
    match data_type {
        Utf8 | LargeUtf8 | Utf8View | Boolean | Null | Date32 | Date64 => None,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => None,
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => None,
        Timestamp(_, None) => None,
        Timestamp(_, Some(zone)) => match offset_of(zone) {
            Some(_) => None,
            None => Some(format!(
                ": a timestamp is read as its date, in UTC or a fixed offset (+05:00), and the time zone {zone:?} is neither (cast the column to a date)"
            )),
        },
        Dictionary(_, values) => refusal(values).map(|why| format!(" (its values){why}")),
        Float16 | Float32 | Float64 => Some(
            ": money and codes are never read from floating point (cast the column to a decimal or to text)"
                .to_owned(),
        ),
        _ => Some(", which the engine does not read".to_owned()),
    }
}

/// The fixed offset of a timestamp's time zone: UTC by any of its usual
/// names, or an offset such as `+05:00` (named zones would need the time
/// zone database, which the engine does not ship).
fn offset_of(zone: &str) -> Option<chrono::FixedOffset> {
    if ["UTC", "Z", "GMT", "Etc/UTC"]
        .iter()
        .any(|utc| zone.eq_ignore_ascii_case(utc))
    {
        return Some(Utc.fix());
    }
    let tz: Tz = zone.parse().ok()?;
    Some(tz.offset_from_utc_date(&NaiveDate::MIN).fix())
}

/// Writes the value at a row of one column (known not null) as text.
type CellWriter<'b> = Box<dyn Fn(usize, &mut Vec<u8>) + 'b>;

/// The writer of `array`'s values (of a type [`refusal`] accepts);
/// `month` for the months column, whose dates are written as months.
fn writer(array: &dyn Array, month: bool) -> CellWriter<'_> {
    use DataType::*;
    match array.data_type() {
        Utf8 => {
            let a = array.as_string::<i32>();
            Box::new(move |i, out| out.extend_from_slice(a.value(i).as_bytes()))
        }
        LargeUtf8 => {
            let a = array.as_string::<i64>();
            Box::new(move |i, out| out.extend_from_slice(a.value(i).as_bytes()))
        }
        Utf8View => {
            let a = array.as_string_view();
            Box::new(move |i, out| out.extend_from_slice(a.value(i).as_bytes()))
        }
        Boolean => {
            let a = array.as_boolean();
            Box::new(move |i, out| out.push(if a.value(i) { b'Y' } else { b'N' }))
        }
        Int8 => integers::<Int8Type>(array),
        Int16 => integers::<Int16Type>(array),
        Int32 => integers::<Int32Type>(array),
        Int64 => integers::<Int64Type>(array),
        UInt8 => integers::<UInt8Type>(array),
        UInt16 => integers::<UInt16Type>(array),
        UInt32 => integers::<UInt32Type>(array),
        UInt64 => integers::<UInt64Type>(array),
        Decimal32(_, scale) => decimals::<Decimal32Type>(array, *scale),
        Decimal64(_, scale) => decimals::<Decimal64Type>(array, *scale),
        Decimal128(_, scale) => decimals::<Decimal128Type>(array, *scale),
        Decimal256(_, scale) => decimals::<Decimal256Type>(array, *scale),
        Date32 => {
            let a = array.as_primitive::<arrow_array::types::Date32Type>();
            dates(month, move |i| {
                let days = a.value(i);
                (i64::from(days), date32_to_datetime(days).map(|t| t.date()))
            })
        }
        Date64 => {
            let a = array.as_primitive::<arrow_array::types::Date64Type>();
            dates(month, move |i| {
                let millis = a.value(i);
                (millis, date64_to_datetime(millis).map(|t| t.date()))
            })
        }
        Timestamp(unit, zone) => {
            // A time zone [`refusal`] accepted has an offset; none is the
            // wall clock as written.
            let offset = zone.as_deref().and_then(offset_of).unwrap_or(Utc.fix());
            match unit {
                TimeUnit::Second => timestamps::<TimestampSecondType>(array, offset, month),
                TimeUnit::Millisecond => {
                    timestamps::<TimestampMillisecondType>(array, offset, month)
                }
                TimeUnit::Microsecond => {
                    timestamps::<TimestampMicrosecondType>(array, offset, month)
                }
                TimeUnit::Nanosecond => timestamps::<TimestampNanosecondType>(array, offset, month),
            }
        }
        Dictionary(..) => match array.as_any_dictionary_opt() {
            Some(dictionary) => {
                let keys = dictionary.normalized_keys();
                let values = dictionary.values().as_ref();
                let value = writer(values, month);
                Box::new(move |i, out| {
                    if let Some(&key) = keys.get(i)
                        && values.is_valid(key)
                    {
                        value(key, out);
                    }
                })
            }
            None => Box::new(|_, _| {}),
        },
        // Null, and no other type reaches here ([`refusal`] left it out).
        _ => Box::new(|_, _| {}),
    }
}

fn integers<T: ArrowPrimitiveType>(array: &dyn Array) -> CellWriter<'_>
where
    T::Native: std::fmt::Display,
{
    let a: &PrimitiveArray<T> = array.as_primitive::<T>();
    Box::new(move |i, out| {
        // Writing into a `Vec` cannot fail.
        let _ = write!(out, "{}", a.value(i));
    })
}

/// Decimals written exactly: the unscaled digits with the point `scale`
/// places from the right (zeros added for a negative scale).
fn decimals<T: DecimalType>(array: &dyn Array, scale: i8) -> CellWriter<'_>
where
    T::Native: std::fmt::Display,
{
    let a: &PrimitiveArray<T> = array.as_primitive::<T>();
    Box::new(move |i, out| write_decimal(&a.value(i).to_string(), scale, out))
}

/// `unscaled` (an integer's digits, with its sign) divided by ten to the
/// `scale`, written exactly: `1250` at scale 2 is `12.50`, `-5` at scale 3
/// is `-0.005`, `7` at scale -2 is `700`.
fn write_decimal(unscaled: &str, scale: i8, out: &mut Vec<u8>) {
    let (sign, digits) = match unscaled.strip_prefix('-') {
        Some(digits) => ("-", digits),
        None => ("", unscaled),
    };
    out.extend_from_slice(sign.as_bytes());
    let places = usize::from(scale.unsigned_abs());
    if scale <= 0 {
        out.extend_from_slice(digits.as_bytes());
        if digits != "0" {
            out.resize(out.len() + places, b'0');
        }
        return;
    }
    if digits.len() <= places {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + places - digits.len(), b'0');
        out.extend_from_slice(digits.as_bytes());
    } else {
        let (whole, fraction) = digits.split_at(digits.len() - places);
        out.extend_from_slice(whole.as_bytes());
        out.push(b'.');
        out.extend_from_slice(fraction.as_bytes());
    }
}

fn timestamps<T: ArrowTimestampType>(
    array: &dyn Array,
    offset: chrono::FixedOffset,
    month: bool,
) -> CellWriter<'_> {
    let a: &PrimitiveArray<T> = array.as_primitive::<T>();
    dates(month, move |i| {
        let value = a.value(i);
        let utc = as_datetime::<T>(value);
        (
            value,
            utc.map(|utc| offset.from_utc_datetime(&utc).date_naive()),
        )
    })
}

/// Writes the date `date` gives for a row (with the value it stands for):
/// `YYYY-MM-DD`, or for the months column `YYYY-MM` when it is the first
/// of its month (any other day is written whole, so the month check
/// rejects it rather than guess which month was meant). A value too far
/// from today for a calendar (beyond 262,000 years) is written as its
/// number, which no date check reads as a date: the row is `bad_date`
/// and its record shows what the file held.
fn dates<'b>(month: bool, date: impl Fn(usize) -> (i64, Option<NaiveDate>) + 'b) -> CellWriter<'b> {
    Box::new(move |i, out| {
        let _ = match date(i) {
            (_, Some(day)) if month && day.day() == 1 => {
                write!(out, "{:04}-{:02}", day.year(), day.month())
            }
            (_, Some(day)) => write!(out, "{}", IsoDate(day)),
            (value, None) => write!(out, "{value}"),
        };
    })
}

/// The rows of one batch of a table, each made into a [`Record`] in turn.
pub struct Rows<'b> {
    cells: Vec<(&'b dyn Array, CellWriter<'b>)>,
    /// One value's text, reused.
    text: Vec<u8>,
}

impl Rows<'_> {
    /// Makes `record` of the batch's row `row`, numbered `line` at
    /// `offset` (for a table's row `i` counted from 0: line `i + 1`,
    /// offset `i`). A null is an empty field.
    pub fn record(&mut self, row: usize, line: u64, offset: u64, record: &mut Record) {
        record.start_made(line, offset);
        for (array, write) in &self.cells {
            self.text.clear();
            if array.is_valid(row) {
                write(row, &mut self.text);
            }
            record.push_made(&self.text);
        }
    }
}

/// Each row of `batch` as a record, in order, to `each`: the batch's rows
/// are the table's from `first_row` (0-based) on.
pub fn each_record(
    table: &Table,
    batch: &RecordBatch,
    first_row: u64,
    mut each: impl FnMut(&Record),
) {
    let infallible = try_each_record(table, batch, first_row, |record| {
        each(record);
        Ok::<(), std::convert::Infallible>(())
    });
    let Ok(()) = infallible;
}

/// [`each_record`] until `each` fails, with its error.
pub fn try_each_record<E>(
    table: &Table,
    batch: &RecordBatch,
    first_row: u64,
    mut each: impl FnMut(&Record) -> Result<(), E>,
) -> Result<(), E> {
    let mut rows = table.rows(batch);
    let mut record = Record::default();
    for (row, index) in (0..batch.num_rows()).zip(first_row..) {
        rows.record(row, index + 1, index, &mut record);
        each(&record)?;
    }
    Ok(())
}

/// A table of claims lines: its fields and its header resolved as the
/// canonical CSV's (contract 1.1: columns by name, extra ones ignored).
#[derive(Debug)]
pub struct ClaimsTable {
    table: Table,
    header: Header,
}

impl ClaimsTable {
    /// The claims table of `schema`, named `name` in errors: a claims
    /// column of a type the engine does not read, a missing required
    /// column or one named twice is a fatal error.
    pub fn of(schema: &Schema, name: &Path) -> Result<ClaimsTable, claims::Error> {
        let table =
            Table::of(schema, claims::is_column).map_err(|problem| claims::Error::ColumnType {
                path: name.to_owned(),
                problem,
            })?;
        let header = Header::resolve(&table.header(), name)?;
        Ok(ClaimsTable { table, header })
    }

    /// The outcome of each row of `batch`, to `sink` in order: the rows
    /// are the table's from `first_row` (0-based), checked with `checks`
    /// (fresh per batch or per run of batches: no check spans rows).
    pub(crate) fn check(
        &self,
        batch: &RecordBatch,
        first_row: u64,
        checks: RowChecks,
        sink: &mut dyn FnMut(RowView<'_>),
    ) {
        let mut checker = RowChecker::new(&self.header, checks);
        each_record(&self.table, batch, first_row, |record| {
            sink(checker.check(record));
        });
    }

    /// The fields of the table's rows.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// This table for batches holding only its columns, in order
    /// ([`Table::projected`]).
    pub fn projected(&self) -> ClaimsTable {
        ClaimsTable {
            table: self.table.projected(),
            header: self.header.clone(),
        }
    }
}

/// A table read in pieces, each decoded and checked on its own: a Parquet
/// file's row groups ([`crate::input::formats::parquet`]) or the batches
/// of a table a caller holds in memory ([`BatchStream`]). Claims
/// ([`read_claims`]) and beneficiaries are read through it, and their
/// rejected rows found again through it ([`records_at`]), so a Parquet file
/// and a table in memory are one path from their batches on.
pub(crate) trait Pieces: Sync {
    /// What is decoded and checked on its own.
    type Piece: TablePiece;

    /// The input as given, in errors and in rejects.
    fn name(&self) -> &Path;

    /// The table's columns and their types.
    fn schema(&self) -> SchemaRef;

    /// The pieces, in order, for the columns of `table` (the same `table`
    /// on every call: a table in memory keeps those columns of the batches
    /// it read, to find its rows again).
    fn pieces(&self, table: &Table) -> Result<PieceIter<'_, Self::Piece>, claims::Error>;

    /// The batches of `piece`, holding the columns of `table` only (in its
    /// order: read with [`Table::projected`]), each with its first row
    /// (0-based) in the table, decoded as they are asked for.
    fn batches(&self, piece: &Self::Piece, table: &Table) -> Result<Batches<'_>, claims::Error>;

    /// Hands each row of the table, made a record of `table`'s columns
    /// (its values as the CSV text they stand for), to `each` in order,
    /// numbered from 1 (a table has no header row), until `each` fails: a
    /// table read whole, one piece after the other (a table of
    /// beneficiaries; a run's outputs, which the commands that work from
    /// runs read as they read its CSV files). `Err` is the table that
    /// could not be read, `Ok(Err)` the error `each` stopped at.
    fn each_record<E>(
        &self,
        table: &Table,
        mut each: impl FnMut(&Record) -> Result<(), E>,
    ) -> Result<Result<(), E>, claims::Error> {
        let projected = table.projected();
        for piece in self.pieces(table)? {
            for batch in self.batches(&piece?, table)? {
                let (batch, first_row) = batch?;
                if let Err(e) = try_each_record(&projected, &batch, first_row, &mut each) {
                    return Ok(Err(e));
                }
            }
        }
        Ok(Ok(()))
    }
}

/// The pieces of a [`Pieces`] table, in order.
pub(crate) type PieceIter<'a, P> = Box<dyn Iterator<Item = Result<P, claims::Error>> + 'a>;

/// The batches of a piece of a [`Pieces`] table, each with its first row
/// (0-based) in the table.
pub(crate) type Batches<'a> =
    Box<dyn Iterator<Item = Result<(RecordBatch, u64), claims::Error>> + 'a>;

/// A piece of a [`Pieces`] table.
pub(crate) trait TablePiece: Piece + Send {
    /// Its rows in the table, 0-based.
    fn rows(&self) -> Range<u64>;
}

/// Reads the claims lines of a table with the accumulator protocol of
/// [`crate::input::formats::ClaimsFormat::read_chunked`]: its pieces
/// decoded and checked in parallel on the current rayon pool,
/// `reading.chunking.batch` at a time, and merged in order with their size.
pub(crate) fn read_claims<P: Pieces, T: Send, E: From<claims::Error>>(
    input: &P,
    reading: Reading,
    init: impl Fn() -> T + Sync,
    fold: impl Fn(&mut T, RowView<'_>) + Sync,
    merge: impl FnMut(T, u64) -> Result<(), E>,
) -> Result<(), E> {
    let claims = ClaimsTable::of(&input.schema(), input.name())?;
    let projected = claims.projected();
    driver::run_batches(
        input.pieces(claims.table())?,
        reading.chunking.batch,
        |piece| {
            let mut acc = init();
            for batch in input.batches(piece, claims.table())? {
                let (batch, first_row) = batch?;
                let checks = RowChecks::new(reading.file, reading.as_of, parse_date);
                projected.check(&batch, first_row, checks, &mut |o| fold(&mut acc, o));
            }
            Ok(acc)
        },
        |_| Ok(()),
        |acc| acc,
        merge,
    )
}

/// The raw text of claims rows `rows` (`(row, offset)`, sorted) of a
/// table: their values as the reader made them, found by their offset (the
/// row's 0-based index).
pub(crate) fn claims_records<P: Pieces>(
    input: &P,
    rows: &[(u64, u64)],
) -> Result<Vec<Box<[u8]>>, claims::Error> {
    let claims = ClaimsTable::of(&input.schema(), input.name())?;
    let offsets: Vec<u64> = rows.iter().map(|&(_, offset)| offset).collect();
    records_at(input, claims.table(), &offsets)
}

/// The records of rows `offsets` (0-based, sorted) of a table, as the
/// columns of `table` make them, by reading again the pieces that hold
/// them.
pub(crate) fn records_at<P: Pieces>(
    input: &P,
    table: &Table,
    offsets: &[u64],
) -> Result<Vec<Box<[u8]>>, claims::Error> {
    let mut out: Vec<Box<[u8]>> = Vec::with_capacity(offsets.len());
    let projected = table.projected();
    let mut wanted = offsets.iter().copied().peekable();
    for piece in input.pieces(table)? {
        let piece = piece?;
        if wanted.peek().is_none() {
            break;
        }
        if wanted.peek().is_some_and(|&row| row >= piece.rows().end) {
            continue;
        }
        for batch in input.batches(&piece, table)? {
            let (batch, first_row) = batch?;
            let batch_end = first_row + batch.num_rows() as u64;
            let mut rows = projected.rows(&batch);
            let mut record = Record::default();
            while let Some(row) = wanted.next_if(|&row| row < batch_end) {
                // Offsets are sorted and past every earlier batch.
                let at = usize::try_from(row.saturating_sub(first_row)).unwrap_or_default();
                rows.record(at, row + 1, row, &mut record);
                out.push(record.raw().into());
            }
        }
    }
    // Rows past the end (a file changed since it was read) have no text.
    out.resize(offsets.len(), Box::default());
    Ok(out)
}

/// Rows per piece of a table held in memory: a longer batch (a table made
/// in one piece) is checked as slices of this many rows, in parallel, as a
/// Parquet file's row groups are.
const PIECE_ROWS: usize = 1 << 16;

/// A table a caller holds in memory (a Python table handed over through
/// the Arrow C stream interface), read once as the stream of record
/// batches it is, batch by batch: the table is never gathered whole.
///
/// Its rows have no text to read again, so the batches read are kept (the
/// columns read only: a projection, which shares the caller's buffers
/// rather than copying them) until the reading is over, for the rows only
/// the version checks reject, as a stream's bytes are kept in a spool
/// ([`crate::input::source`]). For a table already in memory (pyarrow,
/// polars) that costs nothing; for a stream that makes its batches as it
/// goes (a DuckDB query), it holds those columns of the table.
pub struct BatchStream {
    name: PathBuf,
    schema: SchemaRef,
    /// The batches not read yet; `None` once reading started.
    unread: Mutex<Option<Box<dyn RecordBatchReader + Send>>>,
    /// The slices read so far, in order.
    kept: Mutex<Vec<Slice>>,
}

impl std::fmt::Debug for BatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchStream")
            .field("name", &self.name)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl BatchStream {
    /// The table whose batches `batches` yields, named `name` in errors
    /// and rejects (it has no path: `<claims table>`).
    pub fn new(
        name: impl Into<PathBuf>,
        batches: Box<dyn RecordBatchReader + Send>,
    ) -> BatchStream {
        BatchStream {
            name: name.into(),
            schema: batches.schema(),
            unread: Mutex::new(Some(batches)),
            kept: Mutex::new(Vec::new()),
        }
    }

    /// The name the table goes by.
    pub fn name(&self) -> &Path {
        &self.name
    }

    /// A batch of the stream cut into slices of at most [`PIECE_ROWS`]
    /// rows, the first at row `first_row`, each kept.
    fn slices(&self, batch: &RecordBatch, first_row: u64) -> Vec<Result<Slice, claims::Error>> {
        let rows = batch.num_rows();
        let bytes = batch.get_array_memory_size() as u64;
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::with_capacity(rows.div_ceil(PIECE_ROWS));
        for start in (0..rows).step_by(PIECE_ROWS) {
            let length = PIECE_ROWS.min(rows - start);
            let slice = Slice {
                batch: batch.slice(start, length),
                first_row: first_row + start as u64,
                // The slice's share of the batch, for progress.
                bytes: bytes.saturating_mul(length as u64) / rows as u64,
            };
            kept.push(slice.clone());
            out.push(Ok(slice));
        }
        out
    }
}

/// Rows of a batch of a [`BatchStream`], with their place in the table.
#[derive(Clone, Debug)]
pub(crate) struct Slice {
    batch: RecordBatch,
    first_row: u64,
    bytes: u64,
}

impl Piece for Slice {
    fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl TablePiece for Slice {
    fn rows(&self) -> Range<u64> {
        self.first_row..self.first_row + self.batch.num_rows() as u64
    }
}

impl Pieces for BatchStream {
    type Piece = Slice;

    fn name(&self) -> &Path {
        &self.name
    }

    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The stream's batches, the first time (kept as they are read); the
    /// slices kept, after.
    fn pieces(&self, table: &Table) -> Result<PieceIter<'_, Slice>, claims::Error> {
        let unread = self
            .unread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(batches) = unread else {
            let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
            return Ok(Box::new(kept.clone().into_iter().map(Ok)));
        };
        let columns = table.indices();
        let mut next_row = 0u64;
        Ok(Box::new(batches.flat_map(move |batch| {
            match batch.and_then(|batch| batch.project(&columns)) {
                Ok(batch) => {
                    let first_row = next_row;
                    next_row += batch.num_rows() as u64;
                    self.slices(&batch, first_row)
                }
                Err(e) => vec![Err(claims::Error::from(
                    crate::input::formats::ParquetError::Stream {
                        name: self.name.clone(),
                        problem: e.to_string(),
                    },
                ))],
            }
        })))
    }

    /// The slice, whose batch holds the columns read already.
    fn batches(&self, piece: &Slice, _table: &Table) -> Result<Batches<'_>, claims::Error> {
        Ok(Box::new(std::iter::once(Ok((
            piece.batch.clone(),
            piece.first_row,
        )))))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::model::outcome::{RowOutcome, keep_owned};

    use arrow_array::builder::{Decimal128Builder, StringDictionaryBuilder};
    use arrow_array::types::Int32Type as Key;
    use arrow_array::{
        ArrayRef, BooleanArray, Date32Array, Date64Array, Float64Array, Int64Array,
        LargeStringArray, NullArray, RecordBatchIterator, StringArray, StringViewArray,
        TimestampSecondArray, UInt64Array,
    };
    use arrow_schema::Field;

    use super::*;

    fn table_of(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    /// Every row of `batch` as its fields and raw text.
    fn rendered(batch: &RecordBatch) -> Vec<(Vec<String>, String)> {
        let table = Table::of(&batch.schema(), |_| true).unwrap();
        let mut out = Vec::new();
        each_record(&table, batch, 0, |record| {
            let fields = record
                .iter()
                .map(|f| String::from_utf8(f.to_vec()).unwrap())
                .collect();
            out.push((fields, String::from_utf8(record.raw().to_vec()).unwrap()));
        });
        out
    }

    /// Batches read as one table: rows numbered across them from 1, each
    /// checked as the canonical CSV checks it, whatever the batch size.
    #[test]
    fn batches_are_read_as_one_table_numbered_across_batches() {
        let batch = |ids: &[&str], amounts: &[&str]| {
            let n = ids.len();
            table_of(vec![
                (
                    "claim_id",
                    Arc::new(StringArray::from(ids.to_vec())) as ArrayRef,
                ),
                ("line_number", Arc::new(Int64Array::from(vec![1; n]))),
                ("beneficiary_id", Arc::new(StringArray::from(vec!["B1"; n]))),
                ("claim_type", Arc::new(StringArray::from(vec!["PB"; n]))),
                ("from_date", Arc::new(Date32Array::from(vec![20514; n]))),
                ("thru_date", Arc::new(Date32Array::from(vec![20514; n]))),
                (
                    "allowed_amount",
                    Arc::new(StringArray::from(amounts.to_vec())),
                ),
            ])
        };
        let batches = [
            batch(&["C1", "C2"], &["1.00", "x"]),
            batch(&["C3"], &["2.50"]),
        ];
        let schema = batches[0].schema();
        for batch_size in [1, 4] {
            let reading = Reading {
                file: 0,
                as_of: None,
                chunking: crate::input::Chunking {
                    chunk_bytes: 1,
                    batch: batch_size,
                },
            };
            let mut outcomes = Vec::new();
            let merge = |mut chunk: Vec<RowOutcome>, _| {
                outcomes.append(&mut chunk);
                Ok::<(), claims::Error>(())
            };
            let input = RecordBatchIterator::new(batches.clone().map(Ok), schema.clone());
            let stream = BatchStream::new("<claims table>", Box::new(input));
            read_claims(&stream, reading, Vec::new, keep_owned, merge).unwrap();
            let seen: Vec<(u64, &str)> = outcomes
                .iter()
                .map(|o| match o {
                    RowOutcome::Line(line) => (line.source.row, "line"),
                    RowOutcome::Rejected(r) => (r.source.row, r.reason.name()),
                    RowOutcome::AfterCutoff { .. } => (0, "after_cutoff"),
                })
                .collect();
            assert_eq!(seen, [(1, "line"), (2, "bad_amount"), (3, "line")]);
            let RowOutcome::Rejected(reject) = &outcomes[1] else {
                unreachable!()
            };
            assert_eq!(&*reject.raw, b"C2,1,B1,PB,2026-03-02,2026-03-02,x");
            assert_eq!(reject.source.offset, 1);
            // Read once, its rows are found again from the batches kept.
            let again = claims_records(&stream, &[(2, 1), (3, 2)]).unwrap();
            assert_eq!(
                again,
                [
                    b"C2,1,B1,PB,2026-03-02,2026-03-02,x".as_slice().into(),
                    b"C3,1,B1,PB,2026-03-02,2026-03-02,2.50".as_slice().into()
                ]
            );
        }
    }

    /// A batch longer than a piece is checked in slices, numbered on from
    /// one to the next; the columns the engine does not read are dropped
    /// (a float among them), and every row is found again.
    #[test]
    fn a_long_batch_is_read_in_slices_without_its_other_columns() {
        let n = PIECE_ROWS * 2 + 3;
        let ids: Vec<String> = (0..n).map(|i| format!("C{i}")).collect();
        let amounts: Vec<&str> = (0..n)
            .map(|i| if i == n - 2 { "x" } else { "1.00" })
            .collect();
        let batch = table_of(vec![
            ("claim_id", Arc::new(StringArray::from(ids)) as ArrayRef),
            ("paid", Arc::new(Float64Array::from(vec![0.5; n]))),
            ("line_number", Arc::new(Int64Array::from(vec![1; n]))),
            ("beneficiary_id", Arc::new(StringArray::from(vec!["B1"; n]))),
            ("claim_type", Arc::new(StringArray::from(vec!["PB"; n]))),
            ("from_date", Arc::new(Date32Array::from(vec![20514; n]))),
            ("thru_date", Arc::new(Date32Array::from(vec![20514; n]))),
            ("allowed_amount", Arc::new(StringArray::from(amounts))),
        ]);
        let schema = batch.schema();
        let input = RecordBatchIterator::new([Ok(batch)], schema);
        let stream = BatchStream::new("<claims table>", Box::new(input));
        let reading = Reading {
            file: 0,
            as_of: None,
            chunking: crate::input::Chunking {
                chunk_bytes: 1,
                batch: 2,
            },
        };
        let mut pieces = Vec::new();
        let merge = |chunk: Vec<RowOutcome>, _| {
            pieces.push(chunk);
            Ok::<(), claims::Error>(())
        };
        read_claims(&stream, reading, Vec::new, keep_owned, merge).unwrap();
        let sizes: Vec<usize> = pieces.iter().map(Vec::len).collect();
        assert_eq!(sizes, [PIECE_ROWS, PIECE_ROWS, 3]);
        let rows: Vec<u64> = pieces
            .iter()
            .flatten()
            .map(|o| match o {
                RowOutcome::Line(line) => line.source.row,
                RowOutcome::Rejected(r) => r.source.row,
                RowOutcome::AfterCutoff { .. } => 0,
            })
            .collect();
        assert_eq!(rows, (1..=n as u64).collect::<Vec<_>>());
        let RowOutcome::Rejected(reject) = &pieces[2][1] else {
            panic!("row {} is rejected", n - 1)
        };
        assert_eq!(reject.source.row, n as u64 - 1);
        let last = n as u64 - 1;
        let again = claims_records(&stream, &[(1, 0), (last, last - 1), (last + 1, last)]);
        let again: Vec<String> = again
            .unwrap()
            .iter()
            .map(|r| String::from_utf8(r.to_vec()).unwrap())
            .collect();
        let line = |i: usize, amount: &str| format!("C{i},1,B1,PB,2026-03-02,2026-03-02,{amount}");
        assert_eq!(
            again,
            [line(0, "1.00"), line(n - 2, "x"), line(n - 1, "1.00")]
        );
    }

    #[test]
    fn decimals_are_written_exactly_at_their_scale() {
        let cases = [
            ("1250", 2, "12.50"),
            ("-1250", 2, "-12.50"),
            ("5", 3, "0.005"),
            ("-5", 3, "-0.005"),
            ("0", 2, "0.00"),
            ("7", 0, "7"),
            ("7", -2, "700"),
            ("0", -2, "0"),
            (
                "123456789012345678901234567890123456",
                2,
                "1234567890123456789012345678901234.56",
            ),
        ];
        for (unscaled, scale, text) in cases {
            let mut out = Vec::new();
            write_decimal(unscaled, scale, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                text,
                "{unscaled} at {scale}"
            );
        }
    }

    #[test]
    fn each_type_is_written_as_its_text_and_a_null_is_empty() {
        let mut amounts = Decimal128Builder::new()
            .with_precision_and_scale(12, 2)
            .unwrap();
        amounts.append_value(1050);
        amounts.append_null();
        let mut codes = StringDictionaryBuilder::<Key>::new();
        codes.append_value("J9035");
        codes.append_null();
        // 2026-03-02 and 2026-03-01 as days and milliseconds since 1970.
        let days = 20514;
        let batch = table_of(vec![
            (
                "text",
                Arc::new(StringArray::from(vec![Some(" a,\"b\" "), None])) as ArrayRef,
            ),
            ("large", Arc::new(LargeStringArray::from(vec!["x", ""]))),
            ("view", Arc::new(StringViewArray::from(vec!["v", "w"]))),
            ("int", Arc::new(Int64Array::from(vec![Some(-7), None]))),
            ("uint", Arc::new(UInt64Array::from(vec![u64::MAX, 1]))),
            ("amount", Arc::new(amounts.finish())),
            ("date", Arc::new(Date32Array::from(vec![days, days - 1]))),
            (
                "date64",
                Arc::new(Date64Array::from(vec![i64::from(days) * 86_400_000, 0])),
            ),
            (
                "flag",
                Arc::new(BooleanArray::from(vec![Some(true), Some(false)])),
            ),
            ("nothing", Arc::new(NullArray::new(2))),
            ("code", Arc::new(codes.finish())),
            ("month", Arc::new(Date32Array::from(vec![days, days - 1]))),
        ]);
        let rows = rendered(&batch);
        assert_eq!(
            rows[0].0,
            [
                "a,\"b\"",
                "x",
                "v",
                "-7",
                "18446744073709551615",
                "10.50",
                "2026-03-02",
                "2026-03-02",
                "Y",
                "",
                "J9035",
                "2026-03-02"
            ]
        );
        assert_eq!(
            rows[0].1,
            "\" a,\"\"b\"\" \",x,v,-7,18446744073709551615,10.50,2026-03-02,2026-03-02,Y,,J9035,2026-03-02"
        );
        assert_eq!(
            rows[1].0,
            [
                "",
                "",
                "w",
                "",
                "1",
                "",
                "2026-03-01",
                "1970-01-01",
                "N",
                "",
                "",
                "2026-03"
            ]
        );
    }

    #[test]
    fn a_timestamp_is_its_date_in_its_own_time_zone() {
        // 2026-03-01T23:30:00Z.
        let instant = 1_772_407_800;
        let batch = table_of(vec![
            (
                "naive",
                Arc::new(TimestampSecondArray::from(vec![instant])) as ArrayRef,
            ),
            (
                "utc",
                Arc::new(TimestampSecondArray::from(vec![instant]).with_timezone("UTC")),
            ),
            (
                "east",
                Arc::new(TimestampSecondArray::from(vec![instant]).with_timezone("+05:00")),
            ),
        ]);
        assert_eq!(
            rendered(&batch)[0].0,
            ["2026-03-01", "2026-03-01", "2026-03-02"]
        );
        let named = Schema::new(vec![Field::new(
            "from_date",
            DataType::Timestamp(TimeUnit::Second, Some("America/New_York".into())),
            true,
        )]);
        let problem = Table::of(&named, |_| true).unwrap_err();
        assert!(
            problem.contains("column `from_date` is Timestamp(s, \"America/New_York\")"),
            "{problem}"
        );
        assert!(problem.contains("cast the column to a date"), "{problem}");
    }

    #[test]
    fn a_float_column_is_refused_when_read_and_left_out_otherwise() {
        let batch = table_of(vec![
            (
                "allowed_amount",
                Arc::new(Float64Array::from(vec![1.5])) as ArrayRef,
            ),
            ("claim_id", Arc::new(StringArray::from(vec!["C1"]))),
            ("paid", Arc::new(Float64Array::from(vec![0.1]))),
            (" line_number ", Arc::new(Int64Array::from(vec![3]))),
        ]);
        let problem = Table::of(&batch.schema(), |_| true).unwrap_err();
        assert_eq!(
            problem,
            "column `allowed_amount` is Float64: money and codes are never read from floating point (cast the column to a decimal or to text); expected text, an integer, a decimal, a date, a timestamp or a boolean"
        );
        let read = Table::of(&batch.schema(), |name| {
            name != "allowed_amount" && name != "paid"
        });
        let read = read.unwrap();
        assert_eq!(read.header().raw(), b"claim_id, line_number ");
        assert_eq!(read.indices(), [1, 3]);
        let mut fields = Vec::new();
        each_record(&read, &batch, 41, |r| {
            fields.push((r.line(), r.offset(), r.raw().to_vec()))
        });
        assert_eq!(fields, [(42, 41, b"C1,3".to_vec())]);
    }
}
