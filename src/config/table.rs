//! The reader of the small lookup tables of the contract (target prices
//! 1.3, risk factors and participants 1.6): CSV files read like the claims
//! file (BOM, line ends, columns by name), where every field is required
//! and a bad row is fatal.
//!
//! Unlike claims, nothing here is rejected row by row: a run made with a
//! half-read price, factor or participant table would settle wrong amounts
//! without anyone noticing. One reader does the checks every such table
//! shares (header, width, UTF-8, empty fields, duplicate keys), so that the
//! tables cannot drift apart in what they accept or how they say it; each
//! table's module only checks and keeps the values of a row.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

use crate::config::definitions::{DECIMAL_DIGITS, parse_plain_decimal};
use crate::input::records::{HeaderProblem, Record, RecordReader, find_columns};
use crate::model::warning::{Warning, WarningKind};

/// A table file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// The file could not be read.
    #[error("{path}: cannot read {what}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the file holds ("target prices").
        what: &'static str,
        /// What the system said.
        source: std::io::Error,
    },
    /// A header or row problem, with its position.
    #[error("{path}: row {row}: {problem}")]
    Row {
        /// The file.
        path: PathBuf,
        /// 1-based line of the record.
        row: u64,
        /// What is wrong and what was expected.
        problem: String,
    },
}

impl crate::error::Classify for TableError {
    /// Target prices, risk factors and participants are the user's
    /// configuration.
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            TableError::Io { source, .. } => ErrorKind::reading(ErrorKind::Configuration, source),
            TableError::Row { .. } => ErrorKind::Configuration,
        }
    }
}

/// The shape of one kind of table, as its messages name it.
#[derive(Clone, Copy, Debug)]
pub struct Table {
    /// What the file holds, for "cannot read target prices".
    pub what: &'static str,
    /// One row's name, for "duplicate target price for (...)" and "every
    /// field of a target price row is required".
    pub row_name: &'static str,
    /// The required columns, found by name; rows are handed over with their
    /// fields in this order.
    pub columns: &'static [&'static str],
    /// How many leading `columns` make a row's key: two rows with the same
    /// key are a fatal error.
    pub key_columns: usize,
}

/// Reads a table, handing each data row to `row` with its 1-based line and
/// its fields (UTF-8, non-empty, in the order of `table.columns`). `row`
/// checks the values and keeps them, or says what is wrong (naming the
/// field and what was expected); its problem becomes a fatal [`TableError`]
/// with the file and row. A row with the key of an earlier row is fatal
/// once `row` has accepted its values, so a row that is wrong in both ways
/// is reported for its values, as its own mistake.
pub fn read_table(
    path: &Path,
    table: &Table,
    mut row: impl FnMut(u64, &[&str]) -> Result<(), String>,
) -> Result<(), TableError> {
    let columns = table.columns;
    let io_error = |source| TableError::Io {
        path: path.to_owned(),
        what: table.what,
        source,
    };
    let row_error = |row, problem: String| TableError::Row {
        path: path.to_owned(),
        row,
        problem,
    };
    let file = File::open(path).map_err(io_error)?;
    let mut reader = RecordReader::new(BufReader::new(file));
    let mut record = Record::default();
    if !reader.read(&mut record).map_err(io_error)? {
        return Err(row_error(
            1,
            format!(
                "expected a header row naming {}, found an empty file",
                columns.join(", ")
            ),
        ));
    }
    let header_row = record.line();
    let index = find_columns(&record, columns).map_err(|problem| match problem {
        HeaderProblem::Encoding => row_error(header_row, "the header row is not UTF-8".into()),
        HeaderProblem::Duplicate(column) => row_error(
            header_row,
            format!("column `{column}` is named twice; expected each column once"),
        ),
    })?;
    let positions = index
        .iter()
        .zip(columns)
        .map(|(found, name)| {
            found.ok_or_else(|| {
                row_error(
                    header_row,
                    format!(
                        "missing required column `{name}` (the header must name {})",
                        columns.join(", ")
                    ),
                )
            })
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let width = record.len();
    let mut first_rows: HashMap<Vec<String>, u64> = HashMap::new();
    while reader.read(&mut record).map_err(io_error)? {
        let line = record.line();
        let fields = row_fields(&record, table, &positions, width)
            .and_then(|fields| row(line, &fields).map(|()| fields))
            .map_err(|problem| row_error(line, problem))?;
        let key: Vec<String> = fields[..table.key_columns]
            .iter()
            .map(|f| (*f).to_owned())
            .collect();
        if let Some(first) = first_rows.get(&key) {
            return Err(row_error(
                line,
                format!(
                    "duplicate {} for ({}), first given on row {first}; expected one row per {}",
                    table.row_name,
                    key.join(", "),
                    columns[..table.key_columns].join(", ")
                ),
            ));
        }
        first_rows.insert(key, line);
    }
    Ok(())
}

/// The fields of one row, in column order; the error says which field and
/// what was expected.
fn row_fields<'r>(
    record: &'r Record,
    table: &Table,
    positions: &[usize],
    width: usize,
) -> Result<Vec<&'r str>, String> {
    if !record.is_complete() {
        return Err("the file ends inside a quoted field; expected a closing quote".into());
    }
    if record.len() != width {
        return Err(format!(
            "expected {width} fields as in the header, found {}",
            record.len()
        ));
    }
    let mut fields = Vec::with_capacity(positions.len());
    for (&position, name) in positions.iter().zip(table.columns) {
        let value = record.get(position).unwrap_or_default();
        let field =
            std::str::from_utf8(value).map_err(|_| format!("field `{name}` is not UTF-8"))?;
        if field.is_empty() {
            return Err(format!(
                "field `{name}` is empty; every field of a {} row is required",
                table.row_name
            ));
        }
        fields.push(field);
    }
    Ok(fields)
}

/// Which episode types a table's rows name, each with its first row and
/// row count: kept while reading so that rows of a type no definition has
/// (a typo such as `LEJX`, which the contract silently ignores) can be
/// pointed out once the definitions are known ([`TypeRows::unknown`]).
#[derive(Clone, Debug, Default)]
pub struct TypeRows {
    /// The file as given.
    file: String,
    /// Per episode type: its first row and how many rows it has.
    types: BTreeMap<String, (u64, u64)>,
}

/// How many known types a warning lists before it says "and N more".
const LISTED_TYPES: usize = 10;

impl TypeRows {
    /// Counts for `path`, empty.
    pub fn new(path: &Path) -> TypeRows {
        TypeRows {
            file: path.display().to_string(),
            types: BTreeMap::new(),
        }
    }

    /// Notes a row of `episode_type` at line `row`.
    pub fn note(&mut self, episode_type: &str, row: u64) {
        let (_, count) = self
            .types
            .entry(episode_type.to_owned())
            .or_insert((row, 0));
        *count += 1;
    }

    /// A warning per episode type of the rows that is neither in `known`
    /// (the definitions' ids, in id order) nor `fallback` (the table's
    /// `*`, if it has one), in type order. `unused` says what such rows
    /// then do ("price nothing").
    pub fn unknown(&self, known: &[&str], fallback: Option<&str>, unused: &str) -> Vec<Warning> {
        let mut listed: Vec<&str> = known.iter().take(LISTED_TYPES).copied().collect();
        if known.len() > LISTED_TYPES {
            listed.push("...");
        }
        let listed = listed.join(", ");
        self.types
            .iter()
            .filter(|(t, _)| !known.contains(&t.as_str()) && fallback != Some(t.as_str()))
            .map(|(episode_type, (first, count))| Warning {
                kind: WarningKind::UnknownEpisodeType,
                file: self.file.clone(),
                detail: format!(
                    "{count} row(s) of episode type {episode_type:?} (the first on row {first}), \
                     which no definition has ({listed}): a typo? They {unused}"
                ),
            })
            .collect()
    }
}

/// A table's rows in canonical text form (one line each, `\n`-ended),
/// sorted: the same text for two files that give the same values, whatever
/// their row order, which is what a fingerprint of the table needs.
pub(crate) fn sorted_rows(rows: impl Iterator<Item = String>) -> String {
    let mut rows: Vec<String> = rows.collect();
    rows.sort_unstable();
    rows.concat()
}

/// A rate-like field of a table (a risk multiplier, a quality score): a
/// plain decimal, `[+-]digits[.digits]`, for which `in_range` holds, read
/// exactly ([`parse_plain_decimal`]). `expected` describes the range ("a
/// decimal > 0") for the message.
pub(crate) fn rate_field(
    name: &str,
    text: &str,
    in_range: fn(Decimal) -> bool,
    expected: &str,
) -> Result<Decimal, String> {
    parse_plain_decimal(text)
        .filter(|d| in_range(*d))
        .ok_or_else(|| {
            format!("field `{name}`: expected {expected} ({DECIMAL_DIGITS}), found {text:?}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAIRS: Table = Table {
        what: "pairs",
        row_name: "pair",
        columns: &["a", "b", "c"],
        key_columns: 2,
    };

    /// The rows read, or the message with the file named `t.csv`.
    fn read(text: &str) -> Result<Vec<(u64, String)>, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        let mut rows = Vec::new();
        read_table(&path, &PAIRS, |row, fields| {
            if fields[2] == "bad" {
                return Err("field `c`: expected good".into());
            }
            rows.push((row, fields.join("|")));
            Ok(())
        })
        .map_err(|e| e.to_string().replace(&path.display().to_string(), "t.csv"))?;
        Ok(rows)
    }

    #[test]
    fn columns_are_found_by_name_and_handed_over_in_order() {
        let rows = read("\u{feff}c,x,b,a\r\n3,-,2,1\r\n\r\n6,-,5,4\r\n").unwrap();
        assert_eq!(rows, [(2, "1|2|3".into()), (4, "4|5|6".into())]);
    }

    #[test]
    fn every_shared_mistake_is_fatal_with_its_row() {
        let e = read("").unwrap_err();
        assert_eq!(
            e,
            "t.csv: row 1: expected a header row naming a, b, c, found an empty file"
        );
        let e = read("a,b\n").unwrap_err();
        assert_eq!(
            e,
            "t.csv: row 1: missing required column `c` (the header must name a, b, c)"
        );
        let e = read("a,b,c,a\n").unwrap_err();
        assert_eq!(
            e,
            "t.csv: row 1: column `a` is named twice; expected each column once"
        );
        let e = read("a,b,c\n1,2\n").unwrap_err();
        assert_eq!(
            e,
            "t.csv: row 2: expected 3 fields as in the header, found 2"
        );
        let e = read("a,b,c\n1,,3\n").unwrap_err();
        assert_eq!(
            e,
            "t.csv: row 2: field `b` is empty; every field of a pair row is required"
        );
        let e = read("a,b,c\n1,2,\"3\n").unwrap_err();
        assert_eq!(
            e,
            "t.csv: row 2: the file ends inside a quoted field; expected a closing quote"
        );
        let e = read("a,b,c\n1,2,bad\n").unwrap_err();
        assert_eq!(e, "t.csv: row 2: field `c`: expected good");
        let e = read("a,b,c\n1,2,3\n1,3,3\n1,2,4\n").unwrap_err();
        assert_eq!(
            e,
            "t.csv: row 4: duplicate pair for (1, 2), first given on row 2; expected one row per a, b"
        );
        // Its own mistake first: a duplicate key with a bad value.
        let e = read("a,b,c\n1,2,3\n1,2,bad\n").unwrap_err();
        assert_eq!(e, "t.csv: row 3: field `c`: expected good");
        let dir = tempfile::tempdir().unwrap();
        let latin1 = dir.path().join("latin1.csv");
        std::fs::write(&latin1, b"a,b,c\n1,\xe9,3\n").unwrap();
        let e = read_table(&latin1, &PAIRS, |_, _| Ok(())).unwrap_err();
        assert!(
            e.to_string().ends_with(": row 2: field `b` is not UTF-8"),
            "{e}"
        );
        let missing = dir.path().join("none.csv");
        let e = read_table(&missing, &PAIRS, |_, _| Ok(())).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("{}: cannot read pairs: ", missing.display())),
            "{e}"
        );
    }

    #[test]
    fn rows_of_a_type_neither_known_nor_the_fallback_are_warned_of_once_per_type() {
        let mut rows = TypeRows::new(Path::new("t.csv"));
        for (t, row) in [("LEJX", 2), ("*", 3), ("LEJR", 4), ("LEJX", 7), ("lejr", 9)] {
            rows.note(t, row);
        }
        let details: Vec<String> = rows
            .unknown(&["LEJR", "SF"], Some("*"), "price nothing")
            .into_iter()
            .map(|w| {
                assert_eq!(
                    (w.kind, w.file.as_str()),
                    (WarningKind::UnknownEpisodeType, "t.csv")
                );
                w.detail
            })
            .collect();
        assert_eq!(
            details,
            [
                "2 row(s) of episode type \"LEJX\" (the first on row 2), which no definition \
                 has (LEJR, SF): a typo? They price nothing",
                "1 row(s) of episode type \"lejr\" (the first on row 9), which no definition \
                 has (LEJR, SF): a typo? They price nothing",
            ]
        );
        // Without a fallback, `*` is a type like any other.
        assert_eq!(rows.unknown(&["LEJR", "SF"], None, "x").len(), 3);
        // A long list of types is cut short.
        let many: Vec<String> = (0..12).map(|i| format!("T{i:02}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let w = rows.unknown(&many, Some("*"), "x");
        assert!(
            w[0].detail
                .contains("(T00, T01, T02, T03, T04, T05, T06, T07, T08, T09, ...)"),
            "{}",
            w[0].detail
        );
    }
}
