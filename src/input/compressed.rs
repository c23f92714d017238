//! Compressed inputs: gzip and zstd, told by their magic bytes, decoded
//! on a thread of their own.
//!
//! Extracts of a billion claim lines travel compressed, and decompressing
//! them first to disk costs their full size in disk and a pass of its own.
//! Any input (a file, a FIFO, standard input) whose first bytes are a gzip
//! or a zstd magic number is read through a streaming decoder instead; the
//! name does not matter, so `zcat`-less pipes and misnamed files work too.
//! Every line number and byte offset the engine reports is one of the
//! decompressed text, as if the input had been decompressed first.
//!
//! - The decoder runs on its own thread and hands blocks of text through a
//!   bounded channel ([`decoded`]), so decompression overlaps the parsing
//!   of the previous blocks, and a consumer that stops early (an error,
//!   `--strict`) stops the thread at its next block.
//! - Concatenated gzip members (pigz, bgzip, `cat a.gz b.gz`) and zstd
//!   frames (`zstd -T0`, `generate --compress`) are one input.
//! - A compressed file cannot be sought in, so the rows found again after
//!   reading (the version-level rejects) are found by decompressing it
//!   again from its start and skipping to each, in one forward pass
//!   ([`Reopened`]): the rows are asked for in file order.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Decompressed bytes handed over at a time.
const BLOCK_BYTES: usize = 1 << 20;

/// Blocks decoded ahead of the reader: with the block being filled, what
/// decompression adds to a run's memory stays under 5 MiB per input.
const BLOCKS_AHEAD: usize = 4;

/// The compressions an input is read through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip (RFC 1952), one member or several concatenated.
    Gzip,
    /// Zstandard (RFC 8878), one frame or several concatenated.
    Zstd,
}

impl Compression {
    /// The compression whose magic number `start` (an input's first bytes)
    /// begins with. Text never starts with these bytes (0x1f and 0x28 0xb5
    /// are no character a claims file starts with).
    pub fn of_magic(start: &[u8]) -> Option<Compression> {
        if start.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if start.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    /// The name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The compression named `name` as on the command line (`gzip`,
    /// `zstd`).
    pub fn parse(name: &str) -> Option<Compression> {
        [Compression::Gzip, Compression::Zstd]
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// The extension a file of this compression takes after its text's
    /// (`claims.csv.zst`), which a folder given as input is read for.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Gzip => "gz",
            Compression::Zstd => "zst",
        }
    }

    /// `text` compressed into one whole gzip member or zstd frame (with its
    /// checksum, as the `zstd` tool writes): members and frames
    /// concatenated are one input, so blocks can be compressed apart, in
    /// parallel ([`crate::tools::compress`]). Both at their tools' default
    /// levels.
    pub fn encode(self, text: &[u8]) -> io::Result<Vec<u8>> {
        use std::io::Write;
        let out = Vec::with_capacity(text.len() / 4);
        match self {
            Compression::Gzip => {
                let level = flate2::Compression::default();
                let mut encoder = flate2::write::GzEncoder::new(out, level);
                encoder.write_all(text)?;
                encoder.finish()
            }
            Compression::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
                encoder.include_checksum(true)?;
                encoder.write_all(text)?;
                encoder.finish()
            }
        }
    }

    /// The streaming decoder of this compression over `raw`.
    fn decoder(self, raw: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(raw)?),
        })
    }
}

/// The `zstd` tool's default level.
const ZSTD_LEVEL: i32 = 3;

/// The longest magic number looked for.
const MAGIC_BYTES: usize = 4;

/// `raw` as text: decoded on a thread of its own when its first bytes name
/// a compression, else as it is. The first bytes are peeked (read and put
/// back in front), so a stream loses nothing; `name` is the input's, for
/// the decoder thread's name.
pub fn decoded(
    mut raw: Box<dyn Read + Send>,
    name: &Path,
) -> io::Result<(Box<dyn Read + Send>, Option<Compression>)> {
    let mut magic = Vec::with_capacity(MAGIC_BYTES);
    (&mut raw)
        .take(MAGIC_BYTES as u64)
        .read_to_end(&mut magic)?;
    let compression = Compression::of_magic(&magic);
    let raw: Box<dyn Read + Send> = Box::new(io::Cursor::new(magic).chain(raw));
    let Some(compression) = compression else {
        return Ok((raw, None));
    };
    let decoder = compression.decoder(Box::new(Marked(raw)))?;
    let (blocks, receiver) = sync_channel(BLOCKS_AHEAD);
    std::thread::Builder::new()
        .name(format!("decompress {}", name.display()))
        .spawn(move || decode(decoder, compression, &blocks))?;
    let text = Blocks {
        receiver,
        block: Vec::new(),
        read: 0,
    };
    Ok((Box::new(text), Some(compression)))
}

/// Opens the file at `path` as text, decompressed when it is compressed
/// (see [`decoded`]): for the readers that open a path of their own
/// (beneficiaries, enrollment).
pub fn open(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    Ok(decoded(Box::new(File::open(path)?), path)?.0)
}

/// The decoder thread: fills blocks and sends them until the end of the
/// stream, an error (sent as the last block), or a reader gone.
fn decode(
    mut decoder: Box<dyn Read + Send>,
    compression: Compression,
    blocks: &SyncSender<io::Result<Vec<u8>>>,
) {
    loop {
        // Read into spare capacity: no block is zeroed first.
        let mut block = Vec::with_capacity(BLOCK_BYTES);
        let read = (&mut decoder)
            .take(BLOCK_BYTES as u64)
            .read_to_end(&mut block);
        let end = match read {
            Ok(n) => n < BLOCK_BYTES,
            Err(e) => {
                // What was decoded before the error is text like the rest.
                let _ = blocks.send(Ok(block));
                let _ = blocks.send(Err(corrupt(e, compression)));
                return;
            }
        };
        // A send fails only when the reader is gone: nothing left to do.
        if (!block.is_empty() && blocks.send(Ok(block)).is_err()) || end {
            return;
        }
    }
}

/// An error of the raw input, told apart from the decoder's own errors as
/// it passes through the decoder.
#[derive(Debug)]
struct RawError(io::Error);

impl std::fmt::Display for RawError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for RawError {}

/// The raw input under a decoder, its errors marked as [`RawError`].
struct Marked(Box<dyn Read + Send>);

impl Read for Marked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), RawError(e)))
    }
}

/// A decoding error as the reader reports it: an error of the raw input
/// as it was (a device error is the environment's), any other as data that
/// is not valid compressed data (the input's to fix): cut short, or
/// corrupt.
fn corrupt(error: io::Error, compression: Compression) -> io::Error {
    if error.get_ref().is_some_and(|e| e.is::<RawError>()) {
        let kind = error.kind();
        return match error.into_inner().map(|e| e.downcast::<RawError>()) {
            Some(Ok(raw)) => raw.0,
            _ => io::Error::from(kind),
        };
    }
    let what = if error.kind() == io::ErrorKind::UnexpectedEof {
        // The decoder cannot tell a member or frame cut short from a few
        // stray bytes after the last (too few to be a header): both end
        // mid-header, so the message names both.
        "cut short, or ends in stray bytes".to_owned()
    } else {
        format!("corrupt ({error})")
    };
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the {} data is {what}", compression.name()),
    )
}

/// The decoded text, block by block, as the decoder thread sends it.
struct Blocks {
    receiver: Receiver<io::Result<Vec<u8>>>,
    block: Vec<u8>,
    /// How much of `block` has been read.
    read: usize,
}

impl Read for Blocks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.read == self.block.len() {
            match self.receiver.recv() {
                Ok(block) => {
                    self.block = block?;
                    self.read = 0;
                }
                // The thread is done: it sent an error last, if any.
                Err(_) => return Ok(0),
            }
        }
        let n = (&self.block[self.read..]).read(buf)?;
        self.read += n;
        Ok(n)
    }
}

/// A file opened again to find rows by their byte offset in its text:
/// sought in when it is plain, decompressed again from its start and
/// skipped through when it is compressed. Seeking forward in a compressed
/// file costs the decompression of what is skipped, seeking backward a
/// new pass from the start: ask for rows in file order.
pub enum Reopened {
    /// A plain file.
    Plain(BufReader<File>),
    /// A compressed file's text.
    Decoded {
        /// The file, to start again from.
        path: PathBuf,
        /// The text from `position` on.
        text: BufReader<Box<dyn Read + Send>>,
        /// The offset in the text of the next byte read.
        position: u64,
    },
}

/// Bytes buffered when reading rows again.
const REREAD_BUFFER: usize = 1 << 20;

impl Reopened {
    /// Opens the file at `path` (a regular file: a spool, or the input
    /// itself).
    pub fn open(path: &Path) -> io::Result<Reopened> {
        let mut file = File::open(path)?;
        let mut magic = Vec::with_capacity(MAGIC_BYTES);
        (&mut file)
            .take(MAGIC_BYTES as u64)
            .read_to_end(&mut magic)?;
        file.rewind()?;
        if Compression::of_magic(&magic).is_none() {
            return Ok(Reopened::Plain(BufReader::with_capacity(
                REREAD_BUFFER,
                file,
            )));
        }
        Ok(Reopened::Decoded {
            path: path.to_owned(),
            text: BufReader::with_capacity(REREAD_BUFFER, decoded(Box::new(file), path)?.0),
            position: 0,
        })
    }
}

impl Read for Reopened {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Reopened {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            Reopened::Plain(file) => file.fill_buf(),
            Reopened::Decoded { text, .. } => text.fill_buf(),
        }
    }

    fn consume(&mut self, amount: usize) {
        match self {
            Reopened::Plain(file) => file.consume(amount),
            Reopened::Decoded { text, position, .. } => {
                text.consume(amount);
                *position += amount as u64;
            }
        }
    }
}

impl Seek for Reopened {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        match self {
            Reopened::Plain(file) => file.seek(to),
            Reopened::Decoded {
                path,
                text,
                position,
            } => {
                let target = match to {
                    SeekFrom::Start(target) => Some(target),
                    SeekFrom::Current(delta) => position.checked_add_signed(delta),
                    // A compressed file's text has no known end.
                    SeekFrom::End(_) => None,
                };
                let target = target.ok_or_else(|| {
                    io::Error::new(io::ErrorKind::Unsupported, "no such place in the text")
                })?;
                if target < *position {
                    let file = File::open(&*path)?;
                    *text =
                        BufReader::with_capacity(REREAD_BUFFER, decoded(Box::new(file), path)?.0);
                    *position = 0;
                }
                while *position < target {
                    let available = text.fill_buf()?.len();
                    if available == 0 {
                        break;
                    }
                    let wanted = usize::try_from(target - *position).unwrap_or(usize::MAX);
                    let skip = available.min(wanted);
                    text.consume(skip);
                    *position += skip as u64;
                }
                Ok(*position)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(text: &[u8]) -> Vec<u8> {
        Compression::Gzip.encode(text).unwrap()
    }

    /// With the checksum the `zstd` tool writes, so that corruption shows.
    fn zstd(text: &[u8]) -> Vec<u8> {
        Compression::Zstd.encode(text).unwrap()
    }

    /// The error of reading `bytes`, which must fail.
    fn read_error(bytes: Vec<u8>) -> io::Error {
        match read_text(bytes) {
            Ok((text, _)) => panic!("read {} bytes of text without an error", text.len()),
            Err(e) => e,
        }
    }

    fn read_text(bytes: Vec<u8>) -> io::Result<(Vec<u8>, Option<Compression>)> {
        let (mut text, compression) = decoded(Box::new(io::Cursor::new(bytes)), Path::new("x"))?;
        let mut all = Vec::new();
        text.read_to_end(&mut all)?;
        Ok((all, compression))
    }

    fn lines(from: usize, to: usize) -> Vec<u8> {
        (from..to)
            .flat_map(|i| format!("row {i},{}\n", i * 7).into_bytes())
            .collect()
    }

    #[test]
    fn plain_text_and_short_inputs_pass_through_whole() {
        for text in [&b""[..], b"a", b"\x1f", b"claim_id,line\n1,2\n"] {
            assert_eq!(read_text(text.to_vec()).unwrap(), (text.to_vec(), None));
        }
    }

    #[test]
    fn concatenated_members_and_frames_are_one_text() {
        // More than a block, so the text crosses the channel in pieces.
        let (first, second) = (lines(0, 100_000), lines(100_000, 150_000));
        let whole = [first.clone(), second.clone()].concat();
        assert!(whole.len() > 2 * BLOCK_BYTES);
        let gz = [gzip(&first), gzip(&second)].concat();
        let zst = [zstd(&first), zstd(&second)].concat();
        for (compressed, compression) in [(gz, Compression::Gzip), (zst, Compression::Zstd)] {
            let (text, found) = read_text(compressed).unwrap();
            assert_eq!(found, Some(compression));
            // Not assert_eq: a failure would print megabytes.
            assert!(text == whole, "{compression:?}: {} bytes", text.len());
        }
    }

    #[test]
    fn cut_short_or_corrupt_data_is_an_error_of_the_data() {
        let text = lines(0, 10_000);
        for (compressed, name) in [(gzip(&text), "gzip"), (zstd(&text), "zstd")] {
            let cut = compressed[..compressed.len() - 20].to_vec();
            let e = read_error(cut);
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{name}: {e}");
            assert!(
                e.to_string().starts_with(&format!("the {name} data is ")),
                "{e}"
            );
            let mut corrupt = compressed.clone();
            let middle = corrupt.len() / 2;
            corrupt[middle..middle + 8].copy_from_slice(b"\xff\x00\xff\x00\xff\x00\xff\x00");
            let e = read_error(corrupt);
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{name}: {e}");
        }
    }

    #[test]
    fn an_error_of_the_raw_input_passes_through_as_it_was() {
        struct Failing(io::Cursor<Vec<u8>>);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                match self.0.read(buf)? {
                    0 => Err(io::Error::other("the disk is gone")),
                    n => Ok(n),
                }
            }
        }
        let cut = gzip(&lines(0, 1000));
        let cut = Failing(io::Cursor::new(cut[..cut.len() / 2].to_vec()));
        let (mut text, _) = decoded(Box::new(cut), Path::new("x")).unwrap();
        let e = text.read_to_end(&mut Vec::new()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::Other);
        assert_eq!(e.to_string(), "the disk is gone");
    }

    #[test]
    fn a_compressed_file_is_reread_forward_by_offset() {
        let text = lines(0, 200_000);
        // The first line, and the lines after these places.
        let after = [17, 1_500_000, 2_900_000].into_iter();
        let starts =
            after.map(|near| near + text[near..].iter().position(|&b| b == b'\n').unwrap() + 1);
        let offsets: Vec<u64> = std::iter::once(0).chain(starts).map(|s| s as u64).collect();
        let line_at = |offset: u64| {
            let rest = &text[offset as usize..];
            rest[..rest.iter().position(|&b| b == b'\n').unwrap()].to_vec()
        };
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("c.csv.gz");
        std::fs::write(&gz, gzip(&text)).unwrap();
        let plain = dir.path().join("c.csv");
        std::fs::write(&plain, &text).unwrap();
        for path in [&gz, &plain] {
            let mut reopened = Reopened::open(path).unwrap();
            // Forward, then back to an earlier row: a new pass.
            for &offset in offsets.iter().chain(&offsets[1..2]) {
                assert_eq!(reopened.seek(SeekFrom::Start(offset)).unwrap(), offset);
                let mut line = Vec::new();
                reopened.read_until(b'\n', &mut line).unwrap();
                line.pop();
                assert_eq!(line, line_at(offset), "{} at {offset}", path.display());
            }
        }
    }
}
