//! The domain's small types: claim and record types, dates, normalized codes,
//! and the claim line every reader produces.
//!
//! Each is an enum or a validated value so that a wrong state (an unknown
//! claim type, an unnormalized DRG) cannot travel past the reader.
//! [`money`] is the one money type and its one rounding.

use std::borrow::Cow;
use std::fmt;

pub mod money;
pub mod outcome;
pub mod warning;

use chrono::NaiveDate;

use crate::model::money::Money;

/// A calendar date; every date in the contract is a day, never a time.
pub type Date = NaiveDate;

/// Shared, immutable text of an id or code (beneficiary, claim, provider,
/// DRG, diagnosis, HCPCS): reference counted, so the lines of one claim
/// share one copy, and one pointer wide (`crate::model::Text` is two), so
/// a claim line's six of them take 48 bytes instead of 96 and an absent
/// one (`Option<Text>`) costs nothing more. Lines are moved and held by
/// the million: their size is the engine's memory and much of its time.
pub type Text = arcstr::ArcStr;

/// The setting a claim was billed from, which decides how it joins a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ClaimType {
    /// Inpatient hospital.
    Ip,
    /// Skilled nursing facility.
    Snf,
    /// Home health agency.
    Hha,
    /// Hospice.
    Hos,
    /// Hospital outpatient.
    Op,
    /// Part B professional (carrier).
    Pb,
    /// Durable medical equipment.
    Dme,
}

impl ClaimType {
    /// Every claim type, in the contract's order.
    pub const ALL: [ClaimType; 7] = [
        ClaimType::Ip,
        ClaimType::Snf,
        ClaimType::Hha,
        ClaimType::Hos,
        ClaimType::Op,
        ClaimType::Pb,
        ClaimType::Dme,
    ];

    /// The contract's code (`IP`, `SNF`, ...).
    pub fn code(self) -> &'static str {
        match self {
            ClaimType::Ip => "IP",
            ClaimType::Snf => "SNF",
            ClaimType::Hha => "HHA",
            ClaimType::Hos => "HOS",
            ClaimType::Op => "OP",
            ClaimType::Pb => "PB",
            ClaimType::Dme => "DME",
        }
    }

    /// Reads a code, case-insensitively.
    pub fn parse(code: &str) -> Option<ClaimType> {
        ClaimType::ALL
            .into_iter()
            .find(|t| t.code().eq_ignore_ascii_case(code))
    }

    /// A bit of its own, for sets of claim types.
    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for ClaimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A set of claim types (the `include` lists of a definition), as bits so a
/// membership test in the per-line loop costs nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClaimTypeSet(u8);

impl ClaimTypeSet {
    /// Whether `claim_type` is in the set.
    pub fn contains(self, claim_type: ClaimType) -> bool {
        self.0 & claim_type.bit() != 0
    }

    /// Adds `claim_type` to the set.
    pub fn insert(&mut self, claim_type: ClaimType) {
        self.0 |= claim_type.bit();
    }

    /// The members, in the contract's order.
    pub fn iter(self) -> impl Iterator<Item = ClaimType> {
        ClaimType::ALL
            .into_iter()
            .filter(move |t| self.contains(*t))
    }
}

/// Which version of a claim a row belongs to. The order is the tie-break of
/// final action: on the same processed date a void beats a replacement,
/// which beats an original.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordType {
    /// The first version of a claim.
    Original,
    /// A later version that replaces the claim.
    Replacement,
    /// A version that cancels the claim.
    Void,
}

impl RecordType {
    /// The contract's letter: `O`, `R` or `V`.
    pub fn code(self) -> &'static str {
        match self {
            RecordType::Original => "O",
            RecordType::Replacement => "R",
            RecordType::Void => "V",
        }
    }

    /// Reads `O`, `R` or `V`, case-insensitively; absent means original.
    pub fn parse(code: &str) -> Option<RecordType> {
        match code {
            "" | "O" | "o" => Some(RecordType::Original),
            "R" | "r" => Some(RecordType::Replacement),
            "V" | "v" => Some(RecordType::Void),
            _ => None,
        }
    }
}

/// Parses `YYYY-MM-DD` or `YYYYMMDD`, accepting only real calendar dates.
pub fn parse_date(text: &[u8]) -> Option<Date> {
    let digits = |s: &[u8]| -> Option<u32> {
        s.iter().try_fold(0u32, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    let (year, month, day) = match text.len() {
        10 if text[4] == b'-' && text[7] == b'-' => (&text[0..4], &text[5..7], &text[8..10]),
        8 => (&text[0..4], &text[4..6], &text[6..8]),
        _ => return None,
    };
    let year = i32::try_from(digits(year)?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(month)?, digits(day)?)
}

/// A date as the outputs write it, `YYYY-MM-DD`: chrono's own text, put
/// together in one piece. chrono writes a date character by character
/// through the formatter, which took a tenth of `convert`'s time (issue
/// 16); `convert` writes six dates a line and the ledger one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IsoDate(pub Date);

impl IsoDate {
    /// The date's ten characters, or `None` for a year outside 0..=9999,
    /// which chrono signs and widens: such a date (never read, only reached
    /// by arithmetic) is left to chrono's `Display`.
    pub fn text(self) -> Option<[u8; 10]> {
        use chrono::Datelike;
        let date = self.0;
        let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
        let mut text = *b"0000-00-00";
        for (span, mut value) in [(0..4, year), (5..7, date.month()), (8..10, date.day())] {
            for digit in text[span].iter_mut().rev() {
                *digit = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        Some(text)
    }
}

impl fmt::Display for IsoDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text() {
            // Only ASCII digits and dashes were written.
            Some(text) => f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?),
            None => fmt::Display::fmt(&self.0, f),
        }
    }
}

/// Dates a reader has parsed, by their text: a file's dates fall in a
/// few years, and its rows repeat them (a claim's lines row after row,
/// its claims day after day), so most date fields are found here rather
/// than parsed. Each reader keeps one for the columns parsed alike.
///
/// A direct-mapped table keyed by the text: a miss costs one parse and
/// overwrites one entry. Measured on generated claims (200k lines, six
/// date fields a line): one remembered text per column missed 27% of the
/// fields, this table 2%.
#[derive(Debug)]
pub(crate) struct SeenDates(Box<[(u128, Option<Date>)]>);

impl SeenDates {
    /// Entries: 16 KiB, some years of days.
    const ENTRIES: usize = 512;
    /// Bits of a slot number.
    const INDEX_BITS: u32 = Self::ENTRIES.trailing_zeros();
    /// A key no text has (its length byte is past any text kept).
    const EMPTY: u128 = u128::MAX;

    /// `parse(text)`, from the table when `text` was parsed before (with
    /// the same `parse`: a table serves the columns of one reader that are
    /// parsed alike).
    // Always inlined: a claim line looks up six dates, and as a call (which
    // `#[inline]` left it) this was 7% of a one-thread run (perf).
    #[inline(always)]
    pub(crate) fn parse(&mut self, text: &[u8], parse: fn(&[u8]) -> Option<Date>) -> Option<Date> {
        let Some(key) = Self::key(text) else {
            return parse(text);
        };
        let folded = (key as u64) ^ ((key >> 64) as u64);
        // Fibonacci hashing: the product's top bits, as many as index
        // the entries.
        let slot = (folded.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - Self::INDEX_BITS)) as usize;
        let entry = &mut self.0[slot];
        if entry.0 != key {
            *entry = (key, parse(text));
        }
        entry.1
    }

    /// `text` and its length in one number, when it is at most 15 bytes
    /// (a date is 8 or 10). The common lengths copy a fixed size, which
    /// compiles to loads where a copy of any length calls `memcpy`.
    #[inline]
    fn key(text: &[u8]) -> Option<u128> {
        let mut bytes = [0u8; 16];
        match text.len() {
            10 => bytes[..10].copy_from_slice(text),
            8 => bytes[..8].copy_from_slice(text),
            len if len < 16 => bytes[..len].copy_from_slice(text),
            _ => return None,
        }
        bytes[15] = text.len() as u8;
        Some(u128::from_le_bytes(bytes))
    }
}

// A slot is `INDEX_BITS` bits, so every one is an entry and all are used.
const _: () = assert!(SeenDates::ENTRIES.is_power_of_two());

impl Default for SeenDates {
    fn default() -> Self {
        SeenDates(vec![(Self::EMPTY, None); Self::ENTRIES].into_boxed_slice())
    }
}

/// Whether two texts of decoded lines are equal: at once when they are
/// the same bytes in memory, as the lines of one claim share their ids
/// ([`crate::engine::encoding`]), else byte by byte ([`same_bytes`]).
#[inline]
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || same_bytes(a.as_bytes(), b.as_bytes())
}

/// [`same_text`]'s order: equal at once when the texts are the same bytes
/// in memory, else by their bytes.
#[inline]
pub(crate) fn text_order(a: &str, b: &str) -> std::cmp::Ordering {
    if std::ptr::eq(a, b) {
        std::cmp::Ordering::Equal
    } else {
        a.cmp(b)
    }
}

/// Whether `a` and `b` hold the same bytes: inlined, eight at a time.
///
/// The readers compare short ids, codes and dates with the row before a
/// dozen times a line, where `==` calls `memcmp`, whose call and length
/// dispatch cost more than the comparison (perf: 7% of a run's cycles in
/// `memcmp`, for strings of 5 to 15 bytes).
#[inline]
pub(crate) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    // Each length compares its first and last bytes, in two loads that
    // overlap when it is not a multiple of the load.
    match len {
        0 => true,
        1..4 => a[0] == b[0] && a[len / 2] == b[len / 2] && a[len - 1] == b[len - 1],
        4..8 => {
            let half =
                |s: &[u8], at: usize| u32::from_ne_bytes([s[at], s[at + 1], s[at + 2], s[at + 3]]);
            half(a, 0) == half(b, 0) && half(a, len - 4) == half(b, len - 4)
        }
        _ => {
            let mut at = 0;
            while at + 8 < len {
                if word(&a[at..]) != word(&b[at..]) {
                    return false;
                }
                at += 8;
            }
            word(&a[len - 8..]) == word(&b[len - 8..])
        }
    }
}

/// The first eight bytes of `bytes` (at least eight) as a word.
#[inline]
fn word(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_ne_bytes(word)
}

/// Normalizes an MS-DRG: upper case, and a value of digits without its
/// leading zeros, zero-padded to three (`66` and `0066` are both `066`,
/// `0470` is `470`).
pub fn normalize_drg(code: &str) -> String {
    drg_normal_form(code).into_owned()
}

/// Normalizes an ICD-10 code: without dots, upper case.
pub fn normalize_dx(code: &str) -> String {
    dx_normal_form(code).into_owned()
}

/// Normalizes an HCPCS/CPT code: upper case.
pub fn normalize_hcpcs(code: &str) -> String {
    hcpcs_normal_form(code).into_owned()
}

/// [`normalize_drg`], borrowing `code` when it is in normal form already.
/// The rules are written here once (the `normalize_` forms own the
/// result); a reader that hands on lines as it reads them then takes most
/// codes as they lie, without a lookup.
pub fn drg_normal_form(code: &str) -> Cow<'_, str> {
    if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) {
        // Three digits are their own padded form; more are when no zero
        // leads them.
        if code.len() == 3 || (code.len() > 3 && !code.starts_with('0')) {
            return Cow::Borrowed(code);
        }
        let significant = code.trim_start_matches('0');
        Cow::Owned(format!("{significant:0>3}"))
    } else {
        upper_case(code)
    }
}

/// [`normalize_dx`], borrowing `code` when it is in normal form already.
pub fn dx_normal_form(code: &str) -> Cow<'_, str> {
    if code.contains('.') {
        Cow::Owned(
            code.chars()
                .filter(|&c| c != '.')
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        )
    } else {
        upper_case(code)
    }
}

/// [`normalize_hcpcs`], borrowing `code` when it is in normal form
/// already.
pub fn hcpcs_normal_form(code: &str) -> Cow<'_, str> {
    upper_case(code)
}

/// `code` in ASCII upper case, borrowed when it is already.
fn upper_case(code: &str) -> Cow<'_, str> {
    if code.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(code.to_ascii_uppercase())
    } else {
        Cow::Borrowed(code)
    }
}

/// Where a row came from: the file (index into the run's file list) and the
/// 1-based line its record starts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    /// Index of the file in the order the files were read.
    pub file: u32,
    /// 1-based line of the file on which the record starts.
    pub row: u64,
    /// Byte offset of the record, to find its raw text again for a reject.
    pub offset: u64,
}

/// A claim line that passed every row check, in normal form, with every
/// default of the contract applied, its texts of type `S`: shared
/// ([`ClaimLine`]) or borrowed ([`LineRef`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimLineOf<S> {
    /// Where the row came from.
    pub source: Source,
    /// The patient.
    pub beneficiary_id: S,
    /// Unique per beneficiary; the claim's versions share it.
    pub claim_id: S,
    /// `>= 1`, unique within one claim version.
    pub line_number: u64,
    /// Billing setting.
    pub claim_type: ClaimType,
    /// Original, replacement or void.
    pub record_type: RecordType,
    /// When the payer processed this version (default: `thru_date`).
    pub processed_date: Date,
    /// Claim service period start.
    pub from_date: Date,
    /// Claim service period end.
    pub thru_date: Date,
    /// Inpatient admission (default: `from_date`).
    pub admission_date: Date,
    /// Inpatient discharge (default: `thru_date`).
    pub discharge_date: Date,
    /// Service date of this line (default: `from_date`).
    pub line_date: Date,
    /// Allowed amount of this line.
    pub allowed: Money,
    /// Billing provider; an anchor without one opens no episode.
    pub provider_id: Option<S>,
    /// MS-DRG, normalized.
    pub drg: Option<S>,
    /// Principal diagnosis, normalized.
    pub principal_dx: Option<S>,
    /// HCPCS/CPT of this line, normalized.
    pub hcpcs: Option<S>,
}

// Lines are held and moved by the million: their size is pinned, so a
// field that widens them is a decision, not an accident.
const _: () = assert!(std::mem::size_of::<ClaimLine>() <= 128);

/// A claim line as the engine keeps it. Shared text (ids) is reference
/// counted so the lines of one claim do not each own a copy.
pub type ClaimLine = ClaimLineOf<Text>;

/// A claim line as the row checks hand it over while a chunk is read: the
/// values of a [`ClaimLine`], its texts borrowed from the row and from the
/// reader's normalized codes. Most lines of a run are only encoded into
/// their partition; a line made of shared strings cost them each a
/// reference count taken and dropped, or an allocation (issue 13: six
/// `Arc<str>` per line). [`LineRef::to_line`] makes the owned line where
/// one is kept.
pub type LineRef<'a> = ClaimLineOf<&'a str>;

impl<S> ClaimLineOf<S> {
    /// The same line, each text made by `text`.
    pub fn map_texts<'s, T>(&'s self, mut text: impl FnMut(&'s S) -> T) -> ClaimLineOf<T> {
        ClaimLineOf {
            source: self.source,
            beneficiary_id: text(&self.beneficiary_id),
            claim_id: text(&self.claim_id),
            line_number: self.line_number,
            claim_type: self.claim_type,
            record_type: self.record_type,
            processed_date: self.processed_date,
            from_date: self.from_date,
            thru_date: self.thru_date,
            admission_date: self.admission_date,
            discharge_date: self.discharge_date,
            line_date: self.line_date,
            allowed: self.allowed,
            provider_id: self.provider_id.as_ref().map(&mut text),
            drg: self.drg.as_ref().map(&mut text),
            principal_dx: self.principal_dx.as_ref().map(&mut text),
            hcpcs: self.hcpcs.as_ref().map(&mut text),
        }
    }
}

impl ClaimLine {
    /// The line's values, its texts borrowed.
    pub fn view(&self) -> LineRef<'_> {
        self.map_texts(Text::as_str)
    }
}

impl LineRef<'_> {
    /// The owned line, each text a string of its own: for a caller that
    /// keeps lines (a reader's tests, `read` into a vector), not the path
    /// a run's lines take.
    pub fn to_line(&self) -> ClaimLine {
        self.map_texts(|text| Text::from(*text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn same_bytes_compares_every_byte_of_every_length() {
        for len in 0..40 {
            let a: Vec<u8> = (0..len as u8).collect();
            assert!(same_bytes(&a, &a.clone()));
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x80;
                assert!(!same_bytes(&a, &b), "length {len}, byte {at}");
            }
            assert!(!same_bytes(&a, &a[..len.saturating_sub(1)]) || len == 0);
        }
    }

    #[test]
    fn seen_dates_give_what_parsing_gives() {
        let mut seen = SeenDates::default();
        let texts: Vec<String> = (0..3000)
            .map(|n| format!("2026-{:02}-{:02}", n % 13 + 1, n % 31 + 1))
            .chain(
                [
                    "",
                    "2026-02-30",
                    "20260301",
                    "2026-03-01x",
                    "0000-00-00-00-0",
                ]
                .map(String::from),
            )
            .chain(["a".repeat(16), "2026-03-01  ".into()])
            .collect();
        // Twice over, so the second pass meets texts already seen, and
        // texts that overwrote each other's entries.
        for text in texts.iter().chain(&texts) {
            assert_eq!(
                seen.parse(text.as_bytes(), parse_date),
                parse_date(text.as_bytes()),
                "{text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn same_bytes_is_equality(a in prop::collection::vec(0u8..4, 0..24), b in prop::collection::vec(0u8..4, 0..24)) {
            prop_assert_eq!(same_bytes(&a, &b), a == b);
        }

        // The normal forms as first written, one expression each, against
        // the rules that borrow a code already normal: the same text, and
        // borrowed exactly when it is the code itself.
        #[test]
        fn normal_forms_are_borrowed_exactly_when_already_normal(
            code in prop_oneof!["[0-2]{0,6}", "[0-2aA.é]{0,6}"],
        ) {
            let drg = if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) {
                format!("{:0>3}", code.trim_start_matches('0'))
            } else {
                code.to_ascii_uppercase()
            };
            let dx: String = code.chars().filter(|&c| c != '.').map(|c| c.to_ascii_uppercase()).collect();
            let hcpcs = code.to_ascii_uppercase();
            for (normal, expected) in [
                (drg_normal_form(&code), drg),
                (dx_normal_form(&code), dx),
                (hcpcs_normal_form(&code), hcpcs),
            ] {
                prop_assert_eq!(matches!(normal, Cow::Borrowed(_)), expected == code);
                prop_assert_eq!(normal.into_owned(), expected);
            }
        }
    }

    #[test]
    fn iso_dates_are_written_as_chrono_writes_them() {
        let ymd = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a real date");
        let text = |y, m, d| IsoDate(ymd(y, m, d)).to_string();
        assert_eq!(text(2026, 3, 2), "2026-03-02");
        assert_eq!(text(1999, 12, 31), "1999-12-31");
        assert_eq!(text(7, 1, 9), "0007-01-09");
        assert_eq!(text(0, 1, 1), "0000-01-01");
        assert_eq!(text(9999, 12, 31), "9999-12-31");
        // Outside four digits, chrono's signed form.
        assert_eq!(text(-1, 6, 30), "-0001-06-30");
        assert_eq!(text(10000, 1, 1), "+10000-01-01");
        // Every day of a leap year and of the years around the ends of the
        // four-digit range, as chrono writes it.
        let mut days = ymd(2024, 1, 1).iter_days().take(366).collect::<Vec<_>>();
        days.extend(ymd(-2, 12, 25).iter_days().take(20));
        days.extend(ymd(9999, 12, 25).iter_days().take(20));
        for day in days {
            assert_eq!(IsoDate(day).to_string(), day.to_string());
        }
    }

    #[test]
    fn dates_in_both_forms_and_only_real_ones() {
        let d = |s: &str| parse_date(s.as_bytes());
        assert_eq!(d("2026-03-02"), NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!(d("20260302"), NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!(d("2024-02-29"), NaiveDate::from_ymd_opt(2024, 2, 29));
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-3-2",
            "2026/03/02",
            "26-03-02",
            "+2026030",
            "2026-03-0x",
            "",
        ] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }

    #[test]
    fn codes_are_normalized() {
        assert_eq!(normalize_drg("66"), "066");
        assert_eq!(normalize_drg("0066"), "066");
        assert_eq!(normalize_drg("470"), "470");
        assert_eq!(normalize_drg("000"), "000");
        assert_eq!(normalize_drg("a1"), "A1");
        assert_eq!(normalize_dx("c50.911"), "C50911");
        assert_eq!(normalize_hcpcs("j9035"), "J9035");
        for (code, borrowed) in [
            ("470", true),
            ("066", true),
            ("000", true),
            ("0066", false),
            ("66", false),
            ("0470", false),
            ("1234", true),
        ] {
            assert_eq!(
                matches!(drg_normal_form(code), Cow::Borrowed(_)),
                borrowed,
                "{code}"
            );
        }
    }

    #[test]
    fn claim_types_and_record_types_read_case_insensitively() {
        assert_eq!(ClaimType::parse("snf"), Some(ClaimType::Snf));
        assert_eq!(ClaimType::parse("XX"), None);
        assert_eq!(RecordType::parse("v"), Some(RecordType::Void));
        assert_eq!(RecordType::parse(""), Some(RecordType::Original));
        assert_eq!(RecordType::parse("X"), None);
        assert!(RecordType::Void > RecordType::Replacement);
        assert!(RecordType::Replacement > RecordType::Original);
    }
}
