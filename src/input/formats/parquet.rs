//! Parquet claims and beneficiaries files (feature `parquet`).
//!
//! A Parquet file is a table with the canonical columns by name (contract
//! 1.1 and 1.5): its rows are read as Arrow batches and checked as rows of
//! the canonical CSV ([`crate::input::arrow`]), so the only thing this
//! module owns is the file: opening it (a regular file from itself, any
//! other input read whole into memory, as the footer that describes it is
//! at its end), its row groups, and reading one of them.
//!
//! A row group is what is read in parallel: row groups are decoded and
//! checked on the current rayon pool, as many at a time as a text file's
//! chunks, and merged in file order, so the outcomes do not depend on the
//! thread count. A file of one row group is read on one thread.
//!
//! The format: Apache Parquet, "File Format" (the file starts and ends
//! with the magic `PAR1`; its metadata, with each row group's row count and
//! size, is in the footer), parquet.apache.org/docs/file-format. The
//! codecs read are snappy, zstd, gzip and none (what Spark, pyarrow,
//! polars and DuckDB write by default); a file in another (lz4, brotli) is
//! an error naming it.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};

use crate::input::arrow::{ClaimsTable, Table, try_each_record};
use crate::input::claim_rows::RowChecks;
use crate::input::claims::Error;
use crate::input::driver::{self, Piece, Reading};
use crate::input::records::Record;
use crate::input::source::Source;
use crate::model::outcome::RowOutcome;
use crate::model::parse_date;

/// Rows per decoded batch: a row group is decoded this many rows at a time.
const BATCH_ROWS: usize = 8192;

/// Where a Parquet file's bytes are: a regular file, opened again for each
/// row group read (so row groups are read in parallel, each from a handle
/// of its own), or bytes in memory (a stream or a compressed file, read
/// whole: Parquet's footer is at the end).
#[derive(Clone, Debug)]
enum Bytesource {
    File(PathBuf),
    Memory(Bytes),
}

/// An open Parquet file: where it is, and its metadata (schema, row
/// groups) read once.
pub(crate) struct ParquetFile {
    name: PathBuf,
    bytes: Bytesource,
    metadata: ArrowReaderMetadata,
}

/// One row group: its index, its first row (0-based) and its size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowGroup {
    index: usize,
    first_row: u64,
    bytes: u64,
}

impl Piece for RowGroup {
    fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// A Parquet problem as the claims reader reports it.
fn parquet_error(name: &Path, problem: impl std::fmt::Display) -> Error {
    Error::Parquet(super::ParquetError::Unreadable {
        path: name.to_owned(),
        problem: problem.to_string(),
    })
}

impl ParquetFile {
    /// The Parquet file of an opened input: a plain regular file is read
    /// from itself, anything else whole. An input that does not start as
    /// a Parquet file does is an error saying so.
    pub(crate) fn of_source(mut source: Source) -> Result<ParquetFile, Error> {
        let name = source.name().to_path_buf();
        let io_error = |e| driver::io_error(&name, e);
        if !source.starts_with(super::PARQUET_MAGIC).map_err(io_error)? {
            return Err(parquet_error(
                &name,
                "it does not start with PAR1, as every Parquet file does; expected a Parquet file",
            ));
        }
        let bytes = if source.rereads_itself() {
            Bytesource::File(name.clone())
        } else {
            let mut all = Vec::new();
            source.read_to_end(&mut all).map_err(io_error)?;
            Bytesource::Memory(Bytes::from(all))
        };
        ParquetFile::open_bytes(name, bytes)
    }

    /// The Parquet file at `path` (read again for its rejected rows: a
    /// plain file from itself, a compressed one or a stream's spool whole).
    pub(crate) fn open(path: &Path) -> Result<ParquetFile, Error> {
        let source = Source::open(path, None).map_err(|e| driver::io_error(path, e))?;
        ParquetFile::of_source(source)
    }

    fn open_bytes(name: PathBuf, bytes: Bytesource) -> Result<ParquetFile, Error> {
        let options = ArrowReaderOptions::new();
        let metadata = match &bytes {
            Bytesource::File(path) => {
                let file = File::open(path).map_err(|e| driver::io_error(&name, e))?;
                ArrowReaderMetadata::load(&file, options)
            }
            Bytesource::Memory(bytes) => ArrowReaderMetadata::load(bytes, options),
        }
        .map_err(|e| parquet_error(&name, e))?;
        Ok(ParquetFile {
            name,
            bytes,
            metadata,
        })
    }

    /// The file's columns and their Arrow types.
    pub(crate) fn schema(&self) -> &SchemaRef {
        self.metadata.schema()
    }

    /// The row groups, in file order.
    pub(crate) fn row_groups(&self) -> Vec<RowGroup> {
        let mut first_row = 0u64;
        let groups = self.metadata.metadata().row_groups().iter().enumerate();
        groups
            .map(|(index, group)| {
                let rows = u64::try_from(group.num_rows()).unwrap_or_default();
                let at = RowGroup {
                    index,
                    first_row,
                    bytes: u64::try_from(group.compressed_size()).unwrap_or_default(),
                };
                first_row += rows;
                at
            })
            .collect()
    }

    /// Hands each batch of row group `group`, holding the columns of
    /// `table` only (the projection [`Table::indices`]), to `each` with its
    /// first row (0-based) in the file.
    pub(crate) fn read_group(
        &self,
        group: RowGroup,
        table: &Table,
        mut each: impl FnMut(&RecordBatch, u64),
    ) -> Result<(), Error> {
        for batch in self.batches(group, table)? {
            let (batch, first_row) = batch?;
            each(&batch, first_row);
        }
        Ok(())
    }

    /// The batches of row group `group`, holding the columns of `table`
    /// only (the projection [`Table::indices`]), each with its first row
    /// (0-based) in the file, decoded as they are asked for. A batch that
    /// does not decode is an error naming the first row it holds.
    fn batches(
        &self,
        group: RowGroup,
        table: &Table,
    ) -> Result<impl Iterator<Item = Result<(RecordBatch, u64), Error>> + use<'_>, Error> {
        let name = &self.name;
        let descriptor = self.metadata.metadata().file_metadata().schema_descr();
        let projection = ProjectionMask::roots(descriptor, table.indices());
        let reader = match &self.bytes {
            Bytesource::File(path) => {
                let file = File::open(path).map_err(|e| driver::io_error(name, e))?;
                ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.metadata.clone())
                    .with_row_groups(vec![group.index])
                    .with_projection(projection)
                    .with_batch_size(BATCH_ROWS)
                    .build()
            }
            Bytesource::Memory(bytes) => ParquetRecordBatchReaderBuilder::new_with_metadata(
                bytes.clone(),
                self.metadata.clone(),
            )
            .with_row_groups(vec![group.index])
            .with_projection(projection)
            .with_batch_size(BATCH_ROWS)
            .build(),
        }
        .map_err(|e| parquet_error(name, e))?;
        let mut first_row = group.first_row;
        Ok(reader.map(move |batch| {
            let batch = batch.map_err(|e| {
                parquet_error(name, format_args!("from row {}: {e}", first_row + 1))
            })?;
            let at = first_row;
            first_row += batch.num_rows() as u64;
            Ok((batch, at))
        }))
    }

    /// Hands each row of the file, made a record of `table`'s columns
    /// ([`crate::input::arrow`]: its values as the CSV text they stand
    /// for), to `each` in file order, numbered from 1 (a Parquet file has
    /// no header row), until `each` fails: a table read back whole, one
    /// row group after the other (a run's outputs, which the commands that
    /// work from runs read as they read its CSV files). `Err` is the file
    /// that could not be read, `Ok(Err)` the error `each` stopped at.
    pub(crate) fn each_record<E>(
        &self,
        table: &Table,
        mut each: impl FnMut(&Record) -> Result<(), E>,
    ) -> Result<Result<(), E>, Error> {
        let projected = table.projected();
        for group in self.row_groups() {
            for batch in self.batches(group, table)? {
                let (batch, first_row) = batch?;
                if let Err(e) = try_each_record(&projected, &batch, first_row, &mut each) {
                    return Ok(Err(e));
                }
            }
        }
        Ok(Ok(()))
    }

    /// The records of rows `offsets` (0-based, sorted) of the file, as the
    /// columns of `table` make them, by decoding the row groups that hold
    /// them.
    pub(crate) fn records_at(
        &self,
        table: &Table,
        offsets: &[u64],
    ) -> Result<Vec<Box<[u8]>>, Error> {
        let mut out: Vec<Box<[u8]>> = Vec::with_capacity(offsets.len());
        let projected = table.projected();
        let mut wanted = offsets.iter().copied().peekable();
        for group in self.row_groups() {
            if wanted.peek().is_none() {
                break;
            }
            let rows = self.metadata.metadata().row_group(group.index).num_rows();
            let end = group.first_row + u64::try_from(rows).unwrap_or_default();
            if wanted.peek().is_some_and(|&row| row >= end) {
                continue;
            }
            self.read_group(group, table, |batch, first_row| {
                let batch_end = first_row + batch.num_rows() as u64;
                let mut rows = projected.rows(batch);
                let mut record = Record::default();
                while let Some(row) = wanted.next_if(|&row| row < batch_end) {
                    // Offsets are sorted and past every earlier batch.
                    let at = usize::try_from(row.saturating_sub(first_row)).unwrap_or_default();
                    rows.record(at, row + 1, row, &mut record);
                    out.push(record.raw().into());
                }
            })?;
        }
        // Rows past the end (a file changed since it was read) have no text.
        out.resize(offsets.len(), Box::default());
        Ok(out)
    }
}

/// Reads the claims of a Parquet input with the accumulator protocol of
/// [`crate::input::formats::ClaimsFormat::read_chunked`]: its row groups
/// decoded and checked in parallel, `reading.chunking.batch` at a time,
/// merged in file order with their compressed size.
pub(crate) fn read_chunked<T: Send, E: From<Error>>(
    source: Source,
    reading: Reading,
    init: impl Fn() -> T + Sync,
    fold: impl Fn(&mut T, RowOutcome) + Sync,
    merge: impl FnMut(T, u64) -> Result<(), E>,
) -> Result<(), E> {
    let file = ParquetFile::of_source(source)?;
    let claims = ClaimsTable::of(file.schema(), &file.name)?;
    let projected = claims.projected();
    driver::run_batches(
        file.row_groups().into_iter().map(Ok),
        reading.chunking.batch,
        |group| {
            let mut acc = init();
            file.read_group(*group, claims.table(), |batch, first_row| {
                let checks = RowChecks::new(reading.file, reading.as_of, parse_date);
                projected.check(batch, first_row, checks, &mut |o| fold(&mut acc, o));
            })?;
            Ok(acc)
        },
        |_| Ok(()),
        |acc| acc,
        merge,
    )
}

/// The raw text of claims rows `rows` (`(row, offset)`, sorted) of the
/// Parquet file at `path`: their values as the reader made them, found by
/// their offset (the row's 0-based index).
pub fn raw_rows(path: &Path, rows: &[(u64, u64)]) -> Result<Vec<Box<[u8]>>, Error> {
    let file = ParquetFile::open(path)?;
    let claims = ClaimsTable::of(file.schema(), path)?;
    let offsets: Vec<u64> = rows.iter().map(|&(_, offset)| offset).collect();
    file.records_at(claims.table(), &offsets)
}
