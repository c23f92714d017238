//! A run's output tables as Parquet files (feature `parquet`,
//! `--output-format parquet`): the Arrow batches of
//! [`crate::output::arrow`] written with the `parquet` crate's writer,
//! snappy-compressed (the codec every Parquet reader has), the Arrow
//! schema kept in the file's metadata so readers see the same types.
//! Staged and put in place with the other outputs
//! ([`crate::output::report::write_folder`]). `reprice` copies an earlier
//! run's ledger and rejects across formats here: CSV to Parquet, and
//! Parquet back to CSV.

use std::io::{self, BufRead};
use std::path::Path;

use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::input::arrow::{self, Pieces};
use crate::input::claims;
use crate::input::formats::parquet::ParquetFile;
use crate::input::records::{Record, RecordReader};
use crate::output::arrow::{ArrowRows, BATCH_ROWS, schema};
use crate::output::report::{
    Cell, ColumnType, CsvRows, CsvView, Output, RowSink, Table, UnreadableSource, write_header_in,
};

/// Writes `rows` (the rows of `table`, handed to the sink it gets) as a
/// Parquet file to `out`.
fn write_rows<S>(
    table: &Table<'_, S>,
    out: Output<'_>,
    rows: impl FnOnce(&mut dyn RowSink) -> io::Result<()>,
) -> io::Result<()> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer =
        ArrowWriter::try_new(out, schema(table), Some(properties)).map_err(io::Error::other)?;
    let mut sink = ArrowRows::new(table, BATCH_ROWS, |batch| {
        writer.write(&batch).map_err(io::Error::other)
    });
    rows(&mut sink)?;
    sink.finish()?;
    writer.close().map_err(io::Error::other)?;
    Ok(())
}

/// Writes `table` of `source` (a run, a true-up, a comparison) as a
/// Parquet file to `out`.
pub fn write_table<S>(source: &S, table: &Table<'_, S>, out: Output<'_>) -> io::Result<()> {
    write_rows(table, out, |sink| (table.rows)(source, sink))
}

/// Writes a CSV file this program wrote of `table` (an earlier run's
/// `ledger.csv` or `rejects.csv` at `source`, which `reprice` copies, read
/// from `input`) as a Parquet file to `out`: its rows, each field as the
/// file holds it (not trimmed: a rejected record keeps its blanks), typed
/// as the table says.
pub fn copy_csv(
    source: &Path,
    input: &mut dyn BufRead,
    table: &Table,
    out: Output<'_>,
) -> io::Result<()> {
    let mut reader = RecordReader::new(input);
    let mut record = Record::default();
    if !reader.read(&mut record)? {
        return Err(UnreadableSource::io(format!(
            "{}: the file is empty",
            source.display()
        )));
    }
    check_header(source, &record, table)?;
    write_rows(table, out, |sink| {
        while reader.read(&mut record)? {
            copy_record(&record, table, sink)?;
        }
        Ok(())
    })
}

/// Writes a Parquet file this program wrote of `table` (an earlier run's
/// `ledger.parquet` or `rejects.parquet`, which `reprice` copies) as a CSV
/// file in `view` to `out`: each row's values as the text the CSV writer
/// wrote them in ([`crate::input::arrow`]), so the file is the one the run
/// would have written as CSV (but for a rejected record that was not
/// UTF-8, whose invalid bytes Parquet replaced).
pub fn copy_to_csv(source: &Path, table: &Table, view: CsvView, out: Output<'_>) -> io::Result<()> {
    let unreadable = |e: claims::Error| match e {
        claims::Error::Io { source, .. } => source,
        other => UnreadableSource::io(other),
    };
    let file = ParquetFile::open(source).map_err(unreadable)?;
    let read = arrow::Table::of(&file.schema(), |_| true).map_err(|problem| {
        UnreadableSource::io(format!("{}: schema: {problem}", source.display()))
    })?;
    check_header(source, &read.header(), table)?;
    write_header_in(out, view, table)?;
    let mut sink = CsvRows::new(out, view, table);
    file.each_record(&read, |record| copy_record(record, table, &mut sink))
        .map_err(unreadable)?
}

/// An error unless `header` (a CSV file's first record, or a Parquet
/// file's column names) names the columns of `table` in order: `source`
/// is a file of the table this program wrote.
fn check_header(source: &Path, header: &Record, table: &Table) -> io::Result<()> {
    let names: Vec<&[u8]> = header.iter().collect();
    let expected: Vec<&[u8]> = table.columns.iter().map(|(n, _)| n.as_bytes()).collect();
    if names != expected {
        return Err(UnreadableSource::io(format!(
            "{}: the columns are not those of {}: {:?}",
            source.display(),
            table.name,
            table.header()
        )));
    }
    Ok(())
}

/// Hands `record` (a row of a file this program wrote of `table`) to
/// `sink`, each field as the file holds it (not trimmed: a rejected record
/// keeps its blanks), text where the table has text and a figure
/// elsewhere, as the table's own row function hands them.
fn copy_record(record: &Record, table: &Table, sink: &mut dyn RowSink) -> io::Result<()> {
    let texts: Vec<std::borrow::Cow<'_, str>> = (0..table.columns.len())
        .map(|j| String::from_utf8_lossy(record.untrimmed(j).unwrap_or_default()))
        .collect();
    let cells: Vec<Cell> = table
        .columns
        .iter()
        .zip(&texts)
        .map(|((_, column), text)| match column {
            ColumnType::Text => Cell::Raw(text.as_bytes()),
            _ => Cell::Figure(text),
        })
        .collect();
    sink.row(&cells)
}
