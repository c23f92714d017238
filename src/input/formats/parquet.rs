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

use arrow_schema::SchemaRef;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};

use crate::input::arrow::{self, Batches, PieceIter, Pieces, Table, TablePiece};
use crate::input::claims::Error;
use crate::input::driver::{self, Piece, Reading};
use crate::input::source::Source;
use crate::model::outcome::RowView;

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

/// One row group: its index, its rows (0-based) and its size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowGroup {
    index: usize,
    first_row: u64,
    rows: u64,
    bytes: u64,
}

impl Piece for RowGroup {
    fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl TablePiece for RowGroup {
    fn rows(&self) -> std::ops::Range<u64> {
        self.first_row..self.first_row + self.rows
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
}

impl Pieces for ParquetFile {
    type Piece = RowGroup;

    fn name(&self) -> &Path {
        &self.name
    }

    fn schema(&self) -> SchemaRef {
        self.metadata.schema().clone()
    }

    /// The row groups, in file order.
    fn pieces(&self, _table: &Table) -> Result<PieceIter<'_, RowGroup>, Error> {
        let mut first_row = 0u64;
        let groups = self.metadata.metadata().row_groups().iter().enumerate();
        let groups: Vec<RowGroup> = groups
            .map(|(index, group)| {
                let rows = u64::try_from(group.num_rows()).unwrap_or_default();
                let at = RowGroup {
                    index,
                    first_row,
                    rows,
                    bytes: u64::try_from(group.compressed_size()).unwrap_or_default(),
                };
                first_row += rows;
                at
            })
            .collect();
        Ok(Box::new(groups.into_iter().map(Ok)))
    }

    /// The batches of row group `group`, holding the columns of `table`
    /// only (the projection [`Table::indices`]), each with its first row
    /// (0-based) in the file, decoded as they are asked for. A batch that
    /// does not decode is an error naming the first row it holds.
    fn batches(&self, group: &RowGroup, table: &Table) -> Result<Batches<'_>, Error> {
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
        Ok(Box::new(reader.map(move |batch| {
            let batch = batch.map_err(|e| {
                parquet_error(name, format_args!("from row {}: {e}", first_row + 1))
            })?;
            let at = first_row;
            first_row += batch.num_rows() as u64;
            Ok((batch, at))
        })))
    }
}

/// Reads the claims of a Parquet input with the accumulator protocol of
/// [`crate::input::formats::ClaimsFormat::read_chunked`]: its row groups
/// decoded and checked in parallel as a table's pieces
/// ([`arrow::read_claims`]).
pub(crate) fn read_chunked<T: Send, E: From<Error>>(
    source: Source,
    reading: Reading,
    init: impl Fn() -> T + Sync,
    fold: impl Fn(&mut T, RowView<'_>) + Sync,
    merge: impl FnMut(T, u64) -> Result<(), E>,
) -> Result<(), E> {
    let file = ParquetFile::of_source(source)?;
    arrow::read_claims(&file, reading, init, fold, merge)
}

/// The raw text of claims rows `rows` (`(row, offset)`, sorted) of the
/// Parquet file at `path`: their values as the reader made them, found by
/// their offset (the row's 0-based index).
pub fn raw_rows(path: &Path, rows: &[(u64, u64)]) -> Result<Vec<Box<[u8]>>, Error> {
    arrow::claims_records(&ParquetFile::open(path)?, rows)
}
