//! Parquet in and out (feature `parquet`): the bundled sample's claims and
//! beneficiaries written as Parquet with typed columns (decimal amounts,
//! dates, integers, booleans) give the sample's committed outputs; a
//! column of a type the engine does not read is a fatal error naming it;
//! a rejected Parquet row is numbered from the table's first row and
//! shows its values as a CSV line; `auto` knows Parquet by its first
//! bytes; and outputs written as Parquet hold the CSV outputs' rows, typed
//! (runs written as Parquet read back: `parquet_runs`). The same tables
//! held in memory (a Python caller's) are read as the Parquet files are.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder};
use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::support::{Outputs, assert_fails_in_one_line, cli_in, sample_team_files};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Days from 1970-01-01 to a `YYYY-MM-DD` or `YYYYMMDD` date (the sample
/// has both: a date column holds neither once typed).
fn days(text: &str) -> Option<i32> {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(text, "%Y%m%d"))
        .ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

/// Cents of an amount with at most two decimals (`12.5`, `-3.00`).
fn cents(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !whole
            .chars()
            .chain(fraction.chars())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let value: i128 = format!("{whole}{fraction:0<2}").parse().ok()?;
    Some(if negative { -value } else { value })
}

/// The Arrow column a CSV column becomes: typed as a user's table would
/// type it when every value allows (amounts decimal, dates Date32, months
/// the first day of the month, counts Int64, Y/N flags booleans), else
/// text. An empty value is a null.
fn column(name: &str, values: &[String]) -> (Field, ArrayRef) {
    let present = || values.iter().filter(|v| !v.is_empty());
    let text = || {
        let array = StringArray::from_iter(values.iter().map(|v| (!v.is_empty()).then_some(v)));
        (
            Field::new(name, DataType::Utf8, true),
            Arc::new(array) as ArrayRef,
        )
    };
    if name.ends_with("amount") && present().all(|v| cents(v).is_some()) {
        let mut b = Decimal128Builder::new()
            .with_precision_and_scale(14, 2)
            .unwrap();
        values.iter().for_each(|v| b.append_option(cents(v)));
        let array = Arc::new(b.finish()) as ArrayRef;
        return (Field::new(name, DataType::Decimal128(14, 2), true), array);
    }
    if name.ends_with("date") && present().all(|v| days(v).is_some()) {
        let mut b = Date32Builder::new();
        values.iter().for_each(|v| b.append_option(days(v)));
        return (
            Field::new(name, DataType::Date32, true),
            Arc::new(b.finish()),
        );
    }
    let first_of = |v: &String| days(&format!("{v}-01"));
    if name == "month" && present().all(|v| first_of(v).is_some()) {
        let mut b = Date32Builder::new();
        values.iter().for_each(|v| b.append_option(first_of(v)));
        return (
            Field::new(name, DataType::Date32, true),
            Arc::new(b.finish()),
        );
    }
    let count = |v: &String| {
        v.parse::<i64>()
            .ok()
            .filter(|_| !v.starts_with('0') || v == "0")
    };
    if ["line_number", "hcc_count"].contains(&name) && present().all(|v| count(v).is_some()) {
        let mut b = Int64Builder::new();
        values.iter().for_each(|v| b.append_option(count(v)));
        return (
            Field::new(name, DataType::Int64, true),
            Arc::new(b.finish()),
        );
    }
    let flag = |v: &String| match v.as_str() {
        "Y" => Some(true),
        "N" => Some(false),
        _ => None,
    };
    if name.len() > 2 && present().all(|v| flag(v).is_some()) {
        let mut b = BooleanBuilder::new();
        values.iter().for_each(|v| b.append_option(flag(v)));
        return (
            Field::new(name, DataType::Boolean, true),
            Arc::new(b.finish()),
        );
    }
    text()
}

/// Writes the CSV file `csv` as a Parquet file at `parquet`, its columns
/// typed by [`column`], in row groups of `group_rows` rows (zstd, so the
/// codec is read too).
fn csv_to_parquet(csv: &Path, parquet: &Path, group_rows: usize) {
    write_parquet(parquet, &csv_batch(csv), group_rows);
}

/// The CSV file `csv` as one batch, its columns typed by [`column`].
fn csv_batch(csv: &Path) -> RecordBatch {
    let mut reader = csv::Reader::from_path(csv).unwrap();
    let names: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let mut values = vec![Vec::new(); names.len()];
    for record in reader.records() {
        for (j, value) in record.unwrap().iter().enumerate() {
            values[j].push(value.trim().to_owned());
        }
    }
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = names
        .iter()
        .zip(&values)
        .map(|(name, values)| column(name, values))
        .unzip();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

fn write_parquet(path: &Path, batch: &RecordBatch, group_rows: usize) {
    let properties = WriterProperties::builder()
        .set_max_row_group_row_count(Some(group_rows))
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let file = File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties)).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

/// The bundled sample's claims (`claims/*.parquet`) and beneficiaries
/// (`beneficiaries.parquet`) as Parquet in a new folder.
fn sample_as_parquet(group_rows: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("claims")).unwrap();
    for name in ["2025-claims", "2026-claims"] {
        let csv = root().join(format!("sample-claims/claims/{name}.csv"));
        let parquet = dir.path().join(format!("claims/{name}.parquet"));
        csv_to_parquet(&csv, &parquet, group_rows);
    }
    let csv = root().join("sample-claims/beneficiaries.csv");
    csv_to_parquet(&csv, &dir.path().join("beneficiaries.parquet"), group_rows);
    dir
}

/// `reconcile` of the sample's definitions, prices and team files with
/// `args` (claims and beneficiaries), from `dir`, into `dir/out`.
fn reconcile_sample(dir: &Path, args: &[&str]) -> std::process::Output {
    let definitions = root().join("episode-definitions");
    let prices = root().join("sample-claims/target_prices.csv");
    let team = sample_team_files();
    let mut all = vec!["reconcile", "--out", "out", "--definitions"];
    all.push(definitions.to_str().unwrap());
    all.extend(["--target-prices", prices.to_str().unwrap()]);
    // The team files but the beneficiaries, which `args` give.
    all.extend(team[2..].iter().map(String::as_str));
    all.extend(args);
    cli_in(dir, &all)
}

/// The committed sample outputs with the claims and beneficiaries rejects
/// as a Parquet run names them: its files, and rows counted from the
/// table's first row (the CSV counts the header as row 1; no sample row
/// spans lines).
fn expected_rejects() -> String {
    rejects_of_tables(|file| {
        file.replace("sample-claims/claims/", "claims/")
            .replace("sample-claims/", "")
            .replace(".csv", ".parquet")
    })
}

/// The committed sample rejects with each file named `name(file)` and its
/// rows counted from the table's first row.
fn rejects_of_tables(name: impl Fn(&str) -> String) -> String {
    let golden = root().join("tests/golden/sample/expected/rejects.csv");
    let mut out = String::new();
    for (i, line) in std::fs::read_to_string(golden).unwrap().lines().enumerate() {
        if i == 0 {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let (file, rest) = line.split_once(',').unwrap();
        let (row, rest) = rest.split_once(',').unwrap();
        let file = name(file);
        let row: u64 = row.parse().unwrap();
        out.push_str(&format!("{file},{},{rest}\n", row - 1));
    }
    out
}

fn golden_outputs() -> Outputs {
    Outputs::read(&root().join("tests/golden/sample/expected"))
}

/// The sample as Parquet gives the sample's outputs byte for byte (the
/// rejects but for their file names and row numbers), whether the format
/// is given or detected, on one thread or several, with row groups of a
/// few rows (read in parallel) or one.
#[test]
fn parquet_sample_gives_the_csv_outputs() {
    let expected = golden_outputs();
    let rejects = expected_rejects();
    for (group_rows, format, threads) in [(64, "parquet", "2"), (100_000, "auto", "1")] {
        let dir = sample_as_parquet(group_rows);
        let run = reconcile_sample(
            dir.path(),
            &[
                "--claims",
                "claims",
                "--claims-format",
                format,
                "--beneficiaries",
                "beneficiaries.parquet",
                "--beneficiaries-format",
                format,
                "--threads",
                threads,
            ],
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{format}: {stderr}");
        let actual = Outputs::read(&dir.path().join("out"));
        assert_eq!(actual.episodes, expected.episodes, "{format}: episodes");
        assert_eq!(actual.providers, expected.providers, "{format}: providers");
        assert_eq!(actual.ledger, expected.ledger, "{format}: ledger");
        assert_eq!(actual.participants, expected.participants, "{format}");
        assert_eq!(actual.summary, expected.summary, "{format}: summary");
        assert_eq!(actual.rejects, rejects, "{format}: rejects");
    }
}

/// The sample as tables held in memory (typed, as a user's are, and given
/// as streams of small batches) gives the sample's outputs through the
/// library, as its Parquet files do: the rows only a version check rejects
/// found again in the batches read, a table named by its name in rejects.
#[test]
fn the_sample_as_tables_in_memory_gives_the_csv_outputs() {
    use arrow_array::RecordBatchIterator;
    use episode_recon::config::{definitions, prices::TargetPrices};
    use episode_recon::engine::reconcile::{self, Inputs};
    use episode_recon::input::arrow::BatchStream;
    use episode_recon::input::formats::ClaimsFormat;
    use episode_recon::input::source::Input;
    use episode_recon::output::report::{self, CsvView};
    use episode_recon::runs::pricing_files;

    let table = |csv: &str, name: &str| {
        let batch = csv_batch(&root().join(csv));
        let rows = batch.num_rows();
        let slices: Vec<_> = (0..rows)
            .step_by(64)
            .map(|at| Ok(batch.slice(at, 64.min(rows - at))))
            .collect();
        let stream = RecordBatchIterator::new(slices, batch.schema());
        Input::Table(Arc::new(BatchStream::new(name, Box::new(stream))))
    };
    let (risk_factors, settlement) = pricing_files::load(
        Some(&root().join("sample-claims/risk_factors.csv")),
        Some(&root().join("sample-claims/participants.csv")),
        Some(&root().join("models/team/settlement.toml")),
    )
    .unwrap();
    let definitions = definitions::load_dir(&root().join("episode-definitions")).unwrap();
    let prices = TargetPrices::load(&root().join("sample-claims/target_prices.csv")).unwrap();
    let inputs = Inputs {
        claims: vec![
            table("sample-claims/claims/2025-claims.csv", "<claims table 1>"),
            table("sample-claims/claims/2026-claims.csv", "<claims table 2>"),
        ],
        beneficiaries: vec![table(
            "sample-claims/beneficiaries.csv",
            "<beneficiaries table>",
        )],
        format: ClaimsFormat::Auto,
        risk_factors,
        settlement,
        ..Inputs::new(Vec::new(), definitions, prices)
    };
    let recon = reconcile::run(inputs).unwrap();
    let dir = tempfile::tempdir().unwrap();
    report::write_outputs(&recon, &dir.path().join("out"), false, CsvView::Exact).unwrap();
    let actual = Outputs::read(&dir.path().join("out"));
    let expected = golden_outputs();
    assert_eq!(actual.episodes, expected.episodes);
    assert_eq!(actual.providers, expected.providers);
    assert_eq!(actual.ledger, expected.ledger);
    assert_eq!(actual.participants, expected.participants);
    assert_eq!(actual.summary, expected.summary);
    let names = |file: &str| {
        match file {
            "sample-claims/claims/2025-claims.csv" => "<claims table 1>",
            "sample-claims/claims/2026-claims.csv" => "<claims table 2>",
            "sample-claims/beneficiaries.csv" => "<beneficiaries table>",
            other => panic!("a reject of {other}"),
        }
        .to_owned()
    };
    assert_eq!(actual.rejects, rejects_of_tables(names));
}

/// The sample's typed columns are what a user's table holds: the test
/// would prove nothing if every column had been written as text.
#[test]
fn the_sample_parquet_columns_are_typed() {
    let dir = sample_as_parquet(1000);
    let file = File::open(dir.path().join("claims/2025-claims.parquet")).unwrap();
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file);
    let schema = builder.unwrap().schema().clone();
    let type_of = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(type_of("allowed_amount"), DataType::Decimal128(14, 2));
    assert_eq!(type_of("from_date"), DataType::Date32);
    assert_eq!(type_of("line_number"), DataType::Int64);
    assert_eq!(type_of("claim_id"), DataType::Utf8);
    let file = File::open(dir.path().join("beneficiaries.parquet")).unwrap();
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file);
    let schema = builder.unwrap().schema().clone();
    let type_of = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(type_of("month"), DataType::Date32);
    assert_eq!(type_of("part_a"), DataType::Boolean);
    assert_eq!(type_of("hcc_count"), DataType::Int64);
}

/// A small claims table: its columns by name, as given.
fn claims_table(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn strings(values: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

/// A table of one PB claim line with `amount` as its amount column.
fn one_line(claim_id: &str, beneficiary_id: &str, amount: ArrayRef) -> RecordBatch {
    claims_table(vec![
        ("claim_id", strings(&[claim_id])),
        ("line_number", strings(&["1"])),
        ("beneficiary_id", strings(&[beneficiary_id])),
        ("claim_type", strings(&["PB"])),
        ("from_date", strings(&["2026-03-02"])),
        ("thru_date", strings(&["2026-03-02"])),
        ("allowed_amount", amount),
    ])
}

/// A case folder with the sample's definitions and prices, and `batch`
/// as `claims.parquet`.
fn case_with(batch: &RecordBatch) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_parquet(&dir.path().join("claims.parquet"), batch, 2);
    dir
}

fn reconcile_claims(dir: &Path, claims: &str, extra: &[&str]) -> std::process::Output {
    let definitions = root().join("episode-definitions/bpci-advanced");
    let prices = root().join("sample-claims/target_prices.csv");
    let mut args = vec![
        "reconcile",
        "--claims",
        claims,
        "--out",
        "out",
        "--definitions",
    ];
    args.push(definitions.to_str().unwrap());
    args.extend(["--target-prices", prices.to_str().unwrap()]);
    args.extend(extra);
    cli_in(dir, &args)
}

/// Money is never floating point: a float amount column is a fatal
/// error naming the file, the column and its type, before any row.
#[test]
fn a_float_amount_column_is_refused_by_name_and_type() {
    let batch = one_line("C1", "B1", Arc::new(Float64Array::from(vec![10.5])));
    let dir = case_with(&batch);
    let run = reconcile_claims(
        dir.path(),
        "claims.parquet",
        &["--claims-format", "parquet", "--quiet"],
    );
    assert_fails_in_one_line(
        &run,
        1,
        &[
            "claims.parquet: column `allowed_amount` is Float64",
            "never read from floating point",
        ],
    );
    assert!(!dir.path().join("out").exists());
}

/// A required column missing from a Parquet schema is named as a CSV
/// header's would be, at the schema.
#[test]
fn a_missing_column_is_named_at_the_schema() {
    let batch = claims_table(vec![("claim_id", strings(&["C1"]))]);
    let dir = case_with(&batch);
    let run = reconcile_claims(
        dir.path(),
        "claims.parquet",
        &["--claims-format", "auto", "--quiet"],
    );
    assert_fails_in_one_line(
        &run,
        1,
        &["claims.parquet: schema: missing required column `line_number`"],
    );
}

/// A rejected row is numbered from the table's first row (1), across row
/// groups, and its record is its values as a CSV line, quoted as the
/// writer quotes; a row rejected by the version checks is read again
/// from the file alike. A CSV file given as the canonical CSV is refused
/// with a hint when it is Parquet.
#[test]
fn a_rejected_parquet_row_has_its_row_number_and_values() {
    let mut amounts = Decimal128Builder::new()
        .with_precision_and_scale(10, 3)
        .unwrap();
    for cents in [Some(10_500), Some(12_345), None, Some(1_000)] {
        amounts.append_option(cents);
    }
    let batch = claims_table(vec![
        ("claim_id", strings(&["C1", "C2", "C3", "C3"])),
        ("line_number", strings(&["1", "1", "1", "1"])),
        ("beneficiary_id", strings(&["B1", "B1", "B1", "B1"])),
        ("claim_type", strings(&["PB", "PB", "PB", "PB"])),
        (
            "from_date",
            strings(&["2026-03-02", "2026-03-02", "2026-03-02", "2026-03-02"]),
        ),
        (
            "thru_date",
            strings(&["2026-03-02", "2026-03-02", "2026-03-02", "2026-03-02"]),
        ),
        ("allowed_amount", Arc::new(amounts.finish())),
        ("hcpcs", strings(&["", "a,\"b\"", "", ""])),
    ]);
    let dir = case_with(&batch);
    let run = reconcile_claims(
        dir.path(),
        "claims.parquet",
        &["--claims-format", "parquet"],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let rejects = std::fs::read_to_string(dir.path().join("out/rejects.csv")).unwrap();
    assert_eq!(
        rejects,
        "file,row,reason,record\n\
         claims.parquet,2,bad_amount,\"C2,1,B1,PB,2026-03-02,2026-03-02,12.345,\"\"a,\"\"\"\"b\"\"\"\"\"\"\"\n\
         claims.parquet,3,missing_field,\"C3,1,B1,PB,2026-03-02,2026-03-02,,\"\n\
         claims.parquet,4,claim_has_rejected_row,\"C3,1,B1,PB,2026-03-02,2026-03-02,1.000,\"\n"
    );
    let summary = std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap();
    assert!(summary.contains("\"read\": 4"), "{summary}");
    // From standard input, read whole, the version's other row is found
    // again in the stream's spool.
    let definitions = root().join("episode-definitions/bpci-advanced");
    let prices = root().join("sample-claims/target_prices.csv");
    let piped = std::process::Command::new(env!("CARGO_BIN_EXE_episode-recon"))
        .args([
            "reconcile",
            "--claims",
            "-",
            "--claims-format",
            "auto",
            "--quiet",
        ])
        .args(["--out", "piped", "--definitions"])
        .args([definitions, "--target-prices".into(), prices])
        .current_dir(dir.path())
        .stdin(File::open(dir.path().join("claims.parquet")).unwrap())
        .output()
        .unwrap();
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    let piped = std::fs::read_to_string(dir.path().join("piped/rejects.csv")).unwrap();
    assert_eq!(piped, rejects.replace("claims.parquet,", "-,"));
    // Given as the canonical CSV (the default), a Parquet file is refused
    // with the flag to give.
    let run = reconcile_claims(dir.path(), "claims.parquet", &["--force", "--quiet"]);
    assert_fails_in_one_line(
        &run,
        1,
        &[
            "claims.parquet: this is a Parquet file",
            "--claims-format parquet",
        ],
    );
}

/// `auto` reads a folder's Parquet and CSV files alike, each in its
/// format; the Parquet row counts as the CSV row does.
#[test]
fn auto_detects_parquet_by_its_first_bytes_beside_csv() {
    let batch = one_line("C9", "B9", strings(&["7.00"]));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("claims")).unwrap();
    // A Parquet file named like CSV: known by its bytes, not its name.
    write_parquet(&dir.path().join("claims/b.csv"), &batch, 10);
    std::fs::write(
        dir.path().join("claims/a.csv"),
        "claim_id,line_number,beneficiary_id,claim_type,from_date,thru_date,allowed_amount\nC8,1,B8,PB,2026-03-02,2026-03-02,3.00\n",
    )
    .unwrap();
    let run = reconcile_claims(dir.path(), "claims", &["--claims-format", "auto"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("reading claims/b.csv as parquet claims"),
        "{stderr}"
    );
    let summary = std::fs::read_to_string(dir.path().join("out/summary.json")).unwrap();
    assert!(summary.contains("\"read\": \"10.00\""), "{summary}");
}

/// A Parquet output file's schema and rows, each row's values written as
/// the CSV writer writes them (money with two decimals, dates
/// `YYYY-MM-DD`, a null empty), joined as a CSV line: the text its CSV
/// twin holds, rendered here independently of the engine.
pub(crate) fn parquet_as_csv(path: &Path) -> (Vec<(String, DataType)>, String) {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Decimal128Type, Int64Type};
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    use arrow_array::RecordBatchReader;
    let schema = reader.schema();
    let columns: Vec<(String, DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let mut text = format!("{}\n", names.join(","));
    for batch in reader {
        let batch = batch.unwrap();
        for row in 0..batch.num_rows() {
            let fields: Vec<String> = batch
                .columns()
                .iter()
                .map(|array| {
                    if array.is_null(row) {
                        return String::new();
                    }
                    let value = match array.data_type() {
                        DataType::Utf8 => array.as_string::<i32>().value(row).to_owned(),
                        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
                        DataType::Decimal128(38, 2) => {
                            let cents = array.as_primitive::<Decimal128Type>().value(row);
                            let sign = if cents < 0 { "-" } else { "" };
                            format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
                        }
                        DataType::Date32 => {
                            let days = array.as_primitive::<Date32Type>().value(row);
                            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
                            (epoch + chrono::Duration::days(i64::from(days))).to_string()
                        }
                        other => panic!("unexpected type {other}"),
                    };
                    if value.contains([',', '"', '\r', '\n']) {
                        format!("\"{}\"", value.replace('"', "\"\""))
                    } else {
                        value
                    }
                })
                .collect();
            text.push_str(&fields.join(","));
            text.push('\n');
        }
    }
    (columns, text)
}

/// The files of a run of the sample written as Parquet, by name.
pub(crate) const RUN_FILES: [&str; 6] = [
    "episodes.parquet",
    "ledger.parquet",
    "participants.parquet",
    "providers.parquet",
    "rejects.parquet",
    "summary.json",
];

/// The sample reconciled with `--output-format parquet`: each table's
/// Parquet file holds the committed CSV file's rows in its order, money
/// Decimal128(38, 2), dates Date32, counts Int64; the summary is the CSV
/// run's with the format added (reading such a run back is in
/// `parquet_runs`).
#[test]
fn parquet_outputs_hold_the_csv_outputs_typed() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = crate::support::SAMPLE_ARGS
        .iter()
        .map(|a| match *a {
            a if a.starts_with("--") => a.to_owned(),
            a => root().join(a).display().to_string(),
        })
        .collect();
    args.extend(sample_team_files());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut reconcile = vec!["reconcile", "--out", "out", "--output-format", "parquet"];
    reconcile.extend(&args);
    let run = cli_in(dir.path(), &reconcile);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = dir.path().join("out");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, RUN_FILES);
    let golden = root().join("tests/golden/sample/expected");
    for table in ["episodes", "providers", "ledger", "participants", "rejects"] {
        let (_, text) = parquet_as_csv(&out.join(format!("{table}.parquet")));
        let csv = std::fs::read_to_string(golden.join(format!("{table}.csv"))).unwrap();
        // The CSV run names the claims files as its command gave them.
        let csv = csv.replace(
            "sample-claims/",
            &format!("{}/sample-claims/", root().display()),
        );
        assert_eq!(text, csv, "{table}");
    }
    let (episodes, _) = parquet_as_csv(&out.join("episodes.parquet"));
    let type_of = |name: &str| &episodes.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!(type_of("actual_amount"), &DataType::Decimal128(38, 2));
    assert_eq!(type_of("start_date"), &DataType::Date32);
    assert_eq!(type_of("claim_lines"), &DataType::Int64);
    assert_eq!(type_of("risk_multiplier"), &DataType::Utf8);
    let (ledger, _) = parquet_as_csv(&out.join("ledger.parquet"));
    assert_eq!(ledger[8], ("service_date".to_owned(), DataType::Date32));
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let expected = std::fs::read_to_string(golden.join("summary.json")).unwrap();
    let expected = expected.replace("\n}\n", ",\n  \"output_format\": \"parquet\"\n}\n");
    assert_eq!(summary, expected);

    let prices = root().join("sample-claims/target_prices.csv");
    let prices = prices.to_str().unwrap();

    // Reprice of the CSV run with its own prices, as Parquet: the same
    // tables as the Parquet reconcile, ledger and rejects copied typed.
    let mut csv_run = vec!["reconcile", "--out", "csv"];
    csv_run.extend(&args);
    assert!(cli_in(dir.path(), &csv_run).status.success());
    let pricing = &sample_team_files()[2..];
    let mut reprice = vec!["reprice", "--run", "csv", "--target-prices", prices];
    reprice.extend(pricing.iter().map(String::as_str));
    reprice.extend(["--out", "repriced", "--output-format", "parquet"]);
    let run = cli_in(dir.path(), &reprice);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for table in ["episodes", "providers", "ledger", "participants", "rejects"] {
        let name = format!("{table}.parquet");
        let repriced = parquet_as_csv(&dir.path().join("repriced").join(&name));
        assert_eq!(repriced, parquet_as_csv(&out.join(&name)), "{table}");
    }
}

/// `--excel-safe` alters CSV text for spreadsheets; Parquet has no such
/// view, and the two are refused together.
#[test]
fn excel_safe_and_parquet_outputs_are_refused_together() {
    let dir = tempfile::tempdir().unwrap();
    let run = cli_in(
        dir.path(),
        &[
            "reconcile",
            "--claims",
            "c.csv",
            "--definitions",
            "d",
            "--target-prices",
            "p.csv",
            "--out",
            "out",
            "--excel-safe",
            "--output-format",
            "parquet",
        ],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("cannot be used with"));
}
