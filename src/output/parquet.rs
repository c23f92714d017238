//! A run's output tables as Parquet files (feature `parquet`,
//! `--output-format parquet`): the Arrow batches of
//! [`crate::output::arrow`] written with the `parquet` crate's writer,
//! snappy-compressed (the codec every Parquet reader has), the Arrow
//! schema kept in the file's metadata so readers see the same types.
//! Staged and put in place with the other outputs
//! ([`crate::output::report::write_folder`]).

use std::io::{self, BufRead};

use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::engine::reconcile::Reconciliation;
use crate::input::records::{Record, RecordReader};
use crate::output::arrow::{ArrowRows, BATCH_ROWS, schema};
use crate::output::report::{Cell, ColumnType, Output, RowSink, Table};

/// Writes `rows` (the rows of `table`, handed to the sink it gets) as a
/// Parquet file to `out`.
fn write_rows(
    table: &Table,
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

/// Writes `table` of `recon` as a Parquet file to `out`.
pub fn write_table(recon: &Reconciliation, table: &Table, out: Output<'_>) -> io::Result<()> {
    write_rows(table, out, |sink| (table.rows)(recon, sink))
}

/// Writes a CSV file this program wrote of `table` (an earlier run's
/// `ledger.csv` or `rejects.csv`, which `reprice` copies) as a Parquet
/// file to `out`: its rows, each field as the file holds it (not trimmed:
/// a rejected record keeps its blanks), typed as the table says.
pub fn copy_csv(input: &mut dyn BufRead, table: &Table, out: Output<'_>) -> io::Result<()> {
    let mut reader = RecordReader::new(input);
    let mut record = Record::default();
    if !reader.read(&mut record)? {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the run's {}.csv is empty", table.name),
        ));
    }
    let header: Vec<&[u8]> = record.iter().collect();
    let expected: Vec<&[u8]> = table.columns.iter().map(|(n, _)| n.as_bytes()).collect();
    if header != expected {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the run's {}.csv has another header than {:?}",
                table.name,
                table.header()
            ),
        ));
    }
    write_rows(table, out, |sink| {
        let mut texts: Vec<String> = Vec::new();
        while reader.read(&mut record)? {
            texts.clear();
            for j in 0..table.columns.len() {
                let field = record.untrimmed(j).unwrap_or_default();
                texts.push(String::from_utf8_lossy(field).into_owned());
            }
            let cells: Vec<Cell> = table
                .columns
                .iter()
                .zip(&texts)
                .map(|((_, column), text)| match column {
                    ColumnType::Text => Cell::Raw(text.as_bytes()),
                    _ => Cell::Figure(text),
                })
                .collect();
            sink.row(&cells)?;
        }
        Ok(())
    })
}
