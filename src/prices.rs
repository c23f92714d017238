//! Target prices (contract 1.3): one price per episode type, provider, price
//! group and period, with `*` as the regional fallback.
//!
//! Unlike claims, a bad price row is fatal: a reconciliation priced on a
//! half-read price file would settle wrong amounts without anyone noticing.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

use crate::definitions::parse_plain_decimal;
use crate::records::{HeaderProblem, Record, RecordReader, find_columns};

/// The fallback provider of a price row.
pub const ANY_PROVIDER: &str = "*";

const COLUMNS: [&str; 5] = [
    "episode_type",
    "provider_id",
    "price_group",
    "period",
    "target_price",
];

/// A target price file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("{path}: cannot read target prices: {source}")]
    Io {
        /// The file.
        path: PathBuf,
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

/// The price table, keyed exactly as the contract looks prices up.
#[derive(Clone, Debug, Default)]
pub struct TargetPrices {
    prices: HashMap<PriceKey, Decimal>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PriceKey {
    episode_type: String,
    provider_id: String,
    price_group: String,
    period: String,
}

impl TargetPrices {
    /// The price for a provider's episode: its own row, else the `*` row.
    pub fn lookup(
        &self,
        episode_type: &str,
        provider_id: &str,
        price_group: &str,
        period: &str,
    ) -> Option<Decimal> {
        let key = |provider_id: &str| PriceKey {
            episode_type: episode_type.to_owned(),
            provider_id: provider_id.to_owned(),
            price_group: price_group.to_owned(),
            period: period.to_owned(),
        };
        self.prices
            .get(&key(provider_id))
            .or_else(|| self.prices.get(&key(ANY_PROVIDER)))
            .copied()
    }

    /// Every row in a canonical text form, sorted: equal for two files that
    /// give the same prices, whatever their row order or number format.
    pub fn canonical_rows(&self) -> String {
        let mut rows: Vec<String> = self
            .prices
            .iter()
            .map(|(k, price)| {
                format!(
                    "{},{},{},{},{}\n",
                    k.episode_type,
                    k.provider_id,
                    k.price_group,
                    k.period,
                    price.normalize()
                )
            })
            .collect();
        rows.sort_unstable();
        rows.concat()
    }

    /// Reads and checks a target price file.
    pub fn load(path: &Path) -> Result<TargetPrices, Error> {
        let io_error = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        let mut reader = RecordReader::new(BufReader::new(file));
        let mut record = Record::default();
        let row_error = |row, problem: String| Error::Row {
            path: path.to_owned(),
            row,
            problem,
        };
        if !reader.read(&mut record).map_err(io_error)? {
            return Err(row_error(
                1,
                format!(
                    "expected a header row naming {}, found an empty file",
                    COLUMNS.join(", ")
                ),
            ));
        }
        let header_row = record.line();
        let index = find_columns(&record, &COLUMNS).map_err(|problem| match problem {
            HeaderProblem::Encoding => row_error(header_row, "the header row is not UTF-8".into()),
            HeaderProblem::Duplicate(column) => row_error(
                header_row,
                format!("column `{column}` is named twice; expected each column once"),
            ),
        })?;
        let mut columns = [0usize; COLUMNS.len()];
        for (slot, (found, name)) in columns.iter_mut().zip(index.iter().zip(COLUMNS)) {
            *slot = found.ok_or_else(|| {
                row_error(
                    header_row,
                    format!(
                        "missing required column `{name}` (the header must name {})",
                        COLUMNS.join(", ")
                    ),
                )
            })?;
        }
        let width = record.len();
        let mut prices = HashMap::new();
        let mut first_rows: HashMap<PriceKey, u64> = HashMap::new();
        while reader.read(&mut record).map_err(io_error)? {
            let row = record.line();
            let (key, price) =
                parse_row(&record, &columns, width).map_err(|problem| row_error(row, problem))?;
            if let Some(first) = first_rows.get(&key) {
                return Err(row_error(
                    row,
                    format!(
                        "duplicate target price for ({}, {}, {}, {}), first given on row {first}; expected one row per episode_type, provider_id, price_group, period",
                        key.episode_type, key.provider_id, key.price_group, key.period
                    ),
                ));
            }
            first_rows.insert(key.clone(), row);
            prices.insert(key, price);
        }
        Ok(TargetPrices { prices })
    }
}

/// Checks one row; the error says which field and what was expected.
fn parse_row(
    record: &Record,
    columns: &[usize; 5],
    width: usize,
) -> Result<(PriceKey, Decimal), String> {
    if !record.is_complete() {
        return Err("the file ends inside a quoted field; expected a closing quote".into());
    }
    if record.len() != width {
        return Err(format!(
            "expected {width} fields as in the header, found {}",
            record.len()
        ));
    }
    let mut fields = [""; 5];
    for ((field, &column), name) in fields.iter_mut().zip(columns).zip(COLUMNS) {
        let value = record.get(column).unwrap_or_default();
        *field = std::str::from_utf8(value).map_err(|_| format!("field `{name}` is not UTF-8"))?;
        if field.is_empty() {
            return Err(format!(
                "field `{name}` is empty; every field of a target price row is required"
            ));
        }
    }
    let [episode_type, provider_id, price_group, period, price] = fields;
    if !is_period(period) {
        return Err(format!(
            "field `period`: expected a year (2026) or a quarter (2026Q3), found {period:?}"
        ));
    }
    let price = parse_plain_decimal(price)
        // Below a trillion, to six places: see `definitions::MAX_RATE_DECIMALS`.
        .filter(|p| {
            *p >= Decimal::ZERO
                && *p < Decimal::from(1_000_000_000_000_i64)
                && p.normalize().scale() <= 6
        })
        .ok_or_else(|| {
            format!(
                "field `target_price`: expected a decimal >= 0 of at most 12 integer digits and \
                 6 decimal places (so that every product with it is exact), found {price:?}"
            )
        })?;
    let key = PriceKey {
        episode_type: episode_type.to_owned(),
        provider_id: provider_id.to_owned(),
        price_group: price_group.to_owned(),
        period: period.to_owned(),
    };
    Ok((key, price))
}

/// `2026` or `2026Q3`: the two period names an episode can have.
fn is_period(text: &str) -> bool {
    let bytes = text.as_bytes();
    let year = bytes.len() >= 4 && bytes[..4].iter().all(u8::is_ascii_digit);
    year && (bytes.len() == 4
        || (bytes.len() == 6 && bytes[4] == b'Q' && (b'1'..=b'4').contains(&bytes[5])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<TargetPrices, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        std::fs::write(&path, text).unwrap();
        TargetPrices::load(&path)
            .map_err(|e| e.to_string().replace(&path.display().to_string(), "p.csv"))
    }

    const HEADER: &str = "episode_type,provider_id,price_group,period,target_price\n";

    #[test]
    fn falls_back_to_the_regional_price() {
        let prices = load(&format!(
            "{HEADER}LEJR,*,NOMCC,2026Q2,20000.00\nLEJR,330009,NOMCC,2026Q2,25000\n"
        ))
        .unwrap();
        assert_eq!(
            prices.lookup("LEJR", "330009", "NOMCC", "2026Q2"),
            Some(Decimal::from(25000))
        );
        assert_eq!(
            prices
                .lookup("LEJR", "330001", "NOMCC", "2026Q2")
                .unwrap()
                .to_string(),
            "20000.00"
        );
        assert_eq!(prices.lookup("LEJR", "330001", "MCC", "2026Q2"), None);
        assert_eq!(prices.lookup("LEJR", "330001", "NOMCC", "2026"), None);
    }

    #[test]
    fn bad_rows_are_fatal_with_row_and_field() {
        let expected = "expected a decimal >= 0 of at most 12 integer digits and 6 decimal \
                        places (so that every product with it is exact)";
        for bad in ["-1", "1000000000000", "1.0000001"] {
            let e = load(&format!("{HEADER}LEJR,*,NOMCC,2026,{bad}\n")).unwrap_err();
            assert_eq!(
                e,
                format!("p.csv: row 2: field `target_price`: {expected}, found \"{bad}\"")
            );
        }
        assert!(
            load(&format!(
                "{HEADER}LEJR,*,NOMCC,2026,999999999999.999999000\n"
            ))
            .is_ok()
        );
        let e = load(&format!("{HEADER}LEJR,*,,2026,1\n")).unwrap_err();
        assert!(
            e.starts_with("p.csv: row 2: field `price_group` is empty"),
            "{e}"
        );
        let e = load(&format!("{HEADER}LEJR,*,A,2026,1\n\nLEJR,*,A,2026,2\n")).unwrap_err();
        assert!(
            e.starts_with(
                "p.csv: row 4: duplicate target price for (LEJR, *, A, 2026), first given on row 2"
            ),
            "{e}"
        );
        let e = load("episode_type,provider_id,period,target_price\n").unwrap_err();
        assert!(e.contains("missing required column `price_group`"), "{e}");
        let e = load(&format!("{HEADER}LEJR,*,A,2026-Q1,1\n")).unwrap_err();
        assert!(e.contains("field `period`"), "{e}");
        let e = load(&format!("{HEADER}LEJR,*,A,2026\n")).unwrap_err();
        assert!(
            e.contains("expected 5 fields as in the header, found 4"),
            "{e}"
        );
    }
}
