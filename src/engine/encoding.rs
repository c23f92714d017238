//! The compact encoding of the claim lines and version keys a partition
//! holds until it is built: written as rows are routed, held in memory, and
//! the same bytes go to the spill files when they pass the memory limit.
//!
//! Every line of the run is held until its partition is built, since a
//! beneficiary's claims may come in any file and any order. As a
//! [`crate::model::ClaimLine`] a line takes 128 bytes and its share of six
//! reference counted strings, more than its CSV (about 116 bytes); encoded
//! it takes about 26 (measured: 4,070,398 generated lines encode to
//! 107.7 MB, as `reconcile -v --memory-limit 64MiB` logs when it spills),
//! so the input is held in under a quarter of its size, and a partition's
//! lines become structs only while it is built, their texts pointing into
//! these bytes ([`RowDecoder`]). Decoding costs some 65 ns a line on one
//! thread (12% of a one-thread run at 4M lines, perf).
//!
//! The encoding is exact (every field round-trips, [`crate::model::Source`]
//! included) and private to one run, never a file format to keep. A record
//! is a tag byte, then its fields:
//! - a line: its six texts' states (two bits each: absent, the same as the
//!   previous line's, or new) and whether its five claim-level dates are the
//!   previous line's, the file, the row and the byte offset (as differences
//!   from the previous line's), the line number, the claim and record type
//!   in one byte, the from date (a difference from the previous line's) and
//!   the four other claim-level dates (differences from the from date) when
//!   they are not the previous line's, the line date (a difference from the
//!   from date), the allowed cents, then the new texts, each a length and
//!   UTF-8 bytes;
//! - a version key, whole: beneficiary, claim, processed date, record type.
//!
//! Integers are LEB128, signed ones zigzagged first. Lines of one claim
//! come together and share most fields, so most of a line is a few
//! one-byte differences. "The previous line" is that of the same segment:
//! each [`EncodedRows`] starts afresh with a record of its own tag, so
//! segments can be concatenated (in memory, or in a spill file's blocks)
//! and decoded as one stream.
//!
//! Decoding checks every tag, length, string and date, so damaged bytes
//! (a spill file a disk changed) are an error naming the byte, never a
//! panic.

use chrono::{Datelike, NaiveDate};

use crate::model::money::Money;
use crate::model::outcome::VersionKey;
use crate::model::{ClaimLineOf, ClaimType, Date, LineRef, RecordType, Source, same_bytes};
use crate::runtime::codec::{
    Cursor, Problem, Scratch, problem, put_text, put_varint, unzigzag, zigzag,
};

/// A version key, whole.
const KEY: u8 = 0;
/// A line, with differences from the previous line of its segment.
const LINE: u8 = 1;
/// The first line of a segment: the decoder forgets the previous line.
const FIRST_LINE: u8 = 2;

/// The texts of a line, in their order in the encoding.
const TEXTS: usize = 6;
/// A text's state, two bits of a line's `u16`.
const ABSENT: u16 = 0;
/// See [`ABSENT`].
const SAME: u16 = 1;
/// See [`ABSENT`].
const NEW: u16 = 2;
/// The bit of a line's `u16`, after its texts' states, that says its
/// claim-level dates are the previous line's: as they are for a claim's
/// later lines whenever its version is consistent (the version checks,
/// later, reject it otherwise; any line is encoded exactly either way),
/// which then skips five differences and five dates to make.
const SAME_DATES: u16 = 1 << (2 * TEXTS);

const RECORD_TYPES: [RecordType; 3] = [
    RecordType::Original,
    RecordType::Replacement,
    RecordType::Void,
];

/// The texts of `line` (shared or borrowed), in encoding order.
fn texts<S>(line: &ClaimLineOf<S>) -> [Option<&S>; TEXTS] {
    [
        Some(&line.beneficiary_id),
        Some(&line.claim_id),
        line.provider_id.as_ref(),
        line.drg.as_ref(),
        line.principal_dx.as_ref(),
        line.hcpcs.as_ref(),
    ]
}

fn days(date: Date) -> i64 {
    i64::from(date.num_days_from_ce())
}

fn types_byte(claim_type: ClaimType, record_type: RecordType) -> u8 {
    // Seven claim types times three record types: under 256. Both enums'
    // values are their positions in `ClaimType::ALL` and `RECORD_TYPES`,
    // which are in declaration order.
    claim_type as u8 * RECORD_TYPES.len() as u8 + record_type as u8
}

/// What a line is encoded against: the previous line of the segment.
#[derive(Clone, Copy, Debug)]
struct Previous {
    /// Where each of its texts' bytes are in the segment.
    texts: [Option<(usize, usize)>; TEXTS],
    row: u64,
    offset: u64,
    from: i64,
    dates: ClaimDates,
}

/// A line's claim-level dates: processed, from, thru, admission, discharge.
type ClaimDates = [Date; 5];

fn claim_dates<S>(line: &ClaimLineOf<S>) -> ClaimDates {
    [
        line.processed_date,
        line.from_date,
        line.thru_date,
        line.admission_date,
        line.discharge_date,
    ]
}

/// One segment of encoded rows: a partition's rows of one chunk, as they
/// are routed.
#[derive(Debug, Default)]
pub struct EncodedRows {
    bytes: Vec<u8>,
    lines: usize,
    keys: usize,
    previous: Option<Previous>,
}

impl EncodedRows {
    /// An empty segment with room for `bytes`.
    pub fn with_capacity(bytes: usize) -> EncodedRows {
        EncodedRows {
            bytes: Vec::with_capacity(bytes),
            ..EncodedRows::default()
        }
    }

    /// The encoded records.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Memory held, counting the room not used.
    pub fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Lines encoded.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Version keys encoded.
    pub fn keys(&self) -> usize {
        self.keys
    }

    /// Whether nothing was encoded.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Appends `other`'s records after these, which only a segment that
    /// will take no more lines may be given (the next line's differences
    /// would be from `other`'s last line, which this encoder has not seen):
    /// how a partition gathers its chunks' segments into blocks.
    pub fn append(&mut self, other: &EncodedRows) {
        self.bytes.extend_from_slice(&other.bytes);
        self.lines += other.lines;
        self.keys += other.keys;
        // A line pushed after this would start a segment of its own.
        self.previous = None;
    }

    /// Appends `line`.
    pub fn push_line(&mut self, line: &LineRef<'_>) {
        // At most: tag and states 3, file 5, row and offset 10 each, line
        // number 10, types 1, six dates 10 each (differences of i32 days,
        // zigzagged), cents 19 (128 bits).
        let mut head = Scratch::<128>::new();
        let previous = self.previous.as_ref();
        head.byte(if previous.is_some() { LINE } else { FIRST_LINE });
        // The states are known only once the texts are compared below.
        head.byte(0);
        head.byte(0);
        let base = previous.map_or((0, 0, 0), |p| (p.row, p.offset, p.from));
        head.varint(u128::from(line.source.file));
        // Wrapping differences are exact for any two u64.
        head.varint(zigzag(line.source.row.wrapping_sub(base.0) as i64 as i128));
        head.varint(zigzag(
            line.source.offset.wrapping_sub(base.1) as i64 as i128
        ));
        head.varint(u128::from(line.line_number));
        head.byte(types_byte(line.claim_type, line.record_type));
        let dates = claim_dates(line);
        let same_dates = previous.is_some_and(|p| p.dates == dates);
        let from = if same_dates {
            base.2
        } else {
            let from = days(line.from_date);
            head.varint(zigzag(i128::from(from) - i128::from(base.2)));
            for date in [
                line.processed_date,
                line.thru_date,
                line.admission_date,
                line.discharge_date,
            ] {
                head.varint(zigzag(i128::from(days(date) - from)));
            }
            from
        };
        head.varint(zigzag(i128::from(days(line.line_date) - from)));
        head.varint(zigzag(line.allowed.cents()));
        let out = &mut self.bytes;
        let states_at = out.len() + 1;
        out.extend_from_slice(head.bytes());
        let mut states = if same_dates { SAME_DATES } else { 0 };
        let mut at = [None; TEXTS];
        for (index, text) in texts(line).into_iter().enumerate() {
            let Some(text) = text else { continue };
            let before = previous.and_then(|p| p.texts[index]);
            let state = match before {
                Some((start, len)) if same_bytes(&out[start..start + len], text.as_bytes()) => {
                    at[index] = before;
                    SAME
                }
                _ => {
                    put_varint(out, text.len() as u128);
                    at[index] = Some((out.len(), text.len()));
                    out.extend_from_slice(text.as_bytes());
                    NEW
                }
            };
            states |= state << (2 * index);
        }
        out[states_at..states_at + 2].copy_from_slice(&states.to_le_bytes());
        self.previous = Some(Previous {
            texts: at,
            row: line.source.row,
            offset: line.source.offset,
            from,
            dates,
        });
        self.lines += 1;
    }

    /// Appends `key`.
    pub fn push_key(&mut self, key: &VersionKey) {
        let out = &mut self.bytes;
        out.push(KEY);
        put_text(out, &key.beneficiary_id);
        put_text(out, &key.claim_id);
        put_varint(out, zigzag(i128::from(days(key.processed_date))));
        out.push(key.record_type as u8);
        self.keys += 1;
    }
}

/// Decodes segments of [`EncodedRows`], one after the other, into lines
/// whose texts are borrowed from the encoded bytes.
///
/// A partition's bytes are held until it is built in any case, so its
/// lines point into them rather than owning their texts: a line decoded
/// into shared strings cost an allocation per claim id and a reference
/// count taken and dropped per text, a fifth of building on one thread
/// (perf: `_mi_page_malloc_zero`, `drop_in_place<ClaimLine>` and the
/// decoder's own clones).
#[derive(Debug, Default)]
pub struct RowDecoder {
    previous: Option<Decoded>,
    /// Dates by day number, direct-mapped: a partition's dates fall in a
    /// few years, and making a date of a day number is not free (4% of a
    /// one-thread run's building, perf).
    dates: DateCache,
}

/// Dates by day number, in a direct-mapped table.
#[derive(Debug)]
struct DateCache(Box<[(i64, Date)]>);

impl DateCache {
    /// Entries: 16 KiB, about three years of distinct days.
    const ENTRIES: usize = 1024;

    /// The date of day `days`, made once per entry it takes.
    fn get(&mut self, days: i64, cursor: &Cursor<'_>) -> Result<Date, Problem> {
        // Any index works for any day: the entry says which day it holds.
        // The low bits of the day: its remainder by the (power of two)
        // entries, negative days included.
        let entry = &mut self.0[(days & (Self::ENTRIES as i64 - 1)) as usize];
        if entry.0 != days {
            *entry = (days, cursor.date(days)?);
        }
        Ok(entry.1)
    }
}

// `DateCache::get` takes a day's low bits for its remainder.
const _: () = assert!(DateCache::ENTRIES.is_power_of_two());

impl Default for DateCache {
    fn default() -> Self {
        // No day is i64::MIN, so every entry starts empty.
        DateCache(vec![(i64::MIN, NaiveDate::MIN); Self::ENTRIES].into_boxed_slice())
    }
}

/// What the next line is decoded against: the previous line, by its
/// place in the vector decoded into, whose texts it shares.
#[derive(Debug)]
struct Decoded {
    line: usize,
    row: u64,
    offset: u64,
    from: i64,
}

impl RowDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> RowDecoder {
        RowDecoder::default()
    }

    /// Decodes every record of `bytes` (whole records, following those
    /// decoded before), lines into `lines` and keys into `keys`, each in
    /// the order they were encoded. `lines` is the vector the stream's
    /// earlier records were decoded into, since a line shares texts with
    /// the one before it. A problem names its byte in `bytes`.
    pub fn decode<'a>(
        &mut self,
        bytes: &'a [u8],
        lines: &mut Vec<LineRef<'a>>,
        keys: &mut Vec<VersionKey>,
    ) -> Result<(), String> {
        if self
            .previous
            .as_ref()
            .is_some_and(|p| p.line + 1 != lines.len())
        {
            return Err("lines decoded into another vector than the stream's".into());
        }
        let mut cursor = Cursor::new(bytes);
        while !cursor.is_done() {
            match cursor.u8()? {
                KEY => keys.push(key(&mut cursor)?),
                FIRST_LINE => {
                    self.previous = None;
                    self.line(&mut cursor, lines)?;
                }
                LINE if self.previous.is_some() => self.line(&mut cursor, lines)?,
                tag => {
                    return Err(format!(
                        "byte {}: record tag {tag} where a record starts",
                        cursor.at() - 1
                    ));
                }
            }
        }
        Ok(())
    }

    /// Decodes the next line onto `lines`, in place: a line is well over
    /// a hundred bytes, and returning it cost a copy more (callgrind).
    fn line<'a>(
        &mut self,
        cursor: &mut Cursor<'a>,
        lines: &mut Vec<LineRef<'a>>,
    ) -> Result<(), String> {
        let states_at = cursor.at();
        let states = u16::from_le_bytes(cursor.array()?);
        let base = self
            .previous
            .as_ref()
            .map_or((0, 0, 0), |p| (p.row, p.offset, p.from));
        let file = cursor.narrow::<u32>("file")?;
        // Differences wrap, as they were taken.
        let row = base.0.wrapping_add(cursor.difference()? as u64);
        let offset = base.1.wrapping_add(cursor.difference()? as u64);
        let line_number = cursor.narrow::<u64>("line number")?;
        let types_at = cursor.at();
        let types = cursor.u8()?;
        let claim_type = ClaimType::ALL.get(usize::from(types) / RECORD_TYPES.len());
        let record_type = RECORD_TYPES[usize::from(types) % RECORD_TYPES.len()];
        let claim_type = *claim_type.ok_or_else(|| format!("byte {types_at}: types {types}"))?;
        if states >> (2 * TEXTS + 1) != 0 {
            return Err(format!("byte {states_at}: states {states:#06x}"));
        }
        let same_dates = states & SAME_DATES != 0;
        // The line before, which this one may repeat dates and texts of.
        let before = self.previous.as_ref().and_then(|p| lines.get(p.line));
        let (from, dates) = match before {
            Some(previous) if same_dates => (base.2, claim_dates(previous)),
            None if same_dates => {
                return Err(format!(
                    "byte {states_at}: the dates of a previous line it lacks"
                ));
            }
            _ => {
                let from = base.2.saturating_add(cursor.difference()?);
                let mut dates = [NaiveDate::MIN; 5];
                for (slot, date) in dates.iter_mut().enumerate() {
                    let days = match slot {
                        // The from date, second in a line's claim dates.
                        1 => from,
                        _ => from.saturating_add(cursor.difference()?),
                    };
                    *date = self.dates.get(days, cursor)?;
                }
                (from, dates)
            }
        };
        let [
            processed_date,
            from_date,
            thru_date,
            admission_date,
            discharge_date,
        ] = dates;
        let line_date = self
            .dates
            .get(from.saturating_add(cursor.difference()?), cursor)?;
        let allowed = Money::from_cents(unzigzag(cursor.wide_varint()?));
        let before = before.map(texts);
        let mut decoded: [Option<&'a str>; TEXTS] = [None; TEXTS];
        for (index, text) in decoded.iter_mut().enumerate() {
            *text = match (states >> (2 * index)) & 3 {
                ABSENT => None,
                SAME => match before.and_then(|texts| texts[index]) {
                    Some(text) => Some(*text),
                    None => {
                        return Err(format!(
                            "byte {states_at}: text {index} the same as a previous line's it lacks"
                        ));
                    }
                },
                NEW => Some(cursor.str()?),
                state => return Err(format!("byte {states_at}: text state {state}")),
            };
        }
        let [
            Some(beneficiary_id),
            Some(claim_id),
            provider_id,
            drg,
            principal_dx,
            hcpcs,
        ] = decoded
        else {
            return Err(format!("byte {states_at}: a line without its ids"));
        };
        self.previous = Some(Decoded {
            line: lines.len(),
            row,
            offset,
            from,
        });
        lines.push(LineRef {
            source: Source { file, row, offset },
            beneficiary_id,
            claim_id,
            line_number,
            claim_type,
            record_type,
            processed_date,
            from_date,
            thru_date,
            admission_date,
            discharge_date,
            line_date,
            allowed,
            provider_id,
            drg,
            principal_dx,
            hcpcs,
        });
        Ok(())
    }
}

/// A version key, whole.
fn key(cursor: &mut Cursor<'_>) -> Result<VersionKey, Problem> {
    let beneficiary_id = cursor.text()?;
    let claim_id = cursor.text()?;
    let processed_days = cursor.difference()?;
    let processed_date = cursor.date(processed_days)?;
    let at = cursor.at();
    let record_type = cursor.u8()?;
    let record_type = *RECORD_TYPES
        .get(usize::from(record_type))
        .ok_or_else(|| problem(format!("byte {at}: record type {record_type}")))?;
    Ok(VersionKey {
        beneficiary_id,
        claim_id,
        processed_date,
        record_type,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{ClaimLine, Text};
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> Date {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    pub(crate) fn line(n: u64) -> ClaimLine {
        ClaimLine {
            source: Source {
                file: (n % 3) as u32,
                row: n + 2,
                offset: n * 100,
            },
            beneficiary_id: format!("B{n}").into(),
            claim_id: format!("C{n}").into(),
            line_number: n + 1,
            claim_type: ClaimType::ALL[n as usize % ClaimType::ALL.len()],
            record_type: RecordType::Original,
            processed_date: date(2026, 1, 15),
            from_date: date(2026, 1, 1),
            thru_date: date(2026, 1, 10),
            admission_date: date(2026, 1, 1),
            discharge_date: date(2026, 1, 10),
            line_date: date(2026, 1, 2),
            allowed: Money::from_cents(i128::from(n) * 1234),
            provider_id: Some("P1".into()),
            drg: None,
            principal_dx: Some("I214".into()),
            hcpcs: None,
        }
    }

    pub(crate) fn key(n: u64) -> VersionKey {
        VersionKey {
            beneficiary_id: format!("B{n}").into(),
            claim_id: format!("C{n}").into(),
            processed_date: date(2026, 2, 1),
            record_type: RecordType::Void,
        }
    }

    /// Every shape a field can take: each claim and record type, options
    /// absent and present, negative and extreme money, long and non-ASCII
    /// text, empty text, the first and last dates chrono has.
    pub(crate) fn varied_lines() -> Vec<ClaimLine> {
        let records = [
            RecordType::Original,
            RecordType::Replacement,
            RecordType::Void,
        ];
        let long: Text = "x".repeat(100_000).into();
        let mut lines = Vec::new();
        for (i, claim_type) in ClaimType::ALL.into_iter().enumerate() {
            for (j, record_type) in records.into_iter().enumerate() {
                let mut l = line((i * 3 + j) as u64);
                l.claim_type = claim_type;
                l.record_type = record_type;
                let some = (i + j) % 2 == 0;
                l.provider_id = some.then(|| "Pé-ü-漢字-🚑".into());
                l.drg = some.then(|| "066".into());
                l.principal_dx = (!some).then(|| "".into());
                l.hcpcs = (!some).then(|| long.clone());
                lines.push(l);
            }
        }
        let mut extreme = line(99);
        extreme.source = Source {
            file: u32::MAX,
            row: u64::MAX,
            offset: u64::MAX,
        };
        extreme.line_number = u64::MAX;
        extreme.beneficiary_id = "Ω".repeat(70_000).into();
        extreme.claim_id = "".into();
        extreme.processed_date = NaiveDate::MIN;
        extreme.from_date = NaiveDate::MAX;
        extreme.thru_date = date(1, 1, 1);
        extreme.admission_date = date(0, 12, 31);
        extreme.discharge_date = date(-1, 3, 1);
        extreme.line_date = date(2024, 2, 29);
        extreme.allowed = Money::from_cents(i128::MIN);
        lines.push(extreme.clone());
        extreme.allowed = Money::from_cents(i128::MAX);
        lines.push(extreme.clone());
        extreme.allowed = Money::from_cents(-1);
        lines.push(extreme);
        lines
    }

    pub(crate) fn varied_keys() -> Vec<VersionKey> {
        let mut keys = Vec::new();
        for (i, record_type) in [
            RecordType::Original,
            RecordType::Replacement,
            RecordType::Void,
        ]
        .into_iter()
        .enumerate()
        {
            let mut k = key(i as u64);
            k.record_type = record_type;
            keys.push(k);
        }
        keys.push(VersionKey {
            beneficiary_id: "Zoë 🚑".into(),
            claim_id: "c".repeat(300_000).into(),
            processed_date: NaiveDate::MIN,
            record_type: RecordType::Void,
        });
        keys.push(VersionKey {
            beneficiary_id: "".into(),
            claim_id: "".into(),
            processed_date: NaiveDate::MAX,
            record_type: RecordType::Original,
        });
        keys
    }

    /// `lines` then `keys` in one segment.
    pub(crate) fn encoded(lines: &[ClaimLine], keys: &[VersionKey]) -> EncodedRows {
        let mut rows = EncodedRows::default();
        lines.iter().for_each(|l| rows.push_line(&l.view()));
        keys.iter().for_each(|k| rows.push_key(k));
        rows
    }

    fn decoded(bytes: &[u8]) -> Result<(Vec<ClaimLine>, Vec<VersionKey>), String> {
        let (mut lines, mut keys) = (Vec::new(), Vec::new());
        RowDecoder::new().decode(bytes, &mut lines, &mut keys)?;
        Ok((lines.iter().map(LineRef::to_line).collect(), keys))
    }

    #[test]
    fn lines_and_keys_round_trip_in_every_shape() {
        let (lines, keys) = (varied_lines(), varied_keys());
        let rows = encoded(&lines, &keys);
        assert_eq!((rows.lines(), rows.keys()), (lines.len(), keys.len()));
        assert_eq!(
            decoded(rows.bytes()).unwrap(),
            (lines.clone(), keys.clone())
        );
        // Keys between lines change nothing a line is encoded against.
        let mut mixed = EncodedRows::default();
        for (l, k) in lines.iter().zip(keys.iter().cycle()) {
            mixed.push_line(&l.view());
            mixed.push_key(k);
        }
        let (l, k) = decoded(mixed.bytes()).unwrap();
        assert_eq!(l, lines);
        assert_eq!(k.len(), lines.len());
    }

    /// Segments are decoded as one stream, each starting afresh: what a
    /// partition's chunks and its spill file's blocks are.
    #[test]
    fn concatenated_segments_decode_as_one_stream() {
        let lines = varied_lines();
        let (first, second) = lines.split_at(7);
        let mut bytes = encoded(first, &[]).bytes().to_vec();
        bytes.extend_from_slice(encoded(second, &[key(1)]).bytes());
        assert_eq!(decoded(&bytes).unwrap(), (lines, vec![key(1)]));
    }

    /// The lines of one claim share their ids, codes and dates, so a line
    /// after the first costs a few bytes: what makes the held input a
    /// fraction of its CSV.
    #[test]
    fn a_claims_later_lines_take_a_few_bytes() {
        let first = line(1);
        let mut rows = encoded(std::slice::from_ref(&first), &[]);
        let mut lines = vec![first.clone()];
        let alone = rows.bytes().len();
        // Its texts, each a length and its bytes, beside what every line has.
        assert_eq!(alone, 17 + 3 + 3 + 3 + 5 + 2);
        for n in 2..=10u64 {
            let mut next = first.clone();
            next.line_number = n;
            next.source.row += n;
            next.source.offset += 120 * n;
            next.line_date = date(2026, 1, 3);
            next.allowed = Money::from_cents(4_567);
            rows.push_line(&next.view());
            lines.push(next);
        }
        assert_eq!(decoded(rows.bytes()).unwrap().0, lines);
        // The tag, the texts' states and the dates' bit (2), one byte each
        // for the file, row, line number, types and the line date, two for
        // the offset and two for the amount: the claim's dates are the
        // previous line's.
        let later = (rows.bytes().len() - alone) / 9;
        assert_eq!(later, 12);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let mut rows = EncodedRows::default();
        let mut ends = Vec::new();
        for l in &varied_lines()[..3] {
            rows.push_line(&l.view());
            ends.push(rows.bytes().len());
        }
        rows.push_key(&key(1));
        let bytes = rows.bytes();
        for cut in 1..bytes.len() {
            match ends.iter().position(|&end| end == cut) {
                // Cut between records: the records before it.
                Some(records) => assert_eq!(decoded(&bytes[..cut]).unwrap().0.len(), records + 1),
                None => {
                    let error = decoded(&bytes[..cut]).unwrap_err();
                    assert!(error.contains("cut short"), "{cut}: {error}");
                }
            }
        }
    }

    #[test]
    fn damaged_bytes_are_errors() {
        let rows = encoded(&[line(0), line(0)], &[]);
        let damage = |at: usize, value: u8| {
            let mut bytes = rows.bytes().to_vec();
            bytes[at] = value;
            decoded(&bytes).unwrap_err()
        };
        assert_eq!(damage(0, 9), "byte 0: record tag 9 where a record starts");
        // A line that is not first needs a line before it.
        assert_eq!(
            damage(0, LINE),
            "byte 0: record tag 1 where a record starts"
        );
        // Text states: a fourth state, and "same" in a first line.
        assert!(damage(1, 0xff).contains("text state 3"));
        assert!(damage(1, 0x09).contains("the same as a previous line's"));
        // The ids are never absent.
        assert!(damage(1, 0).contains("without its ids"));
        // The dates of a line before it, in a first line; a state bit past
        // the dates'.
        let first_states = u16::from_le_bytes([rows.bytes()[1], rows.bytes()[2]]);
        let [low, high] = (first_states | SAME_DATES).to_le_bytes();
        let mut bytes = rows.bytes().to_vec();
        bytes[1..3].copy_from_slice(&[low, high]);
        assert!(
            decoded(&bytes)
                .unwrap_err()
                .contains("the dates of a previous line")
        );
        assert!(damage(2, 0x20).contains("states"));
        // Claim and record type in one byte, 7 x 3 values: after the tag,
        // the states and four one-byte numbers (file 0, row 2, offset 0,
        // line number 1).
        assert_eq!(damage(7, 21), "byte 7: types 21");
        // A day no date has.
        let mut far = vec![KEY, 1, b'B', 1, b'C'];
        put_varint(&mut far, zigzag(i128::from(i32::MAX)));
        far.push(0);
        assert!(decoded(&far).unwrap_err().contains("no date is day"));
        // Text that is not UTF-8, and a record type past the three.
        assert!(
            decoded(&[KEY, 1, 0xff, 1, b'C', 0, 0])
                .unwrap_err()
                .contains("not UTF-8")
        );
        assert!(
            decoded(&[KEY, 1, b'B', 1, b'C', 0, 3])
                .unwrap_err()
                .contains("record type 3")
        );
        // A length past the end is checked against what is left.
        assert!(
            decoded(&[KEY, 0xff, 0xff, 0xff, 0x7f])
                .unwrap_err()
                .contains("cut short")
        );
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce())
            .prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap())
    }

    fn any_text() -> impl Strategy<Value = Text> {
        any::<String>().prop_map(Text::from)
    }

    fn any_key() -> impl Strategy<Value = VersionKey> {
        (any_text(), any_text(), any_date(), 0..3usize).prop_map(|(b, c, d, r)| VersionKey {
            beneficiary_id: b,
            claim_id: c,
            processed_date: d,
            record_type: RECORD_TYPES[r],
        })
    }

    fn any_line() -> impl Strategy<Value = ClaimLine> {
        (
            (any::<u32>(), any::<u64>(), any::<u64>(), any::<u64>()),
            (any_text(), any_text()),
            (0..ClaimType::ALL.len(), 0..3u8),
            prop::array::uniform6(any_date()),
            any::<i128>(),
            prop::array::uniform4(prop::option::of(any_text())),
        )
            .prop_map(
                |((file, row, offset, line_number), (b, c), (t, r), d, cents, [p, g, x, h])| {
                    ClaimLine {
                        source: Source { file, row, offset },
                        beneficiary_id: b,
                        claim_id: c,
                        line_number,
                        claim_type: ClaimType::ALL[t],
                        record_type: [
                            RecordType::Original,
                            RecordType::Replacement,
                            RecordType::Void,
                        ][usize::from(r)],
                        processed_date: d[0],
                        from_date: d[1],
                        thru_date: d[2],
                        admission_date: d[3],
                        discharge_date: d[4],
                        line_date: d[5],
                        allowed: Money::from_cents(cents),
                        provider_id: p,
                        drg: g,
                        principal_dx: x,
                        hcpcs: h,
                    }
                },
            )
    }

    proptest! {
        /// Any lines and keys, split into any segments, come back whole.
        #[test]
        fn any_rows_round_trip(
            lines in prop::collection::vec(any_line(), 0..8),
            keys in prop::collection::vec(any_key(), 0..3),
            split in 0..8usize,
        ) {
            let split = split.min(lines.len());
            let mut bytes = encoded(&lines[..split], &keys).bytes().to_vec();
            bytes.extend_from_slice(encoded(&lines[split..], &[]).bytes());
            let (l, k) = decoded(&bytes).unwrap();
            prop_assert_eq!(l, lines);
            prop_assert_eq!(k, keys);
        }
    }
}
