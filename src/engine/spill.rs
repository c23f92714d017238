//! Partitions on disk: the spill files that hold partitions which do not
//! fit in `--memory-limit` (their claim rows in the encoding of
//! [`crate::engine::encoding`], their enrollment in its own), and the
//! encoding of the ledger lines held until they are written.
//!
//! The ledger's encoding is exact and private to one run, never a file
//! format to keep: fixed-width little-endian integers, strings as a length
//! and UTF-8 bytes, dates as `i32` days from the common era, money as
//! `i128` cents, enums as one byte and options as a tag byte (0 absent, 1
//! present) before the value.
//!
//! A spill file is encoded records compressed with zstd, in blocks: each
//! block is a `u64` little-endian length, then one zstd frame (with its
//! content size and a checksum) holding whole records. Claim lines take
//! about 10 bytes each on disk at level 1 (4,070,398 generated lines: 122.6
//! MB encoded, 40.1 MB spilled).
//! Blocks are independent, so a partition's buffer is compressed and
//! appended whenever it fills, partitions are spilled in parallel, and a
//! file is read back one block at a time: only one block's bytes are ever
//! in memory besides the records decoded from them.
//!
//! Everything read back is checked (block lengths against what was
//! written, zstd's frame checksum, then the records' lengths against what
//! is left, tags, UTF-8, dates), so a damaged or truncated file is an error
//! naming the file and offset, never a panic. The offset of a damaged
//! record counts the partition's decompressed bytes (the file's own bytes
//! are compressed, so no record has an offset in them); the error of a
//! damaged block names its byte in the file as well.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use chrono::{Datelike, NaiveDate};

use crate::engine::encoding::{EncodedRows, RowDecoder};
use crate::engine::episodes::{Disposition, LedgerLine};
use crate::engine::partitions::BeneficiaryRows;
use crate::model::Text;
use crate::model::money::Money;
use crate::model::{ClaimType, Date};
use crate::runtime::cleanup::TempDir;

/// Encoded bytes a partition collects in memory before they are compressed
/// into a block and appended to its file: large enough that writes are few
/// and zstd finds the repeats between records (measured on 23 MB of
/// generated claims at level 1: 16 KiB blocks compress to 12.5% of the
/// encoding, 64 KiB ones to 11.3%, 256 KiB ones to 10.8%, not worth four
/// times the memory), small enough that hundreds of partitions stay well
/// under any memory limit.
const WRITE_BUFFER: usize = 64 * 1024;

/// Bytes of a block's header: the length of the zstd frame that follows.
const BLOCK_HEADER: u64 = 8;

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
    /// The file ends inside a compressed block: it was truncated.
    #[error(
        "truncated: the compressed block at file byte {at} needs {wanted} more bytes, {left} left"
    )]
    BlockTruncated {
        /// Byte of the file where the block (its header) starts.
        at: u64,
        /// Bytes the block's header or frame needs.
        wanted: u64,
        /// Bytes that were left.
        left: u64,
    },
    /// A block of a caller's own encoding (see [`Spill::each_block`]) does
    /// not decode.
    #[error("{0}")]
    BadRecord(String),
    /// A compressed block does not decompress to what was written: zstd
    /// found it damaged (its checksum differs, say), or its length or size
    /// is more than was written.
    #[error("damaged compressed block at file byte {at}: {problem}")]
    BadBlock {
        /// Byte of the file where the block (its header) starts.
        at: u64,
        /// What is wrong with it.
        problem: String,
    },
}

/// An error reading or writing spilled partitions, with the file it concerns
/// (empty for data decoded from memory) and the byte offset of the problem,
/// so a report points at the exact place.
#[derive(Debug, thiserror::Error)]
pub struct SpillError {
    /// The spill file, or empty when decoding bytes not read from a file.
    pub path: PathBuf,
    /// Byte offset where the problem was found in the partition's encoded
    /// records, that is after decompression: the file's bytes are
    /// compressed, so a record has no offset of its own in them. A damaged
    /// block names its file byte in [`SpillErrorKind`].
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
            kind if self.path.as_os_str().is_empty() => {
                write!(f, " at byte {}: {kind}", self.offset)
            }
            kind => write!(
                f,
                " at byte {} of its decompressed data: {kind}",
                self.offset
            ),
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

/// Appends the encoding of an episode's ledger line to `out` (the ledger
/// is held encoded until it is written: [`crate::engine::ledger`]).
pub fn encode_ledger_line(line: &LedgerLine, out: &mut Vec<u8>) {
    put_str(out, &line.claim_id);
    put_u64(out, line.line_number);
    put_u8(out, claim_type_byte(line.claim_type));
    out.extend_from_slice(&line.allowed.cents().to_le_bytes());
    out.extend_from_slice(&line.included.cents().to_le_bytes());
    put_u8(out, disposition_byte(line.disposition));
    put_opt_str(out, line.provider_id.as_deref());
    put_date(out, line.service_date);
}

fn disposition_byte(disposition: Disposition) -> u8 {
    // `ALL` holds every disposition, and fewer than 256.
    Disposition::ALL
        .iter()
        .position(|d| *d == disposition)
        .unwrap_or_default() as u8
}

/// Reads back what [`encode_ledger_line`] wrote, checking every
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

    /// The next encoded ledger line.
    pub fn next_ledger_line(&mut self) -> Result<LedgerLine, SpillError> {
        Ok(LedgerLine {
            claim_id: self.str()?,
            line_number: self.u64()?,
            claim_type: self.claim_type()?,
            allowed: Money::from_cents(i128::from_le_bytes(self.array()?)),
            included: Money::from_cents(i128::from_le_bytes(self.array()?)),
            disposition: self.disposition()?,
            provider_id: self.opt_str()?,
            service_date: self.date()?,
        })
    }

    fn disposition(&mut self) -> Result<Disposition, SpillError> {
        let value = self.u8()?;
        Disposition::ALL
            .get(usize::from(value))
            .copied()
            .ok_or_else(|| {
                self.error(
                    self.at - 1,
                    SpillErrorKind::BadByte {
                        what: "disposition",
                        value,
                    },
                )
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
}

/// One partition's spill file and the bytes not yet appended to it.
#[derive(Debug)]
struct Partition {
    /// The file, created on the first write.
    path: PathBuf,
    /// Encoded records waiting to be compressed and appended.
    pending: Vec<u8>,
    /// Bytes of the file: block headers and compressed frames.
    flushed: u64,
    /// Bytes the file's blocks decompress to, so where `pending` starts in
    /// the partition's encoded records.
    encoded: u64,
    /// Lines and keys appended, so reading back reserves exactly.
    lines: usize,
    /// See `lines`.
    keys: usize,
}

impl Partition {
    /// Appends `segments` in order, compressing a block whenever the
    /// pending bytes reach [`WRITE_BUFFER`] (so they never hold much more
    /// than a segment beyond it).
    fn append(
        &mut self,
        segments: &[EncodedRows],
        compressor: &mut Compressor,
    ) -> Result<(), SpillError> {
        for segment in segments {
            self.pending.extend_from_slice(segment.bytes());
            self.lines += segment.lines();
            self.keys += segment.keys();
            self.flush_full(compressor)?;
        }
        Ok(())
    }

    /// [`Partition::flush`] once the pending bytes fill the buffer.
    fn flush_full(&mut self, compressor: &mut Compressor) -> Result<(), SpillError> {
        if self.pending.len() >= WRITE_BUFFER {
            self.flush(compressor)?;
        }
        Ok(())
    }

    /// Compresses the pending bytes into one block and appends it to the
    /// file. The file is opened for each block rather than kept open, so
    /// any number of partitions fits in the process's file descriptor
    /// limit.
    fn flush(&mut self, compressor: &mut Compressor) -> Result<(), SpillError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let written = self.write_block(&pending, compressor);
        self.pending = pending;
        self.pending.clear();
        written
    }

    /// Compresses `data`, whole records, into one block appended to the
    /// file.
    fn write_block(&mut self, data: &[u8], compressor: &mut Compressor) -> Result<(), SpillError> {
        let frame = compressor
            .compress(data)
            .map_err(|e| SpillError::io(&self.path, e))?;
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| SpillError::io(&self.path, e))?;
        let length = frame.len() as u64;
        file.write_all(&length.to_le_bytes())
            .and_then(|()| file.write_all(frame))
            .map_err(|e| SpillError::io(&self.path, e))?;
        self.flushed += BLOCK_HEADER + length;
        self.encoded += data.len() as u64;
        Ok(())
    }

    /// The partition's records, decompressed: the file's blocks, then the
    /// pending bytes.
    fn read(&self) -> Result<SpilledRows, SpillError> {
        let mut rows = SpilledRows {
            path: self.path.clone(),
            blocks: Vec::new(),
            lines: self.lines,
            keys: self.keys,
        };
        if self.flushed > 0 {
            // Each block kept as it was decompressed, not copied.
            self.blocks(|block, base| {
                rows.blocks.push((std::mem::take(block), base));
                Ok(())
            })?;
        }
        if !self.pending.is_empty() {
            rows.blocks.push((self.pending.clone(), self.encoded));
        }
        Ok(rows)
    }

    /// Decompresses the file block by block, handing each block's records
    /// to `decode` before the next is read, and checks that the blocks are
    /// exactly those written.
    fn each_block(
        &self,
        mut decode: impl FnMut(Decoder<'_>) -> Result<(), SpillError>,
    ) -> Result<(), SpillError> {
        let path = &self.path;
        self.blocks(|block, base| {
            decode(Decoder {
                bytes: block,
                at: 0,
                path,
                base,
            })
        })
    }

    /// [`Partition::each_block`], handing `take` each block's buffer and
    /// the offset of its first byte in the decompressed data: `take` may
    /// keep the buffer (the next block is decompressed into a new one).
    fn blocks(
        &self,
        mut take: impl FnMut(&mut Vec<u8>, u64) -> Result<(), SpillError>,
    ) -> Result<(), SpillError> {
        let path = &self.path;
        let io_error = |e| SpillError::io(path, e);
        let mut file = BufReader::with_capacity(WRITE_BUFFER, File::open(path).map_err(io_error)?);
        let mut decompressor = zstd::bulk::Decompressor::new().map_err(io_error)?;
        let mut frame = Vec::new();
        let mut block = Vec::new();
        // The block's byte in the file, and its first in the records.
        let mut at = 0;
        let mut decoded = 0;
        let error = |decoded, kind| SpillError {
            path: path.clone(),
            offset: decoded,
            kind,
        };
        // Reads up to `wanted` bytes into `buffer`, whatever the file holds,
        // so a damaged length allocates no more than the file has.
        let mut read = |buffer: &mut Vec<u8>, wanted: u64| {
            buffer.clear();
            (&mut file)
                .take(wanted)
                .read_to_end(buffer)
                .map_err(io_error)
        };
        let truncated = |decoded, at, wanted: u64, left: usize| {
            let left = left as u64;
            error(decoded, SpillErrorKind::BlockTruncated { at, wanted, left })
        };
        let damaged =
            |decoded, at, problem| error(decoded, SpillErrorKind::BadBlock { at, problem });
        while at < self.flushed {
            let got = read(&mut frame, BLOCK_HEADER)?;
            let header: [u8; 8] = frame
                .as_slice()
                .try_into()
                .map_err(|_| truncated(decoded, at, BLOCK_HEADER, got))?;
            let length = u64::from_le_bytes(header);
            let written = self.flushed - at - BLOCK_HEADER;
            if length > written {
                let problem = format!("a frame of {length} bytes, more than the {written} written");
                return Err(damaged(decoded, at, problem));
            }
            let got = read(&mut frame, length)?;
            if (got as u64) < length {
                return Err(truncated(decoded, at, BLOCK_HEADER + length, got + 8));
            }
            let left = self.encoded - decoded;
            let size = match zstd::zstd_safe::get_frame_content_size(&frame) {
                Ok(Some(size)) if size <= left => size,
                Ok(Some(size)) => {
                    let problem = format!("holds {size} bytes, more than the {left} written");
                    return Err(damaged(decoded, at, problem));
                }
                _ => return Err(damaged(decoded, at, "no zstd frame header".into())),
            };
            block.clear();
            // At most `left`, which this run wrote and held in memory.
            block.reserve(usize::try_from(size).unwrap_or(usize::MAX));
            decompressor
                .decompress_to_buffer(frame.as_slice(), &mut block)
                .map_err(|e| damaged(decoded, at, e.to_string()))?;
            let len = block.len() as u64;
            take(&mut block, decoded)?;
            decoded += len;
            at += BLOCK_HEADER + length;
        }
        if decoded != self.encoded {
            let problem = format!(
                "the blocks hold {decoded} bytes of the {} written",
                self.encoded
            );
            return Err(damaged(decoded, at, problem));
        }
        if read(&mut frame, 1)? > 0 {
            let problem = format!("the file goes on past the {} bytes written", self.flushed);
            return Err(damaged(decoded, at, problem));
        }
        Ok(())
    }
}

/// A spilled partition's records read back, block by block, as they were
/// written: held while the partition is built, since its lines borrow
/// their texts from them ([`RowDecoder`]).
#[derive(Debug)]
pub struct SpilledRows {
    /// The partition's file, for errors.
    path: PathBuf,
    /// Each block's records, with the offset of its first byte in the
    /// partition's decompressed data.
    blocks: Vec<(Vec<u8>, u64)>,
    /// Lines and keys written, to size the decoded rows.
    lines: usize,
    keys: usize,
}

impl SpilledRows {
    /// The partition's lines and keys, each in the order they were
    /// appended. A damaged record is an error naming the file and the
    /// decompressed offset of its block.
    pub fn decode(&self) -> io::Result<BeneficiaryRows<'_>> {
        Ok(self.decode_rows()?)
    }

    fn decode_rows(&self) -> Result<BeneficiaryRows<'_>, SpillError> {
        let mut rows = BeneficiaryRows {
            lines: Vec::with_capacity(self.lines),
            tainted: Vec::with_capacity(self.keys),
        };
        let mut decoder = RowDecoder::new();
        for (bytes, base) in &self.blocks {
            decoder
                .decode(bytes, &mut rows.lines, &mut rows.tainted)
                .map_err(|problem| SpillError {
                    path: self.path.clone(),
                    offset: *base,
                    kind: SpillErrorKind::BadRecord(problem),
                })?;
        }
        Ok(rows)
    }
}

/// A zstd compressor and the buffer its frames go to, both reused from
/// block to block.
struct Compressor {
    context: zstd::bulk::Compressor<'static>,
    frame: Vec<u8>,
}

impl fmt::Debug for Compressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compressor").finish_non_exhaustive()
    }
}

impl Compressor {
    /// A compressor at `level` ([`Tunables::spill_level`]) that writes
    /// each frame's content size (which reading checks before it
    /// allocates) and a checksum: the records' own checks cannot tell a
    /// changed digit of an amount, the checksum can.
    ///
    /// [`Tunables::spill_level`]: crate::runtime::tunables::Tunables::spill_level
    fn new(level: i32) -> io::Result<Compressor> {
        use zstd::zstd_safe::CParameter;
        let mut context = zstd::bulk::Compressor::new(level)?;
        context.set_parameter(CParameter::ChecksumFlag(true))?;
        context.set_parameter(CParameter::ContentSizeFlag(true))?;
        Ok(Compressor {
            context,
            frame: Vec::new(),
        })
    }

    /// `data` as one zstd frame.
    fn compress(&mut self, data: &[u8]) -> io::Result<&[u8]> {
        self.frame.clear();
        self.frame.reserve(zstd::compress_bound(data.len()));
        self.context.compress_to_buffer(data, &mut self.frame)?;
        Ok(&self.frame)
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
    /// The zstd level of the blocks.
    level: i32,
    /// The compressor of the appends ([`Spill::append_encoded`],
    /// [`Spill::append_blocks`]), made at the first.
    compressor: Option<Compressor>,
    /// The folder; dropping it removes everything.
    dir: TempDir,
}

impl Spill {
    /// Creates an empty spill folder in `parent` for `partitions`
    /// partitions, compressed at zstd `level`. `parent` should be on the
    /// disk that has room (the output folder's parent, say), not
    /// necessarily the system's temp folder.
    pub fn new(parent: &Path, partitions: usize, level: i32) -> io::Result<Spill> {
        let dir = TempDir::new_in(parent, crate::runtime::cleanup::SPILL_PREFIX)?;
        let partitions = (0..partitions)
            .map(|i| Partition {
                path: dir.path().join(format!("partition-{i:05}.zst")),
                pending: Vec::new(),
                flushed: 0,
                encoded: 0,
                lines: 0,
                keys: 0,
            })
            .collect();
        Ok(Spill {
            partitions,
            level,
            compressor: None,
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

    /// Appends every partition's rows (`parts[i]` to partition `i`,
    /// segment by segment), the partitions in parallel: compressing is most
    /// of a spill's time, and the readers wait for it.
    pub fn append_encoded(&mut self, parts: Vec<Vec<EncodedRows>>) -> io::Result<()> {
        if parts.len() > self.partitions.len() {
            return Err(out_of_range(parts.len() - 1, self.partitions.len()));
        }
        let level = self.level;
        self.partitions.par_iter_mut().zip(parts).try_for_each_init(
            || None,
            |compressor: &mut Option<Compressor>, (part, segments)| {
                if segments.is_empty() {
                    return Ok(());
                }
                let compressor = match compressor {
                    Some(compressor) => compressor,
                    None => compressor.insert(Compressor::new(level)?),
                };
                Ok(part.append(&segments, compressor)?)
            },
        )
    }

    /// Flushes every partition's buffered bytes to its file; call it once
    /// all appends are done, before reading.
    pub fn finish(&mut self) -> io::Result<()> {
        if self.partitions.iter().all(|p| p.pending.is_empty()) {
            return Ok(());
        }
        let compressor = match &mut self.compressor {
            Some(compressor) => compressor,
            None => self.compressor.insert(Compressor::new(self.level)?),
        };
        for part in &mut self.partitions {
            part.flush(compressor)?;
        }
        Ok(())
    }

    /// Reads `partition` back, to be decoded ([`SpilledRows::decode`]) into
    /// its lines and its keys. A partition never appended to is empty.
    /// Bytes still buffered (no [`Spill::finish`] since the last append)
    /// are included, so the result is always complete.
    pub fn read(&self, partition: usize) -> io::Result<SpilledRows> {
        let part = self
            .partitions
            .get(partition)
            .ok_or_else(|| out_of_range(partition, self.partitions.len()))?;
        Ok(part.read()?)
    }

    /// Appends each non-empty `parts[i]`, whole records of the caller's
    /// own encoding, to partition `i`'s file as one block, and frees it
    /// (its room too, which the limit counts): how a reader that encodes
    /// its rows as it reads them (the enrollment) spills. Read back with
    /// [`Spill::each_block`].
    pub fn append_blocks(&mut self, parts: &mut [Vec<u8>]) -> io::Result<()> {
        if parts.len() > self.partitions.len() {
            return Err(out_of_range(parts.len() - 1, self.partitions.len()));
        }
        let compressor = match &mut self.compressor {
            Some(compressor) => compressor,
            None => self.compressor.insert(Compressor::new(self.level)?),
        };
        for (part, bytes) in self.partitions.iter_mut().zip(parts) {
            if !bytes.is_empty() {
                part.write_block(bytes, compressor)?;
                *bytes = Vec::new();
            }
        }
        Ok(())
    }

    /// Hands each block [`Spill::append_blocks`] wrote to `partition` to
    /// `decode`, in the order written, one block in memory at a time. The
    /// blocks are checked as [`Spill::read`] checks them; a block `decode`
    /// refuses is an error naming the file and where the block starts in
    /// its decompressed data.
    pub fn each_block(
        &self,
        partition: usize,
        mut decode: impl FnMut(&[u8]) -> Result<(), String>,
    ) -> io::Result<()> {
        let part = self
            .partitions
            .get(partition)
            .ok_or_else(|| out_of_range(partition, self.partitions.len()))?;
        if part.flushed == 0 {
            return Ok(());
        }
        Ok(part.each_block(|decoder| {
            decode(decoder.bytes)
                .map_err(|problem| decoder.error(0, SpillErrorKind::BadRecord(problem)))
        })?)
    }

    /// Bytes written to the spill files so far, compressed, not counting
    /// those still buffered: the disk the spill takes once finished.
    pub fn bytes_on_disk(&self) -> u64 {
        self.partitions.iter().map(|p| p.flushed).sum()
    }

    /// Bytes of the records appended so far, before compression, including
    /// those still buffered.
    pub fn bytes_encoded(&self) -> u64 {
        self.partitions
            .iter()
            .map(|p| p.encoded + p.pending.len() as u64)
            .sum()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::encoding::tests::{encoded, key, line, varied_keys, varied_lines};
    use crate::model::outcome::VersionKey;
    use crate::model::{ClaimLine, LineRef};

    /// Appends `lines` then `keys` to `partition` alone, as one segment.
    fn append(spill: &mut Spill, partition: usize, lines: &[ClaimLine], keys: &[VersionKey]) {
        let mut parts: Vec<Vec<EncodedRows>> = (0..=partition).map(|_| Vec::new()).collect();
        parts[partition].push(encoded(lines, keys));
        spill.append_encoded(parts).unwrap();
    }

    fn read(spill: &Spill, partition: usize) -> (Vec<ClaimLine>, Vec<VersionKey>) {
        let spilled = spill.read(partition).unwrap();
        let rows = spilled.decode().unwrap();
        (
            rows.lines.iter().map(LineRef::to_line).collect(),
            rows.tainted,
        )
    }

    #[test]
    fn blocks_come_back_whole_in_order_and_a_refused_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(dir.path(), 3, 1).unwrap();
        let mut parts = vec![b"a1".to_vec(), Vec::new(), b"c1".to_vec()];
        spill.append_blocks(&mut parts).unwrap();
        assert!(parts.iter().all(Vec::is_empty));
        parts[0].extend_from_slice(b"a2");
        spill.append_blocks(&mut parts).unwrap();
        let blocks = |partition| {
            let mut seen = Vec::new();
            spill
                .each_block(partition, |block| {
                    seen.push(block.to_vec());
                    Ok(())
                })
                .unwrap();
            seen
        };
        assert_eq!(blocks(0), [b"a1".to_vec(), b"a2".to_vec()]);
        assert_eq!(blocks(1), Vec::<Vec<u8>>::new());
        assert_eq!(blocks(2), [b"c1".to_vec()]);
        let error = spill
            .each_block(0, |block| match block {
                b"a2" => Err("no a2".into()),
                _ => Ok(()),
            })
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        let message = error.to_string();
        assert!(message.contains("partition-00000.zst"), "{message}");
        assert!(
            message.contains("at byte 2 of its decompressed data: no a2"),
            "{message}"
        );
        assert!(spill.each_block(3, |_| Ok(())).is_err());
    }

    #[test]
    fn partitions_keep_their_rows_in_append_order() {
        let parent = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(parent.path(), 4, 1).unwrap();
        let lines = varied_lines();
        let keys = varied_keys();
        let mut expected: Vec<(Vec<ClaimLine>, Vec<VersionKey>)> = vec![Default::default(); 4];
        let mut total = 0;
        // Interleaved small appends, some with only lines or only keys,
        // several partitions at once, and partition 2 never appended to.
        for round in 0..40 {
            let mut parts: Vec<Vec<EncodedRows>> = (0..4).map(|_| Vec::new()).collect();
            for partition in [0, 3, 1] {
                let n = (round * 7 + partition) % lines.len();
                let l = &lines[n..(n + round % 3).min(lines.len())];
                let k = &keys[..round % keys.len()];
                let segment = encoded(l, k);
                total += segment.bytes().len() as u64;
                parts[partition].push(segment);
                expected[partition].0.extend_from_slice(l);
                expected[partition].1.extend_from_slice(k);
            }
            spill.append_encoded(parts).unwrap();
        }
        assert_eq!(spill.bytes_encoded(), total);
        // Some blocks were written (a few lines are 100 KB), some are not.
        let written = spill.bytes_on_disk();
        assert!(written > 0);
        spill.finish().unwrap();
        assert!(spill.bytes_on_disk() >= written);
        let on_disk: u64 = std::fs::read_dir(spill.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert_eq!(on_disk, spill.bytes_on_disk());
        // The long texts repeat: compressed, they take a small part.
        assert!(on_disk < total / 10, "{on_disk} of {total}");
        assert_eq!(spill.bytes_encoded(), total);
        for (partition, expected) in expected.iter().enumerate() {
            assert_eq!(&read(&spill, partition), expected, "{partition}");
        }
        assert_eq!(read(&spill, 2), (vec![], vec![]));
        // Appending after finish and reading without one still works.
        append(&mut spill, 2, &lines[..1], &[]);
        assert_eq!(read(&spill, 2).0, lines[..1].to_vec());
    }

    #[test]
    fn small_appends_are_buffered_and_large_ones_flushed() {
        let parent = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(parent.path(), 2, 1).unwrap();
        let file = spill.path().join("partition-00000.zst");
        append(&mut spill, 0, &[line(1)], &[key(1)]);
        assert!(!file.exists());
        let many: Vec<ClaimLine> = (0..4000).map(line).collect();
        append(&mut spill, 0, &many, &[]);
        assert!(file.exists());
        let (lines, keys) = read(&spill, 0);
        assert_eq!(lines.len(), 4001);
        assert_eq!(lines[0], line(1));
        assert_eq!(lines[1..], many[..]);
        assert_eq!(keys, vec![key(1)]);
    }

    #[test]
    fn the_folder_is_removed_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(parent.path(), 3, 1).unwrap();
        let folder = spill.path().to_path_buf();
        assert!(folder.starts_with(parent.path()));
        append(&mut spill, 1, &[line(1)], &[key(1)]);
        spill.finish().unwrap();
        assert!(folder.is_dir());
        drop(spill);
        assert!(!folder.exists());
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }

    /// A spill of one partition in two blocks (the first segment fills
    /// the write buffer: a line with ids of its own takes about 30 bytes),
    /// finished: the spill and its file.
    fn spilled_blocks() -> (tempfile::TempDir, Spill, PathBuf) {
        let parent = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(parent.path(), 1, 1).unwrap();
        let many: Vec<ClaimLine> = (0..3000).map(line).collect();
        append(&mut spill, 0, &many, &[]);
        append(&mut spill, 0, &many[..300], &[key(3)]);
        spill.finish().unwrap();
        let file = spill.path().join("partition-00000.zst");
        let blocks = std::fs::read(&file).unwrap();
        let first = BLOCK_HEADER + u64::from_le_bytes(blocks[..8].try_into().unwrap());
        assert!(first < spill.partitions[0].flushed);
        (parent, spill, file)
    }

    #[test]
    fn every_truncation_of_a_file_is_an_error_naming_it() {
        let (_parent, spill, file) = spilled_blocks();
        let whole = std::fs::read(&file).unwrap();
        // Every cut in the first block, around the second block's header,
        // and in the last block.
        let second = 8 + u64::from_le_bytes(whole[..8].try_into().unwrap()) as usize;
        let cuts = (0..second + 20).chain(whole.len() - 40..whole.len());
        for cut in cuts {
            std::fs::write(&file, &whole[..cut]).unwrap();
            let error = spill.read(0).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{cut}: {error}");
            let message = error.to_string();
            assert!(message.contains("partition-00000.zst"), "{message}");
            assert!(message.contains("truncated"), "{cut}: {message}");
            // The offset counts decompressed bytes: 0 in the first block,
            // the first block's whole content after it.
            let offset = error
                .into_inner()
                .and_then(|e| e.downcast::<SpillError>().ok())
                .unwrap()
                .offset;
            if cut < second {
                assert_eq!(offset, 0, "{cut}");
            } else {
                assert!(offset as usize > second, "{cut}: {offset}");
            }
        }
        std::fs::write(&file, &whole).unwrap();
        assert_eq!(read(&spill, 0).0.len(), 3300);

        std::fs::remove_file(&file).unwrap();
        let error = spill.read(0).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(error.to_string().contains("partition-00000.zst"));
    }

    /// A changed byte anywhere in the file (a header, a frame, its
    /// checksum) is an error, never a panic nor different rows: zstd's
    /// checksum sees what the records' checks cannot, a changed digit.
    /// (A few bits of a frame say nothing about its content, such as the
    /// window size of a small frame: changing them changes no row.)
    #[test]
    fn every_changed_byte_of_a_file_is_an_error_or_changes_nothing() {
        let (_parent, spill, file) = spilled_blocks();
        let rows = read(&spill, 0);
        let whole = std::fs::read(&file).unwrap();
        let mut errors = 0;
        // Every byte of the first block's header and frame header and of
        // the second block's, and every third byte elsewhere (each read
        // decodes the whole file).
        let second = 8 + u64::from_le_bytes(whole[..8].try_into().unwrap()) as usize;
        let changed: Vec<usize> = (0..whole.len())
            .filter(|&at| at < 30 || (second..second + 30).contains(&at) || at % 3 == 0)
            .collect();
        for &at in &changed {
            let mut damaged = whole.clone();
            damaged[at] ^= 0x21;
            std::fs::write(&file, &damaged).unwrap();
            let read = spill.read(0).and_then(|spilled| {
                let decoded = spilled.decode()?;
                let lines: Vec<ClaimLine> = decoded.lines.iter().map(LineRef::to_line).collect();
                Ok((lines, decoded.tainted))
            });
            match read {
                Err(error) => {
                    assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{at}: {error}");
                    assert!(error.to_string().contains("partition-00000.zst"), "{error}");
                    errors += 1;
                }
                Ok(read) => assert!(read == rows, "byte {at} changed the rows read"),
            }
        }
        assert!(
            errors > changed.len() * 99 / 100,
            "{errors} of {}",
            changed.len()
        );
        // Bytes after the last block are damage too.
        let mut longer = whole.clone();
        longer.push(0);
        std::fs::write(&file, &longer).unwrap();
        let message = spill.read(0).unwrap_err().to_string();
        assert!(message.contains("goes on past"), "{message}");
    }

    /// Records are still checked after decompression, and their offset
    /// counts the partition's decompressed bytes across blocks.
    #[test]
    fn a_damaged_record_in_a_sound_block_is_an_error_at_its_decompressed_offset() {
        let parent = tempfile::tempdir().unwrap();
        let path = parent.path().join("partition.zst");
        let first = encoded(&[], &[key(1)]).bytes().to_vec();
        let mut compressor = Compressor::new(1).unwrap();
        let mut file = Vec::new();
        for block in [&first[..], &[42]] {
            let frame = compressor.compress(block).unwrap();
            file.extend_from_slice(&(frame.len() as u64).to_le_bytes());
            file.extend_from_slice(frame);
        }
        std::fs::write(&path, &file).unwrap();
        let part = Partition {
            path: path.clone(),
            pending: Vec::new(),
            flushed: file.len() as u64,
            encoded: first.len() as u64 + 1,
            lines: 0,
            keys: 1,
        };
        let error = part.read().unwrap().decode_rows().unwrap_err();
        assert!(
            matches!(error.kind, SpillErrorKind::BadRecord(_)),
            "{error}"
        );
        assert_eq!(error.offset, first.len() as u64);
        assert_eq!(
            error.to_string(),
            format!(
                "spill file {} at byte {} of its decompressed data: byte 0: record tag 42 where a record starts",
                path.display(),
                first.len()
            )
        );
    }

    #[test]
    fn partition_out_of_range_is_an_error() {
        let parent = tempfile::tempdir().unwrap();
        let mut spill = Spill::new(parent.path(), 2, 1).unwrap();
        assert_eq!(spill.partitions(), 2);
        let parts = (0..3).map(|_| vec![encoded(&[line(1)], &[])]).collect();
        let error = spill.append_encoded(parts).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(spill.read(5).is_err());
    }
}
