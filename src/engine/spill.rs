//! Partitions on disk: a compact binary encoding of claim lines and version
//! keys, and the spill files that hold partitions which do not fit in
//! `--memory-limit`.
//!
//! The encoding is exact (every field round-trips, `Source` included), so a
//! run that spills produces the same bytes as one that does not. It is
//! private to one run, never a file format to keep: fixed-width little-endian
//! integers, strings as a `u32` length and UTF-8 bytes, dates as `i32` days
//! from the common era, money as `i128` cents, enums as one byte and options
//! as a tag byte (0 absent, 1 present) before the value.
//!
//! Everything read back is checked (lengths against what is left, tags,
//! UTF-8, dates), so a damaged or truncated file is an error naming the file
//! and offset, never a panic.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};

use crate::model::Text;
use crate::model::money::Money;
use crate::model::outcome::VersionKey;
use crate::model::{ClaimLine, ClaimType, Date, RecordType, Source};
use crate::runtime::cleanup::TempDir;

/// Record tag of an encoded [`ClaimLine`] in a spill file.
const TAG_LINE: u8 = 1;
/// Record tag of an encoded [`VersionKey`] in a spill file.
const TAG_KEY: u8 = 2;

/// Bytes a partition collects in memory before they are appended to its file:
/// large enough that writes are few, small enough that hundreds of
/// partitions stay well under any memory limit.
const WRITE_BUFFER: usize = 64 * 1024;

/// What was wrong with spilled data.
#[derive(Debug, thiserror::Error)]
pub enum SpillErrorKind {
    /// Reading or writing the file failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The data ends inside a record: the file was truncated.
    #[error("truncated: {wanted} more bytes needed, {left} left")]
    Truncated {
        /// Bytes the next field needs.
        wanted: u64,
        /// Bytes that were left.
        left: u64,
    },
    /// A tag or enum byte has no meaning.
    #[error("invalid {what} byte {value}")]
    BadByte {
        /// Which byte (`record tag`, `claim type`, ...).
        what: &'static str,
        /// The value found.
        value: u8,
    },
    /// A string is not UTF-8.
    #[error("string is not UTF-8")]
    BadUtf8,
    /// A day number is outside chrono's range.
    #[error("invalid date: day {0} from the common era")]
    BadDate(i32),
}

/// An error reading or writing spilled partitions, with the file it concerns
/// (empty for data decoded from memory) and the byte offset of the problem,
/// so a report points at the exact place.
#[derive(Debug, thiserror::Error)]
pub struct SpillError {
    /// The spill file, or empty when decoding bytes not read from a file.
    pub path: PathBuf,
    /// Byte offset in the file where the problem was found.
    pub offset: u64,
    /// What went wrong.
    #[source]
    pub kind: SpillErrorKind,
}

impl crate::error::Classify for SpillError {
    /// Spill files are the run's own: failing to write or read them is the
    /// environment's doing, finding them damaged a bug (or a disk that
    /// changed them).
    fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match &self.kind {
            SpillErrorKind::Io(_) => ErrorKind::Environment,
            _ => ErrorKind::Internal,
        }
    }
}

impl fmt::Display for SpillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.as_os_str().is_empty() {
            write!(f, "spilled data")?;
        } else {
            write!(f, "spill file {}", self.path.display())?;
        }
        match &self.kind {
            SpillErrorKind::Io(error) => write!(f, ": {error}"),
            kind => write!(f, " at byte {}: {kind}", self.offset),
        }
    }
}

impl SpillError {
    /// An I/O error on `path`.
    fn io(path: &Path, error: io::Error) -> SpillError {
        SpillError {
            path: path.to_path_buf(),
            offset: 0,
            kind: SpillErrorKind::Io(error),
        }
    }
}

impl From<SpillError> for io::Error {
    /// Keeps the kind of an underlying I/O error; damaged data is
    /// `InvalidData`. The message names the file either way.
    fn from(error: SpillError) -> io::Error {
        let kind = match &error.kind {
            SpillErrorKind::Io(source) => source.kind(),
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, error)
    }
}

fn put_u8(out: &mut Vec<u8>, value: u8) {
    out.push(value);
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, value: &str) {
    // A u64 length: a field of a user's file may be of any size.
    put_u64(out, value.len() as u64);
    out.extend_from_slice(value.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => put_u8(out, 0),
        Some(text) => {
            put_u8(out, 1);
            put_str(out, text);
        }
    }
}

fn put_date(out: &mut Vec<u8>, date: Date) {
    out.extend_from_slice(&date.num_days_from_ce().to_le_bytes());
}

fn claim_type_byte(claim_type: ClaimType) -> u8 {
    claim_type as u8
}

fn record_type_byte(record_type: RecordType) -> u8 {
    match record_type {
        RecordType::Original => 0,
        RecordType::Replacement => 1,
        RecordType::Void => 2,
    }
}

/// Appends the encoding of `line` to `out`. Fields are written in the
/// struct's order; nothing is shared between lines, so any line decodes on
/// its own.
pub fn encode_line(line: &ClaimLine, out: &mut Vec<u8>) {
    put_u32(out, line.source.file);
    put_u64(out, line.source.row);
    put_u64(out, line.source.offset);
    put_str(out, &line.beneficiary_id);
    put_str(out, &line.claim_id);
    put_u64(out, line.line_number);
    put_u8(out, claim_type_byte(line.claim_type));
    put_u8(out, record_type_byte(line.record_type));
    put_date(out, line.processed_date);
    put_date(out, line.from_date);
    put_date(out, line.thru_date);
    put_date(out, line.admission_date);
    put_date(out, line.discharge_date);
    put_date(out, line.line_date);
    out.extend_from_slice(&line.allowed.cents().to_le_bytes());
    put_opt_str(out, line.provider_id.as_deref());
    put_opt_str(out, line.drg.as_deref());
    put_opt_str(out, line.principal_dx.as_deref());
    put_opt_str(out, line.hcpcs.as_deref());
}

/// Appends the encoding of `key` to `out`.
pub fn encode_key(key: &VersionKey, out: &mut Vec<u8>) {
    put_str(out, &key.beneficiary_id);
    put_str(out, &key.claim_id);
    put_date(out, key.processed_date);
    put_u8(out, record_type_byte(key.record_type));
}

/// Reads back what [`encode_line`] and [`encode_key`] wrote, checking every
/// length, tag, string and date so damaged data is an error, not a panic.
#[derive(Debug)]
pub struct Decoder<'a> {
    /// The encoded bytes.
    bytes: &'a [u8],
    /// Next byte to read.
    at: usize,
    /// The file the bytes came from, for errors.
    path: &'a Path,
    /// Offset of `bytes[0]` in that file, for errors.
    base: u64,
}

impl<'a> Decoder<'a> {
    /// A decoder over bytes held in memory (errors name no file).
    pub fn new(bytes: &'a [u8]) -> Decoder<'a> {
        Decoder::for_file(bytes, Path::new(""))
    }

    /// A decoder over the contents of `path`, named in its errors.
    pub fn for_file(bytes: &'a [u8], path: &'a Path) -> Decoder<'a> {
        Decoder {
            bytes,
            at: 0,
            path,
            base: 0,
        }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.at == self.bytes.len()
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    /// The next encoded claim line.
    pub fn next_line(&mut self) -> Result<ClaimLine, SpillError> {
        let source = Source {
            file: u32::from_le_bytes(self.array()?),
            row: self.u64()?,
            offset: self.u64()?,
        };
        Ok(ClaimLine {
            source,
            beneficiary_id: self.str()?,
            claim_id: self.str()?,
            line_number: self.u64()?,
            claim_type: self.claim_type()?,
            record_type: self.record_type()?,
            processed_date: self.date()?,
            from_date: self.date()?,
            thru_date: self.date()?,
            admission_date: self.date()?,
            discharge_date: self.date()?,
            line_date: self.date()?,
            allowed: Money::from_cents(i128::from_le_bytes(self.array()?)),
            provider_id: self.opt_str()?,
            drg: self.opt_str()?,
            principal_dx: self.opt_str()?,
            hcpcs: self.opt_str()?,
        })
    }

    /// The next encoded version key.
    pub fn next_key(&mut self) -> Result<VersionKey, SpillError> {
        Ok(VersionKey {
            beneficiary_id: self.str()?,
            claim_id: self.str()?,
            processed_date: self.date()?,
            record_type: self.record_type()?,
        })
    }

    /// An error at byte `at` of the data.
    fn error(&self, at: usize, kind: SpillErrorKind) -> SpillError {
        SpillError {
            path: self.path.to_path_buf(),
            offset: self.base + at as u64,
            kind,
        }
    }

    /// The next `len` bytes, or a truncation error that consumes nothing.
    fn take(&mut self, len: usize) -> Result<&'a [u8], SpillError> {
        let left = self.remaining();
        if len > left {
            return Err(self.error(
                self.at,
                SpillErrorKind::Truncated {
                    wanted: len as u64,
                    left: left as u64,
                },
            ));
        }
        let bytes = &self.bytes[self.at..self.at + len];
        self.at += len;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], SpillError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn u8(&mut self) -> Result<u8, SpillError> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, SpillError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn str(&mut self) -> Result<Text, SpillError> {
        let len = self.u64()?;
        let start = self.at;
        // A length past the end of the data is a truncated file, whatever
        // the platform's pointer width.
        let bytes = self.take(usize::try_from(len).unwrap_or(usize::MAX))?;
        std::str::from_utf8(bytes)
            .map(Text::from)
            .map_err(|_| self.error(start, SpillErrorKind::BadUtf8))
    }

    fn opt_str(&mut self) -> Result<Option<Text>, SpillError> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            value => Err(self.error(
                self.at - 1,
                SpillErrorKind::BadByte {
                    what: "option tag",
                    value,
                },
            )),
        }
    }

    fn date(&mut self) -> Result<Date, SpillError> {
        let start = self.at;
        let days = i32::from_le_bytes(self.array()?);
        NaiveDate::from_num_days_from_ce_opt(days)
            .ok_or_else(|| self.error(start, SpillErrorKind::BadDate(days)))
    }

    fn claim_type(&mut self) -> Result<ClaimType, SpillError> {
        let value = self.u8()?;
        ClaimType::ALL
            .into_iter()
            .find(|&t| claim_type_byte(t) == value)
            .ok_or_else(|| {
                self.error(
                    self.at - 1,
                    SpillErrorKind::BadByte {
                        what: "claim type",
                        value,
                    },
                )
            })
    }

    fn record_type(&mut self) -> Result<RecordType, SpillError> {
        match self.u8()? {
            0 => Ok(RecordType::Original),
            1 => Ok(RecordType::Replacement),
            2 => Ok(RecordType::Void),
            value => Err(self.error(
                self.at - 1,
                SpillErrorKind::BadByte {
                    what: "record type",
                    value,
                },
            )),
        }
    }

    /// Decodes tagged records to the end, lines and keys each in the order
    /// they were appended.
    fn records(
        &mut self,
        lines: &mut Vec<ClaimLine>,
        keys: &mut Vec<VersionKey>,
    ) -> Result<(), SpillError> {
        while !self.is_empty() {
            match self.u8()? {
                TAG_LINE => lines.push(self.next_line()?),
                TAG_KEY => keys.push(self.next_key()?),
                value => {
                    return Err(self.error(
                        self.at - 1,
                        SpillErrorKind::BadByte {
                            what: "record tag",
                            value,
                        },
                    ));
                }
            }
        }
        Ok(())
    }
}

/// One partition's spill file and the bytes not yet appended to it.
#[derive(Debug)]
struct Partition {
    /// The file, created on the first write.
    path: PathBuf,
    /// Encoded records waiting to be appended.
    pending: Vec<u8>,
    /// Bytes already appended to the file.
    flushed: u64,
}

impl Partition {
    /// Appends the pending bytes to the file. The file is opened for each
    /// flush rather than kept open, so any number of partitions fits in the
    /// process's file descriptor limit.
    fn flush(&mut self) -> Result<(), SpillError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| SpillError::io(&self.path, e))?;
        file.write_all(&self.pending)
            .map_err(|e| SpillError::io(&self.path, e))?;
        self.flushed += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }
}

/// A run's spill folder: one append-only file per partition, in a hidden
/// temporary folder that is removed when the `Spill` is dropped and, through
/// [`crate::runtime::cleanup`], when the run is interrupted.
#[derive(Debug)]
pub struct Spill {
    /// Declared before `dir` so nothing refers to the files once the folder
    /// is removed.
    partitions: Vec<Partition>,
    /// Total bytes appended, buffered or not.
    bytes: u64,
    /// The folder; dropping it removes everything.
    dir: TempDir,
}

impl Spill {
    /// Creates an empty spill folder in `parent` for `partitions`
    /// partitions. `parent` should be on the disk that has room (the output
    /// folder's parent, say), not necessarily the system's temp folder.
    pub fn new(parent: &Path, partitions: usize) -> io::Result<Spill> {
        let dir = TempDir::new_in(parent, crate::runtime::cleanup::SPILL_PREFIX)?;
        let partitions = (0..partitions)
            .map(|i| Partition {
                path: dir.path().join(format!("partition-{i:05}.bin")),
                pending: Vec::new(),
                flushed: 0,
            })
            .collect();
        Ok(Spill {
            partitions,
            bytes: 0,
            dir,
        })
    }

    /// The spill folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// How many partitions the folder holds.
    pub fn partitions(&self) -> usize {
        self.partitions.len()
    }

    /// Appends `lines`, then `keys`, to `partition`'s file and returns the
    /// bytes this added. Writes are buffered per partition; [`Spill::finish`]
    /// flushes them.
    pub fn append(
        &mut self,
        partition: usize,
        lines: &[ClaimLine],
        keys: &[VersionKey],
    ) -> io::Result<u64> {
        let count = self.partitions.len();
        let part = self
            .partitions
            .get_mut(partition)
            .ok_or_else(|| out_of_range(partition, count))?;
        let before = part.pending.len();
        for line in lines {
            part.pending.push(TAG_LINE);
            encode_line(line, &mut part.pending);
        }
        for key in keys {
            part.pending.push(TAG_KEY);
            encode_key(key, &mut part.pending);
        }
        let added = (part.pending.len() - before) as u64;
        self.bytes += added;
        if part.pending.len() >= WRITE_BUFFER {
            part.flush()?;
        }
        Ok(added)
    }

    /// Flushes every partition's buffered bytes to its file; call it once
    /// all appends are done, before reading.
    pub fn finish(&mut self) -> io::Result<()> {
        for part in &mut self.partitions {
            part.flush()?;
        }
        Ok(())
    }

    /// Reads `partition` back: its lines and its keys, each in the order
    /// they were appended. A partition never appended to is empty. Bytes
    /// still buffered (no [`Spill::finish`] since the last append) are
    /// included, so the result is always complete.
    pub fn read(&self, partition: usize) -> io::Result<(Vec<ClaimLine>, Vec<VersionKey>)> {
        let part = self
            .partitions
            .get(partition)
            .ok_or_else(|| out_of_range(partition, self.partitions.len()))?;
        let mut lines = Vec::new();
        let mut keys = Vec::new();
        if part.flushed > 0 {
            let bytes = read_file(&part.path, part.flushed)?;
            let mut decoder = Decoder::for_file(&bytes, &part.path);
            decoder.records(&mut lines, &mut keys)?;
        }
        let mut decoder = Decoder {
            bytes: &part.pending,
            at: 0,
            path: &part.path,
            base: part.flushed,
        };
        decoder.records(&mut lines, &mut keys)?;
        Ok((lines, keys))
    }

    /// Bytes appended to the spill files so far, including those still
    /// buffered: the disk the spill takes once finished.
    pub fn bytes_on_disk(&self) -> u64 {
        self.bytes
    }
}

/// A partition index past the end: a caller's mistake, reported rather than
/// panicking in the middle of a run.
fn out_of_range(partition: usize, count: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("spill partition {partition} out of range (0..{count})"),
    )
}

/// Reads the whole file, which should hold `expected` bytes (the capacity
/// hint only; a shorter file shows as a truncated record).
fn read_file(path: &Path, expected: u64) -> Result<Vec<u8>, SpillError> {
    let mut file = File::open(path).map_err(|e| SpillError::io(path, e))?;
    let mut bytes = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .map_err(|e| SpillError::io(path, e))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> Date {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn line(n: u64) -> ClaimLine {
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

    fn key(n: u64) -> VersionKey {
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
    fn varied_lines() -> Vec<ClaimLine> {
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

    fn varied_keys() -> Vec<VersionKey> {
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

    #[test]
    fn lines_round_trip_in_every_shape() {
        let lines = varied_lines();
        let mut bytes = Vec::new();
        for l in &lines {
            encode_line(l, &mut bytes);
        }
        let mut decoder = Decoder::new(&bytes);
        for l in &lines {
            assert_eq!(&decoder.next_line().unwrap(), l);
        }
        assert!(decoder.is_empty());
    }

    #[test]
    fn keys_round_trip_in_every_shape() {
        let keys = varied_keys();
        let mut bytes = Vec::new();
        for k in &keys {
            encode_key(k, &mut bytes);
        }
        let mut decoder = Decoder::new(&bytes);
        for k in &keys {
            assert_eq!(&decoder.next_key().unwrap(), k);
        }
        assert_eq!(decoder.remaining(), 0);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let lines = varied_lines();
        let mut bytes = Vec::new();
        encode_line(&lines[0], &mut bytes);
        encode_line(&lines[1], &mut bytes);
        let first = {
            let mut one = Vec::new();
            encode_line(&lines[0], &mut one);
            one.len()
        };
        for cut in 0..bytes.len() {
            let mut decoder = Decoder::new(&bytes[..cut]);
            let result = decoder.next_line().and_then(|_| decoder.next_line());
            let error = result.unwrap_err();
            assert!(
                matches!(error.kind, SpillErrorKind::Truncated { .. }),
                "{cut}: {error}"
            );
            if cut >= first {
                assert!(error.offset >= first as u64, "{cut}: {error}");
            }
        }
    }

    #[test]
    fn damaged_bytes_are_errors() {
        let mut bytes = Vec::new();
        encode_key(&key(1), &mut bytes);
        let last = bytes.len() - 1;
        bytes[last] = 9;
        let error = Decoder::new(&bytes).next_key().unwrap_err();
        assert!(matches!(
            error.kind,
            SpillErrorKind::BadByte {
                what: "record type",
                value: 9
            }
        ));
        assert_eq!(error.offset, last as u64);

        let mut bytes = Vec::new();
        encode_key(&key(1), &mut bytes);
        bytes[8] = 0xff; // first byte of "B1", after its 8-byte length
        let error = Decoder::new(&bytes).next_key().unwrap_err();
        assert!(matches!(error.kind, SpillErrorKind::BadUtf8), "{error}");

        let mut bytes = Vec::new();
        put_str(&mut bytes, "B");
        put_str(&mut bytes, "C");
        bytes.extend_from_slice(&i32::MAX.to_le_bytes());
        bytes.push(0);
        let error = Decoder::new(&bytes).next_key().unwrap_err();
        assert!(matches!(error.kind, SpillErrorKind::BadDate(_)), "{error}");

        // A huge length is checked against what is left, not allocated.
        let bytes = u64::MAX.to_le_bytes();
        let error = Decoder::new(&bytes).next_key().unwrap_err();
        assert!(matches!(error.kind, SpillErrorKind::Truncated { .. }));

        let mut bytes = Vec::new();
        encode_line(&line(1), &mut bytes);
        let claim_type_at = 4 + 8 + 8 + (8 + 2) + (8 + 2) + 8;
        bytes[claim_type_at] = 7;
        let error = Decoder::new(&bytes).next_line().unwrap_err();
        assert!(
            matches!(
                error.kind,
                SpillErrorKind::BadByte {
                    what: "claim type",
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn partitions_keep_their_rows_in_append_order() {
        let parent = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(parent.path(), 4).unwrap();
        let lines = varied_lines();
        let keys = varied_keys();
        let mut expected: Vec<(Vec<ClaimLine>, Vec<VersionKey>)> = vec![Default::default(); 4];
        let mut total = 0;
        // Interleaved small appends, some with only lines or only keys,
        // and partition 2 never appended to.
        for round in 0..40 {
            for partition in [0, 3, 1] {
                let n = (round * 7 + partition) % lines.len();
                let l = &lines[n..(n + round % 3).min(lines.len())];
                let k = &keys[..round % keys.len()];
                total += spill.append(partition, l, k).unwrap();
                expected[partition].0.extend_from_slice(l);
                expected[partition].1.extend_from_slice(k);
            }
        }
        assert_eq!(spill.bytes_on_disk(), total);
        spill.finish().unwrap();
        let on_disk: u64 = std::fs::read_dir(spill.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert_eq!(on_disk, total);
        for (partition, expected) in expected.iter().enumerate() {
            assert_eq!(&spill.read(partition).unwrap(), expected, "{partition}");
        }
        assert_eq!(spill.read(2).unwrap(), (vec![], vec![]));
        // Appending after finish and reading without one still works.
        spill.append(2, &lines[..1], &[]).unwrap();
        assert_eq!(spill.read(2).unwrap().0, lines[..1].to_vec());
    }

    #[test]
    fn small_appends_are_buffered_and_large_ones_flushed() {
        let parent = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(parent.path(), 2).unwrap();
        let file = spill.path().join("partition-00000.bin");
        spill.append(0, &[line(1)], &[key(1)]).unwrap();
        assert!(!file.exists());
        let many: Vec<ClaimLine> = (0..2000).map(line).collect();
        spill.append(0, &many, &[]).unwrap();
        assert!(file.exists());
        let (lines, keys) = spill.read(0).unwrap();
        assert_eq!(lines.len(), 2001);
        assert_eq!(lines[0], line(1));
        assert_eq!(lines[1..], many[..]);
        assert_eq!(keys, vec![key(1)]);
    }

    #[test]
    fn the_folder_is_removed_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(parent.path(), 3).unwrap();
        let folder = spill.path().to_path_buf();
        assert!(folder.starts_with(parent.path()));
        spill.append(1, &[line(1)], &[key(1)]).unwrap();
        spill.finish().unwrap();
        assert!(folder.is_dir());
        drop(spill);
        assert!(!folder.exists());
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_truncated_file_is_an_error_naming_it() {
        let parent = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(parent.path(), 1).unwrap();
        spill.append(0, &[line(1), line(2)], &[key(3)]).unwrap();
        spill.finish().unwrap();
        let file = spill.path().join("partition-00000.bin");
        let len = std::fs::metadata(&file).unwrap().len();
        let handle = OpenOptions::new().write(true).open(&file).unwrap();
        handle.set_len(len - 3).unwrap();
        drop(handle);
        let error = spill.read(0).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        let message = error.to_string();
        assert!(message.contains("partition-00000.bin"), "{message}");
        assert!(message.contains("truncated"), "{message}");

        std::fs::write(&file, [42]).unwrap();
        let message = spill.read(0).unwrap_err().to_string();
        assert!(message.contains("record tag"), "{message}");

        std::fs::remove_file(&file).unwrap();
        let error = spill.read(0).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(error.to_string().contains("partition-00000.bin"));
    }

    #[test]
    fn partition_out_of_range_is_an_error() {
        let parent = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(parent.path(), 2).unwrap();
        assert_eq!(spill.partitions(), 2);
        let error = spill.append(2, &[line(1)], &[]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(spill.read(5).is_err());
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce())
            .prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).unwrap())
    }

    fn any_text() -> impl Strategy<Value = Text> {
        any::<String>().prop_map(Text::from)
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
        #[test]
        fn any_line_round_trips(lines in prop::collection::vec(any_line(), 0..8)) {
            let mut bytes = Vec::new();
            for l in &lines {
                encode_line(l, &mut bytes);
            }
            let mut decoder = Decoder::new(&bytes);
            for l in &lines {
                prop_assert_eq!(&decoder.next_line().unwrap(), l);
            }
            prop_assert!(decoder.is_empty());
        }
    }
}
