//! Target prices (contract 1.3): one price per episode type, provider, price
//! group and period, with `*` as the regional fallback.
//!
//! Unlike claims, a bad price row is fatal: a reconciliation priced on a
//! half-read price file would settle wrong amounts without anyone noticing.
//! The file is read by [`crate::config::table`], which the other lookup tables of
//! the contract (risk factors, participants) share.

use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;

use crate::config::definitions::{DECIMAL_DIGITS, parse_plain_decimal};
use crate::config::table::{Table, TableError, TypeRows, read_table, sorted_rows};
use crate::model::warning::Warning;

/// The fallback provider of a price row.
pub const ANY_PROVIDER: &str = "*";

/// The file's columns; a row's key is the first four.
const TABLE: Table = Table {
    what: "target prices",
    row_name: "target price",
    columns: &[
        "episode_type",
        "provider_id",
        "price_group",
        "period",
        "target_price",
    ],
    key_columns: 4,
};

/// The price table, keyed exactly as the contract looks prices up, with a
/// fast hash: it is looked up once or twice an episode, and its order is
/// never seen (`canonical_rows` sorts).
#[derive(Clone, Debug, Default)]
pub struct TargetPrices {
    /// Each price, with the row of the file it is on.
    prices: FxHashMap<PriceKey, (Decimal, u64)>,
    /// The file, to name it with a row.
    path: PathBuf,
    /// Which episode types the rows name, to point out a mistyped one.
    types: TypeRows,
}

#[derive(Clone, Debug)]
struct PriceKey {
    episode_type: String,
    provider_id: String,
    price_group: String,
    period: String,
}

/// A price row's key as four borrowed fields: what [`TargetPrices::lookup`]
/// looks up with, so that pricing an episode, once or twice, allocates
/// nothing (four owned strings a lookup were a tenth of a reprice's
/// instructions). A stored [`PriceKey`] and a borrowed key hash and compare
/// through the one [`KeyFields::fields`], so they agree by construction.
trait KeyFields {
    fn fields(&self) -> [&str; 4];
}

impl KeyFields for PriceKey {
    fn fields(&self) -> [&str; 4] {
        [
            &self.episode_type,
            &self.provider_id,
            &self.price_group,
            &self.period,
        ]
    }
}

impl KeyFields for [&str; 4] {
    fn fields(&self) -> [&str; 4] {
        *self
    }
}

impl<'a> std::borrow::Borrow<dyn KeyFields + 'a> for PriceKey {
    fn borrow(&self) -> &(dyn KeyFields + 'a) {
        self
    }
}

impl std::hash::Hash for dyn KeyFields + '_ {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.fields().hash(state);
    }
}

impl PartialEq for dyn KeyFields + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.fields() == other.fields()
    }
}

impl Eq for dyn KeyFields + '_ {}

impl std::hash::Hash for PriceKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self as &dyn KeyFields).hash(state);
    }
}

impl PartialEq for PriceKey {
    fn eq(&self, other: &Self) -> bool {
        self.fields() == other.fields()
    }
}

impl Eq for PriceKey {}

impl TargetPrices {
    /// The price for a provider's episode: its own row, else the `*` row.
    pub fn lookup(
        &self,
        episode_type: &str,
        provider_id: &str,
        price_group: &str,
        period: &str,
    ) -> Option<Decimal> {
        self.lookup_row(episode_type, provider_id, price_group, period)
            .map(|(price, _)| price)
    }

    /// [`TargetPrices::lookup`], with the row of the file the price is on.
    pub fn lookup_row(
        &self,
        episode_type: &str,
        provider_id: &str,
        price_group: &str,
        period: &str,
    ) -> Option<(Decimal, u64)> {
        let price = |provider_id: &str| {
            let key = [episode_type, provider_id, price_group, period];
            self.prices.get(&key as &dyn KeyFields).copied()
        };
        price(provider_id).or_else(|| price(ANY_PROVIDER))
    }

    /// The file the prices were read from, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every row in a canonical text form, sorted: equal for two files that
    /// give the same prices, whatever their row order or number format.
    pub fn canonical_rows(&self) -> String {
        sorted_rows(self.prices.iter().map(|(k, (price, _))| {
            format!(
                "{},{},{},{},{}\n",
                k.episode_type,
                k.provider_id,
                k.price_group,
                k.period,
                price.normalize()
            )
        }))
    }

    /// Reads and checks a target price file.
    pub fn load(path: &Path) -> Result<TargetPrices, TableError> {
        let mut prices = FxHashMap::default();
        let mut types = TypeRows::new(path);
        read_table(path, &TABLE, |row, fields| {
            let (key, price) = parse_row(fields)?;
            types.note(&key.episode_type, row);
            prices.insert(key, (price, row));
            Ok(())
        })?;
        Ok(TargetPrices {
            prices,
            path: path.to_owned(),
            types,
        })
    }

    /// A warning per episode type of the rows that is not in `known` (the
    /// definitions' ids, in id order): such rows can match no episode, and
    /// are most likely a typo that leaves the meant type's episodes
    /// `no_target_price`. `*` is no fallback here (the provider is), so it
    /// is an unknown type too.
    pub fn unknown_types(&self, known: &[&str]) -> Vec<Warning> {
        self.types.unknown(known, None, "price nothing")
    }
}

/// Checks the values of one row (every field there and non-empty); the
/// error says which field and what was expected.
fn parse_row(fields: &[&str]) -> Result<(PriceKey, Decimal), String> {
    let &[episode_type, provider_id, price_group, period, price] = fields else {
        unreachable!("read_table hands over one field per column");
    };
    if !is_period(period) {
        return Err(format!(
            "field `period`: expected a year (2026) or a quarter (2026Q3), found {period:?}"
        ));
    }
    let price = parse_plain_decimal(price)
        .filter(|p| *p >= Decimal::ZERO)
        .ok_or_else(|| {
            format!(
                "field `target_price`: expected a decimal >= 0 ({DECIMAL_DIGITS}), found {price:?}"
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

/// `2026` or `2026Q3`: the two period names an episode can have (the
/// participants file of contract 1.6 writes its periods the same way).
pub(crate) fn is_period(text: &str) -> bool {
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
        let expected = "expected a decimal >= 0 (at most 28 significant digits)";
        for bad in ["-1", "1.00000000000000000000000000001", "1e3"] {
            let e = load(&format!("{HEADER}LEJR,*,NOMCC,2026,{bad}\n")).unwrap_err();
            assert_eq!(
                e,
                format!("p.csv: row 2: field `target_price`: {expected}, found \"{bad}\"")
            );
        }
        // Any number of places and digits a decimal holds, exactly
        // (contract 1.3).
        let long = "1000000000000.1234567";
        let prices = load(&format!("{HEADER}LEJR,*,NOMCC,2026,{long}\n")).unwrap();
        let price = prices.lookup("LEJR", "1", "NOMCC", "2026").unwrap();
        assert_eq!(price.to_string(), long);
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
