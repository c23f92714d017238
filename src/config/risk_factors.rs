//! Risk factors (contract 1.6): one multiplier per episode type, factor and
//! level, with `*` as the fallback type for a `(factor, level)` the type has
//! no row of its own for.
//!
//! Like the target prices, the file is read by [`crate::config::table`]: a bad row
//! is fatal, since a run adjusted with a half-read factor table would settle
//! wrong amounts without anyone noticing.

use std::collections::HashMap;
use std::path::Path;

use rust_decimal::Decimal;

use crate::config::table::{Table, TableError, TypeRows, rate_field, read_table, sorted_rows};
use crate::model::warning::Warning;

/// The fallback episode type of a factor row.
pub const ANY_TYPE: &str = "*";

/// The file's columns; a row's key is the first three.
const TABLE: Table = Table {
    what: "risk factors",
    row_name: "risk factor",
    columns: &["episode_type", "factor", "level", "multiplier"],
    key_columns: 3,
};

/// The factor table, keyed exactly as the contract looks multipliers up.
#[derive(Clone, Debug, Default)]
pub struct RiskFactors {
    multipliers: HashMap<FactorKey, Decimal>,
    /// Which episode types the rows name, to point out a mistyped one.
    types: TypeRows,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct FactorKey {
    episode_type: String,
    factor: String,
    level: String,
}

impl RiskFactors {
    /// Reads and checks a risk factor file.
    pub fn load(path: &Path) -> Result<RiskFactors, TableError> {
        let mut multipliers = HashMap::new();
        let mut types = TypeRows::new(path);
        read_table(path, &TABLE, |row, fields| {
            let &[episode_type, factor, level, multiplier] = fields else {
                unreachable!("read_table hands over one field per column");
            };
            let key = FactorKey {
                episode_type: episode_type.to_owned(),
                factor: factor.to_owned(),
                level: level.to_owned(),
            };
            let multiplier = rate_field(
                "multiplier",
                multiplier,
                |m| m > Decimal::ZERO,
                "a decimal > 0",
            )?;
            types.note(&key.episode_type, row);
            multipliers.insert(key, multiplier);
            Ok(())
        })?;
        Ok(RiskFactors { multipliers, types })
    }

    /// A warning per episode type of the rows that is neither in `known`
    /// (the definitions' ids, in id order) nor the fallback `*`: the
    /// contract ignores such rows, and one is most likely a typo that
    /// leaves the meant type on the fallback's multipliers.
    pub fn unknown_types(&self, known: &[&str]) -> Vec<Warning> {
        self.types.unknown(known, Some(ANY_TYPE), "adjust nothing")
    }

    /// The multiplier of a type's `(factor, level)`: its own row, else the
    /// `*` row. The level is matched as written, case kept (flag levels are
    /// `Y` and `N`; `y` is no level of them).
    pub fn lookup(&self, episode_type: &str, factor: &str, level: &str) -> Option<Decimal> {
        let key = |episode_type: &str| FactorKey {
            episode_type: episode_type.to_owned(),
            factor: factor.to_owned(),
            level: level.to_owned(),
        };
        self.multipliers
            .get(&key(episode_type))
            .or_else(|| self.multipliers.get(&key(ANY_TYPE)))
            .copied()
    }

    /// Every row in a canonical text form, sorted: equal for two files that
    /// give the same multipliers, whatever their row order or number format
    /// (for fingerprints, as [`crate::config::prices::TargetPrices::canonical_rows`]).
    pub fn canonical_rows(&self) -> String {
        sorted_rows(self.multipliers.iter().map(|(k, multiplier)| {
            format!(
                "{},{},{},{}\n",
                k.episode_type,
                k.factor,
                k.level,
                multiplier.normalize()
            )
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `risk_factors.csv` of the contract's example 04-team-settlement, as
    /// it is (the spec folder is not part of this repository).
    const EXAMPLE_TEXT: &str = "episode_type,factor,level,multiplier
*,age,<65,0.90
*,age,65-74,1.00
*,age,75-84,1.10
*,age,85+,1.25
SHFFT,age,75-84,1.05
LEJR,dual,Y,1.15
*,dual,N,1.00
*,dual,Y,1.20
";

    fn load(text: &str) -> Result<RiskFactors, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, text).unwrap();
        RiskFactors::load(&path)
            .map_err(|e| e.to_string().replace(&path.display().to_string(), "r.csv"))
    }

    const HEADER: &str = "episode_type,factor,level,multiplier\n";

    fn text(d: Option<Decimal>) -> Option<String> {
        d.map(|d| d.to_string())
    }

    #[test]
    fn the_example_falls_back_to_the_star_rows() {
        let factors = load(EXAMPLE_TEXT).unwrap();
        // LEJR has a dual Y row of its own; SHFFT has not.
        assert_eq!(
            text(factors.lookup("LEJR", "dual", "Y")).as_deref(),
            Some("1.15")
        );
        assert_eq!(
            text(factors.lookup("SHFFT", "dual", "Y")).as_deref(),
            Some("1.20")
        );
        assert_eq!(
            text(factors.lookup("LEJR", "dual", "N")).as_deref(),
            Some("1.00")
        );
        assert_eq!(
            text(factors.lookup("SHFFT", "age", "75-84")).as_deref(),
            Some("1.05")
        );
        assert_eq!(
            text(factors.lookup("LEJR", "age", "75-84")).as_deref(),
            Some("1.10")
        );
        assert_eq!(
            text(factors.lookup("LEJR", "age", "<65")).as_deref(),
            Some("0.90")
        );
        // Levels as written, case kept; unknown factors find nothing.
        assert_eq!(factors.lookup("LEJR", "dual", "y"), None);
        assert_eq!(factors.lookup("SHFFT", "dual", "y"), None);
        assert_eq!(factors.lookup("LEJR", "sex", "F"), None);
    }

    #[test]
    fn canonical_rows_ignore_order_and_number_format() {
        let a = load(&format!("{HEADER}*,dual,Y,1.20\nLEJR,dual,Y,1.15\n")).unwrap();
        let b = load(&format!("{HEADER}LEJR,dual,Y,+1.150\n*,dual,Y,1.2\n")).unwrap();
        assert_eq!(a.canonical_rows(), "*,dual,Y,1.2\nLEJR,dual,Y,1.15\n");
        assert_eq!(a.canonical_rows(), b.canonical_rows());
    }

    #[test]
    fn bad_rows_are_fatal_with_row_and_field() {
        let e = load(&format!(
            "{HEADER}*,dual,Y,1.20\n*,dual,N,1\n*,dual,Y,1.25\n"
        ))
        .unwrap_err();
        assert_eq!(
            e,
            "r.csv: row 4: duplicate risk factor for (*, dual, Y), first given on row 2; \
             expected one row per episode_type, factor, level"
        );
        // The same level in another case is another level.
        assert!(load(&format!("{HEADER}*,dual,Y,1.20\n*,dual,y,1.25\n")).is_ok());
        for bad in ["0", "0.000", "-1.1", "1e2", ".5", "1,5"] {
            let e = load(&format!("{HEADER}*,dual,Y,\"{bad}\"\n")).unwrap_err();
            assert_eq!(
                e,
                format!(
                    "r.csv: row 2: field `multiplier`: expected a decimal > 0 (at most 28 \
                     significant digits), found {bad:?}"
                )
            );
        }
        // Any number of places, read exactly (contract 1.6), trailing zeros
        // kept as written.
        for exact in ["1.00000000001", "1.0000000001000", "1.0987654321987654321"] {
            let factors = load(&format!("{HEADER}*,dual,Y,{exact}\n")).unwrap();
            assert_eq!(
                text(factors.lookup("X", "dual", "Y")).as_deref(),
                Some(exact)
            );
        }
        let e = load(&format!("{HEADER}*,,Y,1\n")).unwrap_err();
        assert_eq!(
            e,
            "r.csv: row 2: field `factor` is empty; every field of a risk factor row is required"
        );
        let e = load("episode_type,factor,multiplier\n").unwrap_err();
        assert_eq!(
            e,
            "r.csv: row 1: missing required column `level` (the header must name \
             episode_type, factor, level, multiplier)"
        );
        let dir = tempfile::tempdir().unwrap();
        let e = RiskFactors::load(&dir.path().join("none.csv")).unwrap_err();
        assert!(
            e.to_string().contains(": cannot read risk factors: "),
            "{e}"
        );
    }
}
