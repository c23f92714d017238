//! A run's output tables as Arrow record batches (feature `parquet`): the
//! one place on the output side that knows Arrow types.
//!
//! Each table is written from its one description
//! ([`crate::output::report::Table`]): the CSV writer and this sink receive
//! the same cells from the same row function, so a typed table holds the
//! CSV file's rows, in its order, by construction. A cell's value is the
//! text the CSV file would hold (the exact view), read into the type its
//! column says:
//!
//! | column | Arrow type |
//! |---|---|
//! | money | Decimal128(38, 2), exact (a run's totals have at most 36 digits before the point) |
//! | date | Date32 |
//! | count, line or row number | Int64 |
//! | text, and figures with a precision of their own (risk multiplier, target price, quality score) | Utf8 |
//!
//! An empty field (a value the contract leaves empty: no target, no
//! provider) is a null. A rejected record that is not UTF-8 is written
//! with its invalid bytes replaced (U+FFFD): the CSV keeps its bytes.
//!
//! A caller holding a run (a Python package) takes its tables with
//! [`record_batches`]; the Parquet files are these batches written out
//! ([`crate::output::parquet`]).

use std::io;
use std::sync::Arc;

use arrow_array::builder::{Date32Builder, Decimal128Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::model::money::Money;
use crate::model::{Date, parse_date};
use crate::output::report::{Cell, ColumnType, RowSink, Table, append_cell};

/// Rows per record batch.
pub const BATCH_ROWS: usize = 64 * 1024;

/// The Arrow type of a column that holds `column`.
pub fn data_type(column: ColumnType) -> DataType {
    match column {
        ColumnType::Text | ColumnType::Decimal => DataType::Utf8,
        ColumnType::Money => DataType::Decimal128(38, 2),
        ColumnType::Date => DataType::Date32,
        ColumnType::Integer => DataType::Int64,
    }
}

/// The Arrow schema of `table`: its columns in order, each nullable.
pub fn schema<S>(table: &Table<'_, S>) -> SchemaRef {
    let fields: Vec<Field> = table
        .columns
        .iter()
        .map(|(name, column)| Field::new(*name, data_type(*column), true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// The rows of `table` of `source` (a run, a true-up, a comparison) as
/// record batches of at most [`BATCH_ROWS`] rows, in the CSV file's order
/// (none for a table without rows: its schema is [`schema`]).
pub fn record_batches<S>(source: &S, table: &Table<'_, S>) -> io::Result<Vec<RecordBatch>> {
    let mut batches = Vec::new();
    let mut rows = ArrowRows::new(table, BATCH_ROWS, |batch| {
        batches.push(batch);
        Ok(())
    });
    (table.rows)(source, &mut rows)?;
    rows.finish()?;
    Ok(batches)
}

/// One column being built.
enum Builder {
    Text(StringBuilder),
    Money(Decimal128Builder),
    Date(Date32Builder),
    Integer(Int64Builder),
}

impl Builder {
    fn of(column: ColumnType) -> Builder {
        match column {
            ColumnType::Text | ColumnType::Decimal => Builder::Text(StringBuilder::new()),
            ColumnType::Money => Builder::Money(
                Decimal128Builder::new()
                    .with_precision_and_scale(38, 2)
                    .unwrap_or_default(),
            ),
            ColumnType::Date => Builder::Date(Date32Builder::new()),
            ColumnType::Integer => Builder::Integer(Int64Builder::new()),
        }
    }

    /// Appends the value whose text is `text` (empty: a null); `None` when
    /// the text is not of the column's type.
    fn append(&mut self, text: &[u8]) -> Option<()> {
        let empty = text.is_empty();
        match self {
            Builder::Text(b) if empty => b.append_null(),
            Builder::Text(b) => b.append_value(String::from_utf8_lossy(text)),
            Builder::Money(b) if empty => b.append_null(),
            Builder::Money(b) => b.append_value(Money::parse_total(text)?.cents()),
            Builder::Date(b) if empty => b.append_null(),
            Builder::Date(b) => b.append_value(days_since_epoch(parse_date(text)?)?),
            Builder::Integer(b) if empty => b.append_null(),
            Builder::Integer(b) => b.append_value(std::str::from_utf8(text).ok()?.parse().ok()?),
        }
        Some(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Money(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Integer(b) => Arc::new(b.finish()),
        }
    }
}

/// Date32's value of `date`: days since 1970-01-01.
fn days_since_epoch(date: Date) -> Option<i32> {
    let epoch = Date::from_ymd_opt(1970, 1, 1)?;
    i32::try_from(date.signed_duration_since(epoch).num_days()).ok()
}

/// The rows of one table as typed columns, handed to `emit` as a record
/// batch every `batch_rows` rows and at [`ArrowRows::finish`].
pub struct ArrowRows<'t, S, F: FnMut(RecordBatch) -> io::Result<()>> {
    table: &'t Table<'t, S>,
    schema: SchemaRef,
    builders: Vec<Builder>,
    rows: usize,
    batch_rows: usize,
    /// One cell's text, reused.
    text: Vec<u8>,
    emit: F,
}

impl<'t, S, F: FnMut(RecordBatch) -> io::Result<()>> ArrowRows<'t, S, F> {
    /// A sink of `table`'s rows.
    pub fn new(table: &'t Table<'t, S>, batch_rows: usize, emit: F) -> Self {
        ArrowRows {
            table,
            schema: schema(table),
            builders: table.columns.iter().map(|(_, c)| Builder::of(*c)).collect(),
            rows: 0,
            batch_rows: batch_rows.max(1),
            text: Vec::new(),
            emit,
        }
    }

    /// Hands over the rows not yet in a batch.
    pub fn finish(mut self) -> io::Result<()> {
        if self.rows > 0 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(io::Error::other)?;
        self.rows = 0;
        (self.emit)(batch)
    }
}

impl<S, F: FnMut(RecordBatch) -> io::Result<()>> RowSink for ArrowRows<'_, S, F> {
    fn row(&mut self, cells: &[Cell]) -> io::Result<()> {
        debug_assert!(self.table.fits(cells), "{}", self.table.name);
        for ((cell, builder), (name, column)) in
            cells.iter().zip(&mut self.builders).zip(self.table.columns)
        {
            self.text.clear();
            append_cell(&mut self.text, cell)?;
            builder.append(&self.text).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} column `{name}`: {:?} is not {}",
                        self.table.name,
                        String::from_utf8_lossy(&self.text),
                        match column {
                            ColumnType::Money => "an amount",
                            ColumnType::Date => "a date",
                            _ => "a whole number",
                        }
                    ),
                )
            })?;
        }
        self.rows += 1;
        if self.rows == self.batch_rows {
            self.flush()?;
        }
        Ok(())
    }
}
