//! Runs written as Parquet read back (feature `parquet`, RULES 52): the
//! README's sample reconciled as Parquet then repriced, trued up, compared
//! under scenarios and reported gives the CSV outputs a CSV run of it
//! gives, byte for byte; `true-up`, `scenarios` and `reprice` write their
//! tables as Parquet on request, holding those CSV files' rows; and a
//! damaged or foreign Parquet table in a run folder is one line naming
//! the file and its row, or its schema's column.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Decimal128Type;
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::parquet::{RUN_FILES, parquet_as_csv};
use crate::support::{SAMPLE_ARGS, assert_fails_in_one_line, cli_in, sample_team_files};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A sample file by its path from the repository root, absolute.
fn sample(path: &str) -> String {
    root().join(path).display().to_string()
}

/// Runs the binary in `dir` and asserts it succeeded.
fn run_ok(dir: &Path, args: &[&str]) -> Output {
    let run = cli_in(dir, args);
    assert!(
        run.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    run
}

/// The README's two runs of the sample reconciled in `dir`: `initial` (as
/// of 2026-03-31) and `later` (every claim version), with `extra` (an
/// output format). Inputs are named by absolute path, outputs relative to
/// `dir`, so two folders' runs differ only in how their tables are written.
fn initial_and_later(dir: &Path, extra: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut inputs: Vec<String> = SAMPLE_ARGS
        .iter()
        .map(|a| match *a {
            a if a.starts_with("--") => a.to_owned(),
            a => sample(a),
        })
        .collect();
    inputs.extend(sample_team_files());
    for (name, as_of) in [("initial", Some("2026-03-31")), ("later", None)] {
        let mut args = vec!["reconcile", "--out", name, "--quiet"];
        args.extend(inputs.iter().map(String::as_str));
        args.extend(as_of.map_or(vec![], |d| vec!["--as-of", d]));
        args.extend(extra);
        run_ok(dir, &args);
    }
}

/// The pricing files of the README's sample (risk factors, participants,
/// settlement), absolute.
fn pricing() -> Vec<String> {
    sample_team_files()[2..].to_vec()
}

/// The commands of the README's steps 3 to 5 and the report, each from a
/// run folder of `initial_and_later` into `out`, with `extra`.
fn commands(out: &str, extra: &[&str]) -> Vec<Vec<String>> {
    let strings = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
    let what_if = sample("sample-claims/target_prices_what_if.csv");
    let prices = sample("sample-claims/target_prices.csv");
    let mut reprice = strings(&["reprice", "--run", "later", "--target-prices", &what_if]);
    reprice.extend(pricing());
    let true_up = strings(&["true-up", "--previous", "initial", "--current", "later"]);
    let mut scenarios = strings(&["scenarios", "--run", "later", "--target-prices"]);
    scenarios.extend([prices, what_if]);
    scenarios.extend(pricing());
    let mut all = vec![reprice, true_up, scenarios];
    for command in &mut all {
        command.extend(strings(&["--out", out]));
        command.extend(strings(extra));
    }
    all
}

/// `args` as the binary takes them.
fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Every file of the folder `dir`, by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            (name, std::fs::read(entry.path()).unwrap())
        })
        .collect()
}

/// The sample reconciled twice, as CSV in `csv/` and as Parquet in
/// `parquet/`.
fn csv_and_parquet_runs() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let base = tempfile::tempdir().unwrap();
    let (csv, parquet) = (base.path().join("csv"), base.path().join("parquet"));
    initial_and_later(&csv, &[]);
    initial_and_later(&parquet, &["--output-format", "parquet"]);
    (base, csv, parquet)
}

/// `reprice`, `true-up`, `scenarios` (each exact and Excel-safe) and
/// `report` of the Parquet runs write, byte for byte, what they write of
/// the CSV runs, and print the same paragraph: the Parquet tables are read
/// as the text their CSV twins hold.
#[test]
fn a_parquet_run_is_read_back_as_its_csv_twin() {
    let (_base, csv, parquet) = csv_and_parquet_runs();
    // The Parquet runs have no CSV table to fall back on.
    let names: Vec<String> = files(&parquet.join("later")).into_keys().collect();
    assert_eq!(names, RUN_FILES);
    let mut all = commands("out", &[]);
    all.extend(commands("safe", &["--excel-safe"]));
    for command in &all {
        let args = strs(command);
        let from_csv = run_ok(&csv, &args);
        let from_parquet = run_ok(&parquet, &args);
        assert_eq!(
            String::from_utf8_lossy(&from_parquet.stdout),
            String::from_utf8_lossy(&from_csv.stdout),
            "{}",
            args[0]
        );
        let out = args[args.iter().position(|a| *a == "--out").unwrap() + 1];
        let (expected, actual) = (files(&csv.join(out)), files(&parquet.join(out)));
        // Not vacuous: every table has rows (the header and more).
        for (name, bytes) in &expected {
            assert!(bytes.iter().filter(|&&b| b == b'\n').count() > 1, "{name}");
        }
        assert_eq!(
            actual.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{}",
            args[0]
        );
        for (name, bytes) in &expected {
            assert_eq!(
                String::from_utf8_lossy(&actual[name]),
                String::from_utf8_lossy(bytes),
                "{} {out}/{name}",
                args[0]
            );
        }
        std::fs::remove_dir_all(csv.join(out)).unwrap();
        std::fs::remove_dir_all(parquet.join(out)).unwrap();
    }
    let report = [
        "report",
        "--run",
        "later",
        "--previous",
        "initial",
        "--out",
        "report.html",
    ];
    run_ok(&csv, &report);
    run_ok(&parquet, &report);
    let page = |dir: &Path| std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(page(&csv).contains("data-src=\"ledger.csv:"));
    assert_eq!(page(&parquet), page(&csv));
}

/// `reprice`, `true-up` and `scenarios` with `--output-format parquet`,
/// from a Parquet run: each table's Parquet file holds the rows of the CSV
/// file the same command writes from the CSV run, in its order, money
/// Decimal128(38, 2) and counts Int64 (a scenario's column named by its
/// label); the summary is the CSV one with the format added.
#[test]
fn true_up_scenarios_and_reprice_write_parquet_tables() {
    let (_base, csv, parquet) = csv_and_parquet_runs();
    let as_csv = commands("out", &[]);
    let as_parquet = commands("out", &["--output-format", "parquet"]);
    let tables: [&[&str]; 3] = [
        &["episodes", "providers", "ledger", "rejects", "participants"],
        &[
            "true_up_episodes",
            "true_up_providers",
            "true_up_participants",
        ],
        &["scenarios", "scenarios_participants"],
    ];
    for ((csv_command, parquet_command), tables) in as_csv.iter().zip(&as_parquet).zip(tables) {
        run_ok(&csv, &strs(csv_command));
        run_ok(&parquet, &strs(parquet_command));
        let (expected, written) = (csv.join("out"), parquet.join("out"));
        let mut names: Vec<String> = files(&written).into_keys().collect();
        names.sort();
        let mut wanted: Vec<String> = tables.iter().map(|t| format!("{t}.parquet")).collect();
        wanted.push("summary.json".to_owned());
        wanted.sort();
        assert_eq!(names, wanted);
        for table in tables {
            let (columns, text) = parquet_as_csv(&written.join(format!("{table}.parquet")));
            let csv_text = std::fs::read_to_string(expected.join(format!("{table}.csv"))).unwrap();
            assert_eq!(text, csv_text, "{table}");
            let type_of = |name: &str| columns.iter().find(|(n, _)| n == name).map(|(_, t)| t);
            let money = Some(&DataType::Decimal128(38, 2));
            match *table {
                "true_up_episodes" => assert_eq!(type_of("gain_loss_change"), money),
                "true_up_providers" => {
                    assert_eq!(type_of("previous_episodes"), Some(&DataType::Int64));
                    assert_eq!(type_of("amount_due"), money);
                }
                "true_up_participants" => {
                    assert_eq!(type_of("previous_quality_score"), Some(&DataType::Utf8));
                }
                "scenarios" => {
                    let label = sample("sample-claims/target_prices_what_if.csv");
                    assert_eq!(type_of(&label), money);
                }
                _ => {}
            }
        }
        let summary = std::fs::read_to_string(written.join("summary.json")).unwrap();
        let csv_summary = std::fs::read_to_string(expected.join("summary.json")).unwrap();
        let csv_summary = csv_summary.replace("\n}\n", ",\n  \"output_format\": \"parquet\"\n}\n");
        assert_eq!(summary, csv_summary);
        std::fs::remove_dir_all(&expected).unwrap();
        std::fs::remove_dir_all(&written).unwrap();
    }
}

/// The table `name` of the run folder `dir`, as one batch.
fn read_table(dir: &Path, name: &str) -> RecordBatch {
    let file = File::open(dir.join(name)).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .with_batch_size(1 << 20)
        .build()
        .unwrap();
    let mut batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    assert_eq!(batches.len(), 1, "{name}");
    batches.remove(0)
}

/// Writes `batch` as the table `name` of the run folder `dir`.
fn write_table(dir: &Path, name: &str, batch: &RecordBatch) {
    let file = File::create(dir.join(name)).unwrap();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
}

/// `batch` with its column `column` replaced by `array` (of `data_type`).
fn replaced(
    batch: &RecordBatch,
    column: &str,
    data_type: DataType,
    array: ArrayRef,
) -> RecordBatch {
    let schema = batch.schema();
    let index = schema.index_of(column).unwrap();
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[index] = Field::new(column, data_type, true);
    let mut columns = batch.columns().to_vec();
    columns[index] = array;
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

/// The text column `column` of `batch` with its row `row` (1-based) set to
/// `value`.
fn with_text(batch: &RecordBatch, column: &str, row: usize, value: &str) -> RecordBatch {
    let old = batch.column_by_name(column).unwrap().as_string::<i32>();
    let values: Vec<Option<&str>> = (0..old.len())
        .map(|i| match i {
            i if i + 1 == row => Some(value),
            i if old.is_null(i) => None,
            i => Some(old.value(i)),
        })
        .collect();
    let array = Arc::new(StringArray::from(values));
    replaced(batch, column, DataType::Utf8, array)
}

/// A copy of the run folder `run` as `name` beside it, with `edit` applied.
fn variant(run: &Path, name: &str, edit: impl FnOnce(&Path)) -> String {
    let copy = run.with_file_name(name);
    std::fs::create_dir(&copy).unwrap();
    for (file, bytes) in files(run) {
        std::fs::write(copy.join(file), bytes).unwrap();
    }
    edit(&copy);
    name.to_owned()
}

/// A table of a Parquet run that is damaged, foreign, typed as money is
/// never read, or holds a value a run never writes is refused in one line
/// naming its file and where: the row (1-based, a Parquet table having no
/// header row), or the column in its `schema`. The ledger and rejects,
/// which `reprice` copies and `report` streams, are opened before anything
/// is written; one whose data does not decode fails the copy as the run's
/// error (exit 1), leaving no output.
#[test]
fn a_damaged_or_foreign_parquet_table_is_named_in_one_line() {
    let base = tempfile::tempdir().unwrap();
    initial_and_later(base.path(), &["--output-format", "parquet"]);
    let run = base.path().join("later");
    let truncate = |name: &'static str| {
        move |dir: &Path| {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            std::fs::write(dir.join(name), &bytes[..bytes.len() / 2]).unwrap();
        }
    };
    let episodes = read_table(&run, "episodes.parquet");
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            variant(&run, "truncated", truncate("episodes.parquet")),
            vec!["truncated/episodes.parquet: cannot read the Parquet file"],
        ),
        (
            variant(&run, "foreign", |dir| {
                let ledger = read_table(&run, "ledger.parquet");
                write_table(dir, "episodes.parquet", &ledger);
            }),
            vec!["foreign/episodes.parquet: schema: missing column `episode_type`"],
        ),
        (
            variant(&run, "float", |dir| {
                let amounts = episodes
                    .column_by_name("actual_amount")
                    .unwrap()
                    .as_primitive::<Decimal128Type>();
                let floats: Float64Array = amounts
                    .iter()
                    .map(|cents| cents.map(|c| c as f64 / 100.0))
                    .collect();
                let batch = replaced(
                    &episodes,
                    "actual_amount",
                    DataType::Float64,
                    Arc::new(floats),
                );
                write_table(dir, "episodes.parquet", &batch);
            }),
            vec!["float/episodes.parquet: schema: column `actual_amount` is Float64"],
        ),
        (
            variant(&run, "bad-status", |dir| {
                let batch = with_text(&episodes, "status", 3, "bogus");
                write_table(dir, "episodes.parquet", &batch);
            }),
            vec!["bad-status/episodes.parquet: row 3: status \"bogus\" does not parse"],
        ),
        (
            variant(&run, "bad-ledger", truncate("ledger.parquet")),
            vec!["bad-ledger/ledger.parquet: cannot read the Parquet file"],
        ),
        (
            // Its footer reads, its data does not: found when copied or
            // streamed, and still the run's error, not the write's.
            variant(&run, "corrupt-ledger", |dir| {
                let mut bytes = std::fs::read(dir.join("ledger.parquet")).unwrap();
                bytes[200..1200].iter_mut().for_each(|b| *b ^= 0x5a);
                std::fs::write(dir.join("ledger.parquet"), bytes).unwrap();
            }),
            vec!["corrupt-ledger/ledger.parquet: cannot read the Parquet file: from row 1: "],
        ),
        (
            variant(&run, "foreign-rejects", |dir| {
                let ledger = read_table(&run, "ledger.parquet");
                write_table(dir, "rejects.parquet", &ledger);
            }),
            vec!["foreign-rejects/rejects.parquet: schema: missing column `file`"],
        ),
    ];
    let prices = sample("sample-claims/target_prices.csv");
    for (folder, needles) in &cases {
        let mut reprice = vec!["reprice", "--run", folder, "--target-prices", &prices];
        let pricing = pricing();
        reprice.extend(pricing.iter().map(String::as_str));
        reprice.extend(["--out", "out"]);
        let mut needles = needles.clone();
        needles.push("expected the output of `episode-recon reconcile`");
        assert_fails_in_one_line(&cli_in(base.path(), &reprice), 1, &needles);
        let report = ["report", "--run", folder, "--out", "page.html"];
        assert_fails_in_one_line(&cli_in(base.path(), &report), 1, &needles);
        assert!(!base.path().join("out").exists());
        assert!(!base.path().join("page.html").exists());
    }

    // The ledger's rows are read by the report only: one naming an episode
    // the run does not have is named by its row.
    let ledger = read_table(&run, "ledger.parquet");
    let folder = variant(&run, "bad-ledger-row", |dir| {
        let batch = with_text(&ledger, "episode_id", 5, "LEJR:nobody:C0");
        write_table(dir, "ledger.parquet", &batch);
    });
    let report = ["report", "--run", &folder, "--out", "page.html"];
    assert_fails_in_one_line(
        &cli_in(base.path(), &report),
        1,
        &[
            "bad-ledger-row/ledger.parquet: row 5: episode \"LEJR:nobody:C0\" is not in episodes.parquet",
        ],
    );
}
