//! Exact money: whole cents in an integer, with the contract's one rounding.
//!
//! Settlements are made on these numbers, so no floating point ever touches
//! them. Amounts are held as cents in an `i128`, and every rounding in the
//! engine goes through [`Money::round_half_away`], the only rounding the
//! contract allows: to cents, half away from zero.
//!
//! An `i128` of cents holds any realistic sum, but not any sum of what a file
//! may hold: two hand-edited 36-digit totals of a run folder already exceed
//! it. So `Money` has no `+`, `-` or `Sum`: every addition names how it stays
//! in range, either [`Money::checked_add`] / [`Money::checked_sub`] /
//! [`Money::checked_sum`], whose `None` the caller turns into an input error
//! ([`TooLarge`] or a read error naming the file), or
//! [`Money::add_claim`] / [`Money::sub_claim`] on the per-line claims paths,
//! whose terms are bounded by RULES 7 and 7a (see there for the arithmetic).

use std::fmt;
use std::ops::Neg;

use bigdecimal::num_bigint::BigInt;
use bigdecimal::{BigDecimal, RoundingMode};
use rust_decimal::Decimal;

/// An exact decimal of any number of digits: what the contract's products
/// of prices, multipliers and rates are computed in (contract 2.6 and 3.2:
/// exact decimal arithmetic, rounded to cents once). A value read from a
/// file is a [`Decimal`]; a product of several may need more digits than
/// its 28, and is never rounded before the contract says so.
pub type Exact = BigDecimal;

/// `value` as an [`Exact`].
pub fn exact(value: Decimal) -> Exact {
    Exact::new(BigInt::from(value.mantissa()), i64::from(value.scale()))
}

/// 1/100, exactly: a share of a percentage (`p/100`, `s/100`) is a
/// product with it, never a division, so no digit can be lost.
pub fn hundredth() -> Exact {
    Exact::new(1.into(), 2)
}

/// `value` written plainly, without an exponent or trailing zeros (`1`,
/// `1.4375`, `0.000001`): how the outputs write an exact product.
pub fn plain(value: &Exact) -> String {
    match small_parts(value) {
        Some((mantissa, scale)) => plain_small(mantissa, scale),
        None => plain_big(value),
    }
}

/// [`plain`] by bigdecimal, for any value.
fn plain_big(value: &Exact) -> String {
    value.normalized().to_plain_string()
}

/// The digits and scale of `value` (`value = mantissa / 10^scale`) when
/// both are small enough for integer arithmetic: the mantissa fits an
/// `i128` and the scale is within ±[`SMALL_SCALE`]. Every product a
/// realistic run prices (a price of a few digits, a handful of
/// multipliers, a discount) is; [`plain`] and [`Money::round_half_away`]
/// take this path for those and bigdecimal's for the rest, with the same
/// result (pinned by property tests below). Once per episode, bigdecimal's
/// allocations and digit conversions were a sixth of a reprice's
/// instructions (callgrind).
pub(crate) fn small_parts(value: &Exact) -> Option<(i128, i64)> {
    use bigdecimal::ToPrimitive;
    let (mantissa, scale) = value.as_bigint_and_scale();
    let mantissa = mantissa.to_i128()?;
    (scale.abs() <= SMALL_SCALE).then_some((mantissa, scale))
}

/// The widest scale [`small_parts`] admits: `10^38` still fits an `i128`.
pub(crate) const SMALL_SCALE: i64 = 38;

/// [`plain`] of `mantissa / 10^scale`.
fn plain_small(mut mantissa: i128, mut scale: i64) -> String {
    // Normalized: no trailing zero after the point, and none kept as a
    // negative scale (written out as zeros below).
    while mantissa != 0 && mantissa % 10 == 0 {
        mantissa /= 10;
        scale -= 1;
    }
    if mantissa == 0 {
        return "0".into();
    }
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(mantissa.unsigned_abs());
    // `scale` is within ±(38 + 39) here: the loop removes at most 39 digits.
    let places = usize::try_from(scale.unsigned_abs()).unwrap_or(usize::MAX);
    let mut text = String::with_capacity(digits.len() + places + 3);
    if mantissa < 0 {
        text.push('-');
    }
    if scale <= 0 {
        text.push_str(digits);
        text.extend(std::iter::repeat_n('0', places));
    } else if digits.len() > places {
        let (whole, fraction) = digits.split_at(digits.len() - places);
        text.extend([whole, ".", fraction]);
    } else {
        text.push_str("0.");
        text.extend(std::iter::repeat_n('0', places - digits.len()));
        text.push_str(digits);
    }
    text
}

/// An exact amount of money in cents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i128);

/// Most integer digits an amount may have; beyond this a value is refused as
/// malformed rather than risking overflow in later sums.
const MAX_INTEGER_DIGITS: usize = 24;

/// The longest amount [`Money::parse_short`] reads: 17 bytes hold at most
/// 17 whole digits, whose cents fit 64 bits (10^19 < 2^64).
const SHORT_AMOUNT_BYTES: usize = 17;

/// Most integer digits a total read back from a run's outputs may have:
/// `i128` cents hold one such total (10^38 cents < 2^127 ≈ 1.7 × 10^38), not
/// the sum of two, which is why sums of them are checked.
const MAX_TOTAL_DIGITS: usize = 36;

/// A sum of amounts too large for the engine to hold exactly: an input
/// error (exit 1), never a wrapped or saturated figure.
#[derive(Debug, thiserror::Error)]
#[error(
    "{what}: the total is too large (beyond {} dollars, the most an amount or sum can hold); expected amounts of real money, not edited ones",
    Money::from_cents(i128::MAX)
)]
pub struct TooLarge {
    /// What was being summed, naming the file, row or key where known.
    pub what: String,
}

impl crate::error::Classify for TooLarge {
    /// Amounts that do not fit came from a file: real money always fits.
    fn kind(&self) -> crate::error::ErrorKind {
        crate::error::ErrorKind::InputData
    }
}

impl TooLarge {
    /// The error for a sum of `what`.
    pub fn new(what: impl Into<String>) -> TooLarge {
        TooLarge { what: what.into() }
    }
}

impl Money {
    /// Zero dollars.
    pub const ZERO: Money = Money(0);

    /// An amount from a whole number of cents.
    pub const fn from_cents(cents: i128) -> Money {
        Money(cents)
    }

    /// The amount in cents.
    pub const fn cents(self) -> i128 {
        self.0
    }

    /// Parses the contract's amount grammar, `[+-]digits[.digits]`, that is
    /// a whole number of cents: `10.50`, `10.500`, `-3` are accepted;
    /// `10.505`, `1,050.00`, `1e3`, `.5`, `5.` are not.
    ///
    /// Returns `None` for anything else, so the caller can name the field.
    pub fn parse(text: &[u8]) -> Option<Money> {
        Money::parse_up_to(text, MAX_INTEGER_DIGITS)
    }

    /// [`Money::parse`] for the totals of a run's own outputs, read back
    /// by `reprice` and `true-up`: sums of input amounts can be longer than
    /// an input amount may be, and are still far inside an `i128` of cents.
    pub fn parse_total(text: &[u8]) -> Option<Money> {
        Money::parse_up_to(text, MAX_TOTAL_DIGITS)
    }

    fn parse_up_to(text: &[u8], max_integer_digits: usize) -> Option<Money> {
        // Every digit limit is past what a short text holds.
        debug_assert!(max_integer_digits >= SHORT_AMOUNT_BYTES);
        if text.len() <= SHORT_AMOUNT_BYTES {
            Money::parse_short(text)
        } else {
            Money::parse_long(text, max_integer_digits)
        }
    }

    /// [`Money::parse`] of a text of at most [`SHORT_AMOUNT_BYTES`], in
    /// one pass and 64 bits: every amount of a real claim, read once a
    /// line. The general path's four passes and 128-bit arithmetic took
    /// 250 instructions an amount (callgrind); property tests pin the two
    /// to each other.
    fn parse_short(text: &[u8]) -> Option<Money> {
        let (negative, rest) = match text.first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let whole_digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if whole_digits == 0 {
            return None;
        }
        // At most 17 digits: below 10^17, so its cents fit 64 bits.
        let whole = rest[..whole_digits]
            .iter()
            .fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0'));
        let cents = match &rest[whole_digits..] {
            [] => 0,
            [b'.', fraction @ ..] => {
                let (cents, zeros) = fraction.split_at(fraction.len().min(2));
                let digits = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
                if cents.is_empty() || !digits(cents) || zeros.iter().any(|&b| b != b'0') {
                    return None;
                }
                cents
                    .iter()
                    .chain(std::iter::repeat(&b'0'))
                    .take(2)
                    .fold(0, |value, digit| value * 10 + u64::from(digit - b'0'))
            }
            _ => return None,
        };
        let cents = i128::from(whole * 100 + cents);
        Some(Money(if negative { -cents } else { cents }))
    }

    /// [`Money::parse_up_to`] of any text.
    fn parse_long(text: &[u8], max_integer_digits: usize) -> Option<Money> {
        let (negative, rest) = match text.first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (int_part, frac_part) = match rest.iter().position(|&b| b == b'.') {
            Some(dot) => (&rest[..dot], Some(&rest[dot + 1..])),
            None => (rest, None),
        };
        if int_part.is_empty() || !int_part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        // Leading zeros hold no value: `0000000000000000000000000001` is
        // one dollar, whatever its length.
        let zeros = int_part.iter().take_while(|&&b| b == b'0').count();
        let significant = &int_part[zeros..];
        if significant.len() > max_integer_digits {
            return None;
        }
        let mut cents: i128 = 0;
        for &digit in significant {
            cents = cents * 10 + i128::from(digit - b'0');
        }
        cents *= 100;
        if let Some(frac) = frac_part {
            if frac.is_empty() || !frac.iter().all(u8::is_ascii_digit) {
                return None;
            }
            // Digits past the cents must all be zero: `10.500` is a whole
            // number of cents, `10.505` is not.
            if frac.iter().skip(2).any(|&digit| digit != b'0') {
                return None;
            }
            let tens = frac.first().map_or(0, |d| i128::from(d - b'0'));
            let units = frac.get(1).map_or(0, |d| i128::from(d - b'0'));
            cents += tens * 10 + units;
        }
        Some(Money(if negative { -cents } else { cents }))
    }

    /// This amount × `numerator / denominator`, rounded to cents half away
    /// from zero: the proration of a claim by `k` of its `n` days.
    ///
    /// `denominator` must be positive; callers pass a day count of at least 1.
    pub fn scaled(self, numerator: i64, denominator: i64) -> Money {
        debug_assert!(denominator > 0, "proration over zero days");
        let product = self.0 * i128::from(numerator);
        let denominator = i128::from(denominator);
        let quotient = product / denominator;
        let remainder = product % denominator;
        // Round half away from zero: compare twice the remainder with the
        // divisor, on magnitudes so the sign of the product does not matter.
        let rounded = if remainder.abs() * 2 >= denominator {
            quotient + product.signum()
        } else {
            quotient
        };
        Money(rounded)
    }

    /// The amount as an exact decimal, for arithmetic with rates.
    pub fn to_exact(self) -> Exact {
        Exact::new(BigInt::from(self.0), 2)
    }

    /// Rounds an exact decimal to cents, half away from zero; `None` when
    /// the cents do not fit an amount (a product of absurd inputs).
    pub fn round_half_away(value: &Exact) -> Option<Money> {
        match small_parts(value) {
            Some((mantissa, scale)) => Money::round_small(mantissa, scale),
            None => Money::round_big(value),
        }
    }

    /// [`Money::round_half_away`] by bigdecimal, for any value.
    fn round_big(value: &Exact) -> Option<Money> {
        // bigdecimal's `HalfUp` rounds a tie away from zero, whatever the
        // sign (its `RoundingMode` documentation; pinned by a test below).
        let (cents, scale) = value
            .with_scale_round(2, RoundingMode::HalfUp)
            .into_bigint_and_exponent();
        debug_assert_eq!(scale, 2);
        i128::try_from(cents).ok().map(Money)
    }

    /// [`Money::round_half_away`] of `mantissa / 10^scale`, in integers.
    pub(crate) fn round_small(mantissa: i128, scale: i64) -> Option<Money> {
        let ten = |places: i64| 10i128.checked_pow(u32::try_from(places).ok()?);
        if mantissa == 0 {
            // Zero at any scale, even one whose power of ten does not fit.
            return Some(Money::ZERO);
        }
        if scale <= 2 {
            // Whole cents already: scaled up, or `None` when they do not fit.
            return mantissa.checked_mul(ten(2 - scale)?).map(Money);
        }
        // `scale - 2 <= 36`, so the divisor fits, and so does twice the
        // remainder's magnitude as a `u128`.
        let divisor = ten(scale - 2)?;
        let (quotient, remainder) = (mantissa / divisor, mantissa % divisor);
        let away = remainder.unsigned_abs() * 2 >= divisor.unsigned_abs();
        Some(Money(if away {
            quotient + mantissa.signum()
        } else {
            quotient
        }))
    }

    /// `self + other`, or `None` when the sum does not fit: for every sum
    /// of amounts that came from a run folder, a price file or any other
    /// total not bounded by RULES 7a.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// `self − other`, or `None` when the difference does not fit.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    /// The sum of `amounts`, or `None` as soon as a partial sum does not fit.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Money>) -> Option<Money> {
        amounts
            .into_iter()
            .try_fold(Money::ZERO, |total, amount| total.checked_add(amount))
    }

    /// `self + other` on the per-line claims paths, unchecked in release.
    ///
    /// Only for sums whose terms are claim amounts or shares of them, at
    /// most one term per claim row or ledger row read or written by a run:
    /// RULES 7 bounds each term below 10^26 cents (< 2^86.4), RULES 7a
    /// bounds the rows of a run below 2^40, so every such sum stays below
    /// 2^86.4 × 2^40 = 2^126.4 < 2^127 and cannot overflow. Debug builds
    /// still check it, as every `i128` addition.
    pub fn add_claim(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }

    /// `self − other` under the bound of [`Money::add_claim`].
    pub fn sub_claim(self, other: Money) -> Money {
        Money(self.0 - other.0)
    }

    /// Whether the amount is within RULES 7's input limit, fewer than
    /// 10^24 dollars: what a claim amount computed from several fields
    /// (RIF, SynPUF) must still be, so the bound of [`Money::add_claim`]
    /// holds for every format.
    pub fn is_claim_amount(self) -> bool {
        self.0.unsigned_abs() < 10u128.pow(MAX_INTEGER_DIGITS as u32 + 2)
    }

    /// The smaller of two amounts.
    pub fn min(self, other: Money) -> Money {
        if other < self { other } else { self }
    }
}

/// Room for the text of any amount: a sign, 39 digits, a point and two
/// decimals.
pub type MoneyText = [u8; 48];

impl Money {
    /// The amount as every output of the contract writes it, exactly two
    /// decimals (`-12.50`, `0.00`), put together in `text`: what `Display`
    /// writes, and what a CSV row appends without going through `fmt`.
    pub fn text(self, text: &mut MoneyText) -> &[u8] {
        let sign = if self.0 < 0 { "-" } else { "" };
        let magnitude = self.0.unsigned_abs();
        // Every amount a claim line holds fits 64 bits, whose division is
        // several times faster than 128 bits' (`convert` writes millions);
        // the whole part by `itoa`, the text in one write: `write!` with
        // its arguments took a third of a reprice's writing (callgrind).
        let mut whole = itoa::Buffer::new();
        let (whole, cents) = match u64::try_from(magnitude) {
            Ok(small) => (whole.format(small / 100), (small % 100) as u8),
            Err(_) => (whole.format(magnitude / 100), (magnitude % 100) as u8),
        };
        let mut len = 0;
        for part in [
            sign.as_bytes(),
            whole.as_bytes(),
            &[b'.', b'0' + cents / 10, b'0' + cents % 10],
        ] {
            text[len..len + part.len()].copy_from_slice(part);
            len += part.len();
        }
        &text[..len]
    }
}

impl fmt::Display for Money {
    /// Writes [`Money::text`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text: MoneyText = [0; 48];
        // Only ASCII digits, a sign and a point were written.
        f.write_str(std::str::from_utf8(self.text(&mut text)).map_err(|_| fmt::Error)?)
    }
}

impl Neg for Money {
    type Output = Money;
    /// Negation overflows only at `i128::MIN` cents, which no parsed amount
    /// (at most 10^38 cents) and no rounded decimal (at most 2^96) reaches;
    /// the engine negates only the latter (stop-loss limits).
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn parse(text: &str) -> Option<String> {
        Money::parse(text.as_bytes()).map(|m| m.to_string())
    }

    #[test]
    fn parses_the_contract_grammar() {
        assert_eq!(parse("10.50").as_deref(), Some("10.50"));
        assert_eq!(parse("10.500").as_deref(), Some("10.50"));
        assert_eq!(parse("-3").as_deref(), Some("-3.00"));
        assert_eq!(parse("+7.5").as_deref(), Some("7.50"));
        assert_eq!(parse("-0.01").as_deref(), Some("-0.01"));
        assert_eq!(parse("007").as_deref(), Some("7.00"));
        // Leading zeros count toward no limit (RULES 7): a review found
        // zero-padded amounts rejected as `bad_amount`.
        let padded = format!("{}1", "0".repeat(40));
        assert_eq!(parse(&padded).as_deref(), Some("1.00"));
        assert_eq!(parse(&format!("-{padded}.00")).as_deref(), Some("-1.00"));
        let widest = "9".repeat(24);
        assert_eq!(parse(&format!("000{widest}")), parse(&widest));
        assert!(parse(&widest).is_some());
        assert_eq!(parse(&format!("1{widest}")), None);
    }

    #[test]
    fn refuses_what_is_not_whole_cents() {
        for bad in [
            "10.505", "1,050.00", "1e3", ".5", "5.", "", "-", "+.1", "1.2.3", " 1", "12,50",
        ] {
            assert_eq!(parse(bad), None, "{bad:?} should not parse");
        }
    }

    #[test]
    fn totals_read_back_may_be_longer_than_inputs() {
        let total = "1800000000000000000000000.00"; // 25 integer digits
        assert_eq!(Money::parse(total.as_bytes()), None);
        assert_eq!(
            Money::parse_total(total.as_bytes())
                .map(|m| m.to_string())
                .as_deref(),
            Some(total)
        );
        let too_long = format!("{}.00", "9".repeat(37));
        assert_eq!(Money::parse_total(too_long.as_bytes()), None);
    }

    #[test]
    fn checked_arithmetic_refuses_what_does_not_fit() {
        let largest = Money::parse_total(format!("{}.99", "9".repeat(36)).as_bytes())
            .expect("36 digits parse");
        assert_eq!(largest.checked_add(largest), None);
        assert_eq!(largest.checked_sub(-largest), None);
        assert_eq!(Money::checked_sum([largest, largest]), None);
        assert_eq!(
            Money::checked_sum([largest, -largest, largest]),
            Some(largest)
        );
        assert_eq!(
            Money::from_cents(250).checked_add(Money::from_cents(-300)),
            Some(Money::from_cents(-50))
        );
        assert_eq!(Money::checked_sum([]), Some(Money::ZERO));
    }

    #[test]
    fn claim_amounts_are_below_the_input_limit() {
        let longest = Money::parse(format!("-{}.99", "9".repeat(24)).as_bytes()).unwrap();
        assert!(longest.is_claim_amount());
        assert!(!longest.sub_claim(Money::from_cents(1)).is_claim_amount());
        // The bound RULES 7a relies on: 2^40 terms of the longest amount fit.
        assert!(longest.cents().checked_mul(1 << 40).is_some());
    }

    #[test]
    fn scaled_rounds_half_away_from_zero() {
        // 3000.00 × 14 / 30 = 1400.00 exactly (example 01).
        assert_eq!(
            Money::from_cents(300_000).scaled(14, 30),
            Money::from_cents(140_000)
        );
        // 0.05 × 1 / 2 = 0.025 -> 0.03; and -0.025 -> -0.03.
        assert_eq!(Money::from_cents(5).scaled(1, 2), Money::from_cents(3));
        assert_eq!(Money::from_cents(-5).scaled(1, 2), Money::from_cents(-3));
        // 0.10 × 1 / 3 = 0.0333 -> 0.03.
        assert_eq!(Money::from_cents(10).scaled(1, 3), Money::from_cents(3));
        assert_eq!(Money::from_cents(-10).scaled(2, 3), Money::from_cents(-7));
    }

    #[test]
    fn rounds_decimals_half_away_from_zero() {
        let round = |s: &str| {
            let value = Exact::from_str(s).unwrap();
            Money::round_half_away(&value).unwrap().to_string()
        };
        assert_eq!(round("29100"), "29100.00");
        assert_eq!(round("0.005"), "0.01");
        assert_eq!(round("-0.005"), "-0.01");
        assert_eq!(round("0.015"), "0.02");
        assert_eq!(round("-0.025"), "-0.03");
        assert_eq!(round("2.344999"), "2.34");
        assert_eq!(round("-2.345000000000000000000000000000001"), "-2.35");
        assert_eq!(round("-2425.0000"), "-2425.00");
        assert_eq!(round("1E+3"), "1000.00");
        // One cent past what an amount holds.
        let too_large = Exact::from(i128::MAX) / 100 + Exact::from_str("0.01").unwrap();
        assert_eq!(Money::round_half_away(&too_large), None);
    }

    #[test]
    fn exact_values_keep_every_digit() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let product =
            exact(d("1.0123456789")) * exact(d("1.0987654321")) * exact(d("0.9876543219"));
        assert_eq!(plain(&product), "1.098597963791250957191262190911");
        assert_eq!(plain(&exact(d("1.50"))), "1.5");
        assert_eq!(plain(&(exact(d("2.5")) * exact(d("40")))), "100");
        assert_eq!(plain(&exact(d("0.000001"))), "0.000001");
        assert_eq!(Money::from_cents(-1234).to_exact(), exact(d("-12.34")));
    }

    proptest::proptest! {
        /// Any number of cents, written as `format!` writes its parts.
        #[test]
        fn display_is_the_cents_as_a_decimal(
            cents in proptest::prop_oneof![
                proptest::prelude::any::<i128>(),
                -100_000_000i128..100_000_000,
                proptest::strategy::Strategy::prop_map(proptest::prelude::any::<i64>(), i128::from),
            ]
        ) {
            let magnitude = cents.unsigned_abs();
            let sign = if cents < 0 { "-" } else { "" };
            proptest::prop_assert_eq!(
                Money::from_cents(cents).to_string(),
                format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
            );
        }
    }

    proptest::proptest! {
        /// Short amounts parse in one pass exactly as the general path
        /// parses them, valid or not, whatever the digit limit.
        #[test]
        fn short_amounts_parse_as_long_ones_do(
            text in "[-+]?[0-9]{0,12}(\\.[0-9]{0,5})?|[-+0-9.a ,e]{0,17}"
        ) {
            let text = text.as_bytes();
            proptest::prop_assume!(text.len() <= SHORT_AMOUNT_BYTES);
            for limit in [MAX_INTEGER_DIGITS, MAX_TOTAL_DIGITS] {
                proptest::prop_assert_eq!(
                    Money::parse_short(text),
                    Money::parse_long(text, limit)
                );
            }
        }

        /// The integer paths of rounding and writing an exact value agree
        /// with bigdecimal's on every value they take, from zero at any
        /// scale to `i128`'s extremes and a cent past what money holds.
        #[test]
        fn small_values_round_and_write_as_bigdecimal_does(
            mantissa in proptest::prop_oneof![
                proptest::prelude::any::<i128>(),
                -100_000i128..100_000,
                proptest::strategy::Just(0i128),
                proptest::strategy::Just(i128::MIN),
                proptest::strategy::Just(i128::MAX),
            ],
            scale in -SMALL_SCALE..=SMALL_SCALE,
        ) {
            let value = Exact::new(BigInt::from(mantissa), scale);
            proptest::prop_assert_eq!(small_parts(&value), Some((mantissa, scale)));
            proptest::prop_assert_eq!(
                Money::round_small(mantissa, scale),
                Money::round_big(&value)
            );
            proptest::prop_assert_eq!(plain_small(mantissa, scale), plain_big(&value));
        }

        /// Ties, half a cent exactly at any scale, round as bigdecimal's
        /// do: away from zero.
        #[test]
        fn ties_round_as_bigdecimal_does(
            cents in -1_000_000_000i128..1_000_000_000,
            // Up to 30 places, so that a billion dollars of cents, so scaled,
            // still fits an `i128`.
            places in 3i64..=30,
        ) {
            let unit = 10i128.pow(places as u32 - 3);
            let mantissa = cents * unit * 10 + cents.signum() * 5 * unit;
            let value = Exact::new(BigInt::from(mantissa), places);
            proptest::prop_assert_eq!(
                Money::round_small(mantissa, places),
                Money::round_big(&value)
            );
        }
    }

    #[test]
    fn displays_two_decimals() {
        assert_eq!(Money::from_cents(-1250).to_string(), "-12.50");
        assert_eq!(Money::ZERO.to_string(), "0.00");
        assert_eq!(Money::from_cents(-5).to_string(), "-0.05");
        // Either side of 64 bits of cents, and the widest.
        assert_eq!(
            Money::from_cents(i128::from(u64::MAX)).to_string(),
            "184467440737095516.15"
        );
        assert_eq!(
            Money::from_cents(-i128::from(u64::MAX) - 1).to_string(),
            "-184467440737095516.16"
        );
        assert_eq!(
            Money::from_cents(i128::MIN).to_string(),
            "-1701411834604692317316873037158841057.28"
        );
    }
}
