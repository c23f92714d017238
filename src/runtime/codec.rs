//! The building blocks of the run's private binary encodings (the claim
//! rows and enrollment partitions hold, in memory and in spill files):
//! LEB128 integers, zigzagged when signed, texts as a length and their
//! bytes, and a [`Cursor`] that reads them back.
//!
//! The bytes are the run's own, so a failure to read them is a bug or a
//! disk that changed them: the cursor checks every length against what is
//! left and every value against its range, and its failures name the byte,
//! never panic. Written here by hand rather than with a varint crate:
//! amounts are 128-bit, and each read must say where it failed.

use chrono::NaiveDate;

use crate::model::{Date, Text};

/// Appends `value` as LEB128: seven bits a byte, low bits first, the high
/// bit set on every byte but the last.
pub fn put_varint(out: &mut Vec<u8>, value: u128) {
    leb128(value, |byte| out.push(byte));
}

/// `value` as LEB128, byte by byte to `push`: the one writer of
/// [`put_varint`] and [`Scratch::varint`] past 64 bits.
#[inline]
fn leb128(mut value: u128, mut push: impl FnMut(u8)) {
    while value >= 0x80 {
        push((value as u8) | 0x80);
        value >>= 7;
    }
    push(value as u8);
}

/// A record's numbers, written on the stack and copied out at once: a
/// `Vec` checks its room on every byte pushed, and a claim line is some
/// fifteen numbers of a byte or two (callgrind: the pushes were a third
/// of encoding a line).
///
/// `N` must hold the record: a write past it panics, which is a bug in
/// the record's bound, never a fact about the input.
#[derive(Debug)]
pub struct Scratch<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Scratch<N> {
    /// Empty.
    pub fn new() -> Self {
        Scratch {
            bytes: [0; N],
            len: 0,
        }
    }

    /// Appends one byte.
    #[inline]
    pub fn byte(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// Appends `value` as LEB128, as [`put_varint`] does.
    #[inline(always)]
    pub fn varint(&mut self, value: u128) {
        // Nearly every value fits 64 bits, whose shifts are cheaper, and
        // is written inline, in [`leb128`]'s loop narrowed to a u64; a
        // line writes eleven.
        let Ok(mut value) = u64::try_from(value) else {
            return self.wide_varint(value);
        };
        while value >= 0x80 {
            self.byte((value as u8) | 0x80);
            value >>= 7;
        }
        self.byte(value as u8);
    }

    /// [`Scratch::varint`] of a value past 64 bits.
    #[cold]
    #[inline(never)]
    fn wide_varint(&mut self, value: u128) {
        leb128(value, |byte| self.byte(byte));
    }

    /// The bytes written.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl<const N: usize> Default for Scratch<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A signed number as an unsigned one whose LEB128 is short when the
/// number is near zero: 0, -1, 1, -2, ... become 0, 1, 2, 3, ...
pub fn zigzag(value: i128) -> u128 {
    ((value << 1) ^ (value >> 127)) as u128
}

/// The inverse of [`zigzag`].
pub fn unzigzag(value: u128) -> i128 {
    ((value >> 1) as i128) ^ -((value & 1) as i128)
}

/// Appends `text` as its length and its UTF-8 bytes.
pub fn put_text(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u128);
    out.extend_from_slice(text.as_bytes());
}

/// Why decoding failed, boxed so that the cursor's results stay two
/// words (returned in registers: a line takes some twenty reads).
#[derive(Debug)]
#[expect(
    clippy::box_collection,
    reason = "one word where a String is three: the results stay in registers"
)]
pub struct Problem(Box<String>);

/// A [`Problem`] saying `message`; kept out of line, as it is never the
/// path taken.
#[cold]
pub fn problem(message: String) -> Problem {
    Problem(Box::new(message))
}

impl From<Problem> for String {
    fn from(problem: Problem) -> String {
        *problem.0
    }
}

/// Reads an encoding's pieces, each failure naming its byte.
#[derive(Debug)]
pub struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, at: 0 }
    }

    /// The next byte's place.
    pub fn at(&self) -> usize {
        self.at
    }

    /// Whether every byte was read.
    pub fn is_done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// The next `len` bytes.
    #[inline]
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], Problem> {
        let left = self.bytes.len() - self.at;
        if len > left {
            return Err(problem(format!(
                "byte {}: cut short, {len} bytes needed and {left} left",
                self.at
            )));
        }
        let taken = &self.bytes[self.at..self.at + len];
        self.at += len;
        Ok(taken)
    }

    /// The next `N` bytes.
    #[inline]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Problem> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    /// The next byte.
    #[inline]
    pub fn u8(&mut self) -> Result<u8, Problem> {
        Ok(self.take(1)?[0])
    }

    /// A number of up to 64 bits.
    #[inline]
    pub fn varint(&mut self) -> Result<u64, Problem> {
        // Most numbers are a difference of one byte.
        if let Some(&byte) = self.bytes.get(self.at)
            && byte < 0x80
        {
            self.at += 1;
            return Ok(u64::from(byte));
        }
        let start = self.at;
        let value = self.wide_varint()?;
        u64::try_from(value)
            .map_err(|_| problem(format!("byte {start}: {value} is longer than 64 bits")))
    }

    /// A number of up to 128 bits (an amount of cents).
    pub fn wide_varint(&mut self) -> Result<u128, Problem> {
        let start = self.at;
        // Nine bytes hold 63 bits: most numbers (amounts of cents, offsets)
        // are read there in a u64, before the u128 loop.
        let mut narrow = 0u64;
        for shift in (0..63).step_by(7) {
            let Some(&byte) = self.bytes.get(self.at) else {
                break;
            };
            narrow |= u64::from(byte & 0x7f) << shift;
            self.at += 1;
            if byte & 0x80 == 0 {
                return Ok(u128::from(narrow));
            }
        }
        self.at = start;
        let mut value = 0u128;
        for shift in (0..128).step_by(7) {
            let byte = self.u8()?;
            let bits = u128::from(byte & 0x7f);
            if shift == 126 && bits > 3 {
                break;
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(problem(format!(
            "byte {start}: a number longer than 128 bits"
        )))
    }

    /// A varint that must fit `T`.
    #[inline]
    pub fn narrow<T: TryFrom<u64>>(&mut self, what: &str) -> Result<T, Problem> {
        let start = self.at;
        let value = self.varint()?;
        T::try_from(value)
            .map_err(|_| problem(format!("byte {start}: {what} {value} out of range")))
    }

    /// A zigzagged difference of 64 bits.
    #[inline]
    pub fn difference(&mut self) -> Result<i64, Problem> {
        let value = self.varint()?;
        Ok(((value >> 1) as i64) ^ -((value & 1) as i64))
    }

    /// The date `days` after the common era's first, if there is one; a
    /// failure names the cursor's place.
    pub fn date(&self, days: i64) -> Result<Date, Problem> {
        i32::try_from(days)
            .ok()
            .and_then(NaiveDate::from_num_days_from_ce_opt)
            .ok_or_else(|| problem(format!("byte {}: no date is day {days}", self.at)))
    }

    /// A text's bytes, after their length.
    #[inline]
    pub fn bytes(&mut self) -> Result<&'a [u8], Problem> {
        let len = self.narrow::<usize>("text length")?;
        self.take(len)
    }

    /// A text written by [`put_text`], borrowed from the bytes.
    pub fn str(&mut self) -> Result<&'a str, Problem> {
        let start = self.at;
        std::str::from_utf8(self.bytes()?)
            .map_err(|_| problem(format!("byte {start}: text that is not UTF-8")))
    }

    /// A text written by [`put_text`], owned.
    pub fn text(&mut self) -> Result<Text, Problem> {
        self.str().map(Text::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_take_seven_bits_a_byte() {
        let encoded = |value: u128| {
            let mut out = Vec::new();
            put_varint(&mut out, value);
            out
        };
        assert_eq!(encoded(0), [0]);
        assert_eq!(encoded(127), [127]);
        assert_eq!(encoded(128), [0x80, 1]);
        assert_eq!(encoded(300), [0xac, 0x02]);
        assert_eq!(encoded(u128::MAX).len(), 19);
        assert_eq!([zigzag(0), zigzag(-1), zigzag(1), zigzag(-2)], [0, 1, 2, 3]);
        assert_eq!(zigzag(i128::MIN), u128::MAX);
        assert_eq!(unzigzag(u128::MAX), i128::MIN);
    }

    #[test]
    fn a_read_past_a_range_is_an_error_naming_its_byte() {
        let message = |result: Result<u64, Problem>| String::from(result.unwrap_err());
        // Nineteen bytes hold 128 bits; a twentieth is refused, not wrapped.
        let mut long = vec![0xff; 19];
        long.push(0);
        let error = String::from(Cursor::new(&long).wide_varint().unwrap_err());
        assert_eq!(error, "byte 0: a number longer than 128 bits");
        let mut wide = Vec::new();
        put_varint(&mut wide, u128::from(u64::MAX) + 1);
        assert!(message(Cursor::new(&wide).varint()).contains("longer than 64 bits"));
        let mut cursor = Cursor::new(&[0x80]);
        assert!(message(cursor.varint()).contains("cut short"));
        let mut text = vec![7];
        put_varint(&mut text, 300);
        let mut cursor = Cursor::new(&text);
        assert_eq!(cursor.u8().unwrap(), 7);
        let error = String::from(cursor.narrow::<u8>("width").unwrap_err());
        assert_eq!(error, "byte 1: width 300 out of range");
        let error = String::from(Cursor::new(&[]).date(i64::from(i32::MAX)).unwrap_err());
        assert!(error.contains("no date is day"), "{error}");
    }

    proptest! {
        #[test]
        fn any_numbers_and_texts_round_trip(
            values in prop::collection::vec((any::<u64>(), any::<i64>(), any::<i128>(), ".*"), 0..8),
        ) {
            let mut out = Vec::new();
            for (unsigned, signed, wide, text) in &values {
                put_varint(&mut out, u128::from(*unsigned));
                put_varint(&mut out, zigzag(i128::from(*signed)));
                put_varint(&mut out, zigzag(*wide));
                put_text(&mut out, text);
            }
            let mut cursor = Cursor::new(&out);
            for (unsigned, signed, wide, text) in &values {
                prop_assert_eq!(cursor.varint().unwrap(), *unsigned);
                prop_assert_eq!(cursor.difference().unwrap(), *signed);
                prop_assert_eq!(unzigzag(cursor.wide_varint().unwrap()), *wide);
                let read = cursor.text().unwrap();
                prop_assert_eq!(read.as_str(), text.as_str());
            }
            prop_assert!(cursor.is_done());
        }

        #[test]
        fn the_scratch_writes_what_a_vec_gets(values in prop::collection::vec(any::<u128>(), 0..6)) {
            let mut scratch = Scratch::<114>::new();
            let mut out = Vec::new();
            for value in &values {
                scratch.varint(*value);
                put_varint(&mut out, *value);
                scratch.byte(0xab);
                out.push(0xab);
            }
            prop_assert_eq!(scratch.bytes(), &out[..]);
        }
    }
}
