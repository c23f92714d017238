//! Writes CSV files (claims or beneficiaries, with their header) as one
//! Parquet file whose every column is text, as a data lake's string
//! columns are: for trying the Parquet readers on the bundled sample,
//! which ships CSV only. Text columns are read exactly as the same CSV
//! fields would be (README, "Parquet"), so the run gives the CSV run's
//! outputs. Every file must have the first file's header.
//!
//! Usage: `cargo run --release --features parquet --example to_parquet --
//! OUT.parquet CSV...`

use std::process::ExitCode;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((output, inputs)) = args.split_first().filter(|(_, inputs)| !inputs.is_empty()) else {
        eprintln!("usage: to_parquet OUT.parquet CSV...");
        return ExitCode::from(2);
    };
    match convert(output, inputs) {
        Ok(rows) => {
            println!("{rows} rows written to {output}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Reads `inputs` in order and writes their rows to `output`; the count.
fn convert(output: &str, inputs: &[String]) -> Result<usize, String> {
    let mut header: Option<csv::StringRecord> = None;
    let mut columns: Vec<Vec<String>> = Vec::new();
    for input in inputs {
        let mut reader = csv::Reader::from_path(input).map_err(|e| format!("{input}: {e}"))?;
        let names = reader
            .headers()
            .map_err(|e| format!("{input}: {e}"))?
            .clone();
        match &header {
            None => columns = vec![Vec::new(); names.len()],
            Some(first) if *first != names => {
                return Err(format!("{input}: its header differs from {}'s", inputs[0]));
            }
            Some(_) => {}
        }
        header = Some(names);
        for record in reader.records() {
            let record = record.map_err(|e| format!("{input}: {e}"))?;
            for (column, value) in columns.iter_mut().zip(record.iter()) {
                column.push(value.to_owned());
            }
        }
    }
    let header = header.unwrap_or_default();
    let fields: Vec<Field> = header
        .iter()
        .map(|name| Field::new(name, DataType::Utf8, false))
        .collect();
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|values| Arc::new(StringArray::from_iter_values(values)) as ArrayRef)
        .collect();
    let rows = columns.first().map_or(0, Vec::len);
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|e| format!("{output}: {e}"))?;
    let file = std::fs::File::create(output).map_err(|e| format!("{output}: {e}"))?;
    let mut writer =
        ArrowWriter::try_new(file, batch.schema(), None).map_err(|e| format!("{output}: {e}"))?;
    writer.write(&batch).map_err(|e| format!("{output}: {e}"))?;
    writer.close().map_err(|e| format!("{output}: {e}"))?;
    Ok(rows)
}
