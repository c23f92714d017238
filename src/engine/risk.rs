//! Risk levels (contract 3.2): what each factor of a definition's `[risk]`
//! says about a beneficiary at the anchor start.
//!
//! Levels are computed where the enrollment is, when episodes are built,
//! and written to `episodes.csv`; multipliers are looked up from the levels
//! at pricing time. So `reprice` can test other risk coefficients from a
//! run's outputs without the beneficiaries files.

use chrono::Datelike;

use crate::config::definitions::{AGE_FACTOR, Risk, RiskFactor};
use crate::input::beneficiaries::{Enrollee, Month};
use crate::model::Date;

/// Each factor with its level, in the definition's order: the level is
/// `None` where the factor has none.
pub type Levels = Vec<(String, Option<String>)>;

/// Each factor's level for an episode anchored on `anchor_start`, in the
/// definition's order.
pub fn levels(risk: &Risk, enrollee: Option<&Enrollee>, anchor_start: Date) -> Levels {
    risk.factors
        .iter()
        .map(|factor| (factor.name.clone(), level(factor, enrollee, anchor_start)))
        .collect()
}

fn level(factor: &RiskFactor, enrollee: Option<&Enrollee>, anchor_start: Date) -> Option<String> {
    let value = if factor.name == AGE_FACTOR {
        let birth = enrollee?.birth_date?;
        age_on(birth, anchor_start).to_string()
    } else {
        let row = enrollee?.months.get(&Month::of(anchor_start))?;
        row.attribute(&factor.name)
            .filter(|v| !v.is_empty())?
            .to_owned()
    };
    match &factor.bands {
        None => Some(value),
        Some(bands) => band_of(bands, parse_integer(&value)?),
    }
}

/// Whole years from `birth` to `on`. A birthday on `on` counts, and a 29
/// February birthday falls on 1 March in a common year (one is not yet a
/// year older on 28 February).
pub fn age_on(birth: Date, on: Date) -> i64 {
    let years = i64::from(on.year()) - i64::from(birth.year());
    let before_birthday = (on.month(), on.day()) < (birth.month(), birth.day());
    years - i64::from(before_birthday)
}

/// A banded value as the contract spells it: digits with an optional `-`,
/// of any length. Band edges are TOML integers (`i64`), so a value beyond
/// `i128` is beyond every edge on its side, where saturating keeps it.
fn parse_integer(text: &str) -> Option<i128> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Only overflow fails on digits alone.
    Some(
        text.parse()
            .unwrap_or(if negative { i128::MIN } else { i128::MAX }),
    )
}

/// The band label of `value` for edges `[b1, ..., bk]`: `<b1`, `bk+`, and
/// between two edges `bi` when the band is one wide, else `bi-c` with
/// `c = bi+1 - 1` (`[65, 75, 85]` gives `<65`, `65-74`, `75-84`, `85+`).
/// `None` only for edges that are not the validated, non-empty ascending
/// list.
pub fn band_of(bands: &[i64], value: i128) -> Option<String> {
    let (first, last) = (*bands.first()?, *bands.last()?);
    if value < i128::from(first) {
        return Some(format!("<{first}"));
    }
    if value >= i128::from(last) {
        return Some(format!("{last}+"));
    }
    let pair = bands
        .windows(2)
        .find(|w| i128::from(w[0]) <= value && value < i128::from(w[1]))?;
    let (low, next) = (pair[0], pair[1]);
    Some(if next == low + 1 {
        low.to_string()
    } else {
        format!("{low}-{}", next - 1)
    })
}

/// `risk_levels` of `episodes.csv`: `factor=level` pairs in factor order
/// joined by `;`, a factor without a level written `factor=`.
pub fn format_levels(levels: &[(String, Option<String>)]) -> String {
    levels
        .iter()
        .map(|(factor, level)| format!("{factor}={}", level.as_deref().unwrap_or("")))
        .collect::<Vec<_>>()
        .join(";")
}

/// Reads `risk_levels` back as [`format_levels`] wrote it: each pair split
/// at its first `=` (a factor name never holds one, a level may). `None`
/// for a text that is not such a list.
pub fn parse_levels(text: &str) -> Option<Levels> {
    text.split(';')
        .map(|pair| {
            let (factor, level) = pair.split_once('=')?;
            let level = (!level.is_empty()).then(|| level.to_owned());
            (!factor.is_empty()).then(|| (factor.to_owned(), level))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> Date {
        Date::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn age_counts_the_birthday_and_a_leap_day_birthday_falls_on_1_march() {
        assert_eq!(age_on(date(1951, 1, 12), date(2026, 1, 12)), 75);
        assert_eq!(age_on(date(1951, 1, 12), date(2026, 1, 11)), 74);
        assert_eq!(age_on(date(1947, 9, 15), date(2026, 2, 2)), 78);
        assert_eq!(age_on(date(1960, 2, 29), date(2025, 2, 28)), 64);
        assert_eq!(age_on(date(1960, 2, 29), date(2025, 3, 1)), 65);
        assert_eq!(age_on(date(1960, 2, 29), date(2024, 2, 29)), 64);
    }

    #[test]
    fn band_labels_take_each_of_their_forms() {
        let age = [65, 75, 85];
        assert_eq!(band_of(&age, 64).unwrap(), "<65");
        assert_eq!(band_of(&age, 65).unwrap(), "65-74");
        assert_eq!(band_of(&age, 74).unwrap(), "65-74");
        assert_eq!(band_of(&age, 75).unwrap(), "75-84");
        assert_eq!(band_of(&age, 85).unwrap(), "85+");
        let hcc = [1, 2, 3, 4];
        assert_eq!(band_of(&hcc, 0).unwrap(), "<1");
        assert_eq!(band_of(&hcc, 1).unwrap(), "1");
        assert_eq!(band_of(&hcc, 3).unwrap(), "3");
        assert_eq!(band_of(&hcc, 4).unwrap(), "4+");
        assert_eq!(band_of(&[0], -3).unwrap(), "<0");
        assert_eq!(band_of(&[0], 0).unwrap(), "0+");
    }

    #[test]
    fn banded_values_must_be_integers() {
        assert_eq!(parse_integer("12"), Some(12));
        assert_eq!(parse_integer("-2"), Some(-2));
        assert_eq!(parse_integer("007"), Some(7));
        // Past `i64` (a review found such values given no level): beyond
        // every edge on their side, however long.
        assert_eq!(
            band_of(&[0, 10], parse_integer("9223372036854775808").unwrap()).unwrap(),
            "10+"
        );
        assert_eq!(
            band_of(&[0, 10], parse_integer("-9223372036854775809").unwrap()).unwrap(),
            "<0"
        );
        let huge = "9".repeat(60);
        assert_eq!(
            band_of(&[i64::MAX], parse_integer(&huge).unwrap()).unwrap(),
            format!("{}+", i64::MAX)
        );
        let below = format!("-{huge}");
        assert_eq!(
            band_of(&[i64::MIN], parse_integer(&below).unwrap()).unwrap(),
            format!("<{}", i64::MIN)
        );
        for bad in ["", "-", "+3", "1.0", "1e2", " 3", "x"] {
            assert_eq!(parse_integer(bad), None, "{bad}");
        }
    }
}
