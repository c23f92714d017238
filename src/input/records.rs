//! Lenient CSV records with the exact line each starts on and its raw text.
//!
//! The contract needs three things a general CSV reader does not give: the
//! 1-based line on which a record *starts* (blank lines and quoted line
//! breaks included in the count), the record's raw text for `rejects.csv`,
//! and the lenient quote rules of the common readers (`"abc"x` is `abcx`,
//! `ab"c` keeps its quote). This module is that reader, and nothing more:
//! it knows no column names and no claim rules.
//!
//! It streams: one record is held at a time, in buffers that are reused.
//!
//! Its field splitting is the one tokenizer of every delimited format
//! ([`split_fields`] with a [`Dialect`]): comma CSV with quotes, CCLF's
//! plain pipes, and RIF's pipes with `\|` escapes. Formats whose rows are
//! single lines (RIF, pipe CCLF) cut their chunks into lines ([`Lines`])
//! and split each with it; fixed-width CCLF has no delimiters to split.

use std::io::{self, BufRead, Read};
use std::sync::{Arc, Mutex, PoisonError};

/// Whether a CSV field holding `text` must be quoted: it holds `,`, `"`,
/// CR or LF.
pub fn needs_quotes(text: &[u8]) -> bool {
    text.iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
}

/// Appends one CSV field to `row` as every output writes it, quoted only
/// when [`needs_quotes`] (its quotes doubled), with `prefix` (empty, or
/// one that never needs quoting) before its text. Here, beside the reader
/// of the same syntax, so that the outputs and the rows made from tables
/// without text of their own (Arrow, Parquet: [`Record::push_made`]) share
/// it, and a rejected row reads as this program would write it.
pub fn push_field(row: &mut Vec<u8>, prefix: &[u8], text: &[u8]) {
    if needs_quotes(text) {
        row.push(b'"');
        row.extend_from_slice(prefix);
        for chunk in text.split_inclusive(|&b| b == b'"') {
            row.extend_from_slice(chunk);
            if chunk.ends_with(b"\"") {
                row.push(b'"');
            }
        }
        row.push(b'"');
    } else {
        row.extend_from_slice(prefix);
        row.extend_from_slice(text);
    }
}

/// One record: its fields, its first line and its raw bytes.
#[derive(Debug, Default)]
pub struct Record {
    raw: Vec<u8>,
    /// Unquoted field text, used only when the record has quotes.
    unquoted: Vec<u8>,
    /// Each field's bytes: a range of `raw` when the record has no quotes
    /// (the common case, with no copy), else of `unquoted`.
    spans: Vec<(usize, usize)>,
    quoted: bool,
    /// True only when the record has no byte that [`trim`] strips (the
    /// split found no byte below `!`), so that no field needs trimming.
    /// False until a split proves it, so a record filled any other way is
    /// trimmed.
    blank_free: bool,
    line: u64,
    offset: u64,
    complete: bool,
}

impl Record {
    /// The 1-based line of the file on which this record starts.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Byte offset of the record's start in the file (after the BOM, for
    /// the first), so a later pass can seek back to its raw text.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The record as written in the file, without its line end.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// False when the file ended inside a quoted field: the record cannot be
    /// parsed, and its fields are not to be trusted.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// How many fields the record has.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True for a record with no fields (never produced by the reader).
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Field `index`, unquoted and trimmed of surrounding whitespace, or
    /// `None` past the last field.
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.untrimmed(index).map(trim)
    }

    /// Field `index` unquoted but not trimmed, or `None` past the last
    /// field: what a file this program wrote holds there (a rejected
    /// record in `rejects.csv` keeps its own blanks).
    pub fn untrimmed(&self, index: usize) -> Option<&[u8]> {
        let &(start, end) = self.spans.get(index)?;
        let text = if self.quoted {
            &self.unquoted
        } else {
            &self.raw
        };
        text.get(start..end)
    }

    /// The fields as text, or `None` when the record is not UTF-8. The
    /// record is validated once here rather than field by field.
    pub fn text(&self) -> Option<TextFields<'_>> {
        let raw = std::str::from_utf8(&self.raw).ok()?;
        let source = if self.quoted {
            std::str::from_utf8(&self.unquoted).ok()?
        } else {
            raw
        };
        Some(TextFields {
            source,
            spans: &self.spans,
            blank_free: self.blank_free,
        })
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Empties the record to be made field by field ([`Record::push_made`])
    /// rather than read: a row of a table that has no text of its own (an
    /// Arrow batch, a Parquet file), at `line` and `offset` as its reader
    /// numbers them. The record is complete, and its raw text is its
    /// fields joined as a CSV line, quoted as every CSV output quotes
    /// ([`push_field`]): the canonical
    /// checks then read it as they read a CSV row, and a reject shows it
    /// as a CSV user would write it.
    #[cfg(feature = "parquet")]
    pub(crate) fn start_made(&mut self, line: u64, offset: u64) {
        self.raw.clear();
        self.unquoted.clear();
        self.spans.clear();
        // The fields are ranges of `unquoted`, as for a record with quotes.
        self.quoted = true;
        self.blank_free = false;
        self.complete = true;
        self.line = line;
        self.offset = offset;
    }

    /// Adds one field, as it is (untrimmed: [`Record::get`] trims it as it
    /// trims a field read), to a record begun with [`Record::start_made`].
    #[cfg(feature = "parquet")]
    pub(crate) fn push_made(&mut self, field: &[u8]) {
        if !self.spans.is_empty() {
            self.raw.push(b',');
        }
        push_field(&mut self.raw, b"", field);
        let start = self.unquoted.len();
        self.unquoted.extend_from_slice(field);
        self.spans.push((start, self.unquoted.len()));
    }

    /// Splits `raw` into fields under the lenient quote rules; `quoted`
    /// says whether `raw` holds any quote at all (the reader knows).
    fn split_fields(&mut self) {
        let (raw, spans, unquoted) = (&self.raw, &mut self.spans, &mut self.unquoted);
        self.blank_free = !split_fields(Dialect::Csv, raw, self.quoted, spans, unquoted);
    }
}

/// How a format delimits its fields: the one tokenizer's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Comma-separated with the lenient quote rules: a quote opens a quoted
    /// field only at the field's first byte, `""` inside one is a quote,
    /// text after the closing quote belongs to the field, and a quote
    /// inside an unquoted field is kept (the canonical CSV, DE-SynPUF,
    /// comma CCLF).
    Csv,
    /// Pipe-delimited, nothing quoted or escaped (CCLF).
    Pipe,
    /// Pipe-delimited, `\|` a pipe inside a field (RIF/CCW extracts).
    EscapedPipe,
}

impl Dialect {
    /// The byte between fields.
    pub fn delimiter(self) -> u8 {
        match self {
            Dialect::Csv => b',',
            Dialect::Pipe | Dialect::EscapedPipe => b'|',
        }
    }

    /// Whether `raw` holds a quote or escape this dialect must undo, so
    /// its fields cannot be plain ranges of it.
    pub fn needs_unescaping(self, raw: &[u8]) -> bool {
        match self {
            Dialect::Csv => memchr::memchr(b'"', raw).is_some(),
            Dialect::Pipe => false,
            Dialect::EscapedPipe => {
                memchr::memchr_iter(b'\\', raw).any(|i| raw.get(i + 1) == Some(&b'|'))
            }
        }
    }
}

/// Splits one record's raw bytes (without its line end) into fields under
/// `dialect`, as `(start, end)` spans: of `raw` itself when `special` is
/// false (the common case, with no copy), else of `unquoted`, which gets
/// the fields' text with quotes and escapes undone. `special` must be
/// [`Dialect::needs_unescaping`] of `raw` (a reader that scanned `raw`
/// already knows it). Spans are untrimmed; the result says whether any
/// field may have whitespace to [`trim`] (false only when none has).
pub fn split_fields(
    dialect: Dialect,
    raw: &[u8],
    special: bool,
    spans: &mut Vec<(usize, usize)>,
    unquoted: &mut Vec<u8>,
) -> bool {
    spans.clear();
    let delimiter = dialect.delimiter();
    if !special {
        let mut start = 0;
        let blanks = each_position(raw, delimiter, |i| {
            spans.push((start, i));
            start = i + 1;
        });
        spans.push((start, raw.len()));
        return blanks;
    }
    unquoted.clear();
    let mut in_quotes = false;
    let mut at_field_start = true;
    let mut start = 0;
    let mut bytes = raw.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        if in_quotes {
            if byte == b'"' {
                if bytes.peek() == Some(&b'"') {
                    bytes.next();
                    unquoted.push(b'"');
                } else {
                    // Text after the closing quote belongs to the field.
                    in_quotes = false;
                }
            } else {
                unquoted.push(byte);
            }
            continue;
        }
        match byte {
            _ if byte == delimiter => {
                spans.push((start, unquoted.len()));
                start = unquoted.len();
                at_field_start = true;
                continue;
            }
            b'"' if dialect == Dialect::Csv && at_field_start => in_quotes = true,
            b'\\' if dialect == Dialect::EscapedPipe && bytes.peek() == Some(&b'|') => {
                bytes.next();
                unquoted.push(b'|');
            }
            // A quote inside an unquoted field is kept.
            _ => unquoted.push(byte),
        }
        at_field_start = false;
    }
    spans.push((start, unquoted.len()));
    true
}

/// Calls `found` with each position of `byte` in `bytes`, in order, and
/// says whether `bytes` hold a byte below `!` (which takes in every byte
/// [`trim`] strips): a record without one has no field to trim, and the
/// fields of most records are then read with no look at their ends
/// (trimming was half of the claims' row checks, perf).
///
/// A record's fields are short (a few to a few dozen bytes), where a call
/// of `memchr` per field costs more in setting up than in searching: this
/// tests eight bytes at a time in a `u64` instead, with the exact
/// zero-byte test (no false positives, so no byte is checked twice): half
/// the instructions of `memchr_iter` on enrollment rows (callgrind).
fn each_position(bytes: &[u8], byte: u8, mut found: impl FnMut(usize)) -> bool {
    const LOW_SEVEN: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let pattern = u64::from_ne_bytes([byte; 8]);
    let (words, remainder) = bytes.as_chunks::<8>();
    let mut base = 0;
    let mut low = 0;
    for word in words {
        let word = u64::from_le_bytes(*word);
        // Non-zero when some byte is below 0x21 (exact as a whole, though
        // not byte by byte: the classic "has less than" test).
        low |= word.wrapping_sub(ONES * 0x21) & !word & HIGH;
        // Zero exactly where the byte matches; then the high bit is set in
        // every zero byte and only there.
        let x = word ^ pattern;
        let mut zeros = !(((x & LOW_SEVEN) + LOW_SEVEN) | x | LOW_SEVEN);
        while zeros != 0 {
            found(base + zeros.trailing_zeros() as usize / 8);
            zeros &= zeros - 1;
        }
        base += 8;
    }
    let mut low = low != 0;
    for (i, &b) in remainder.iter().enumerate() {
        if b == byte {
            found(base + i);
        }
        low |= b < b'!';
    }
    low
}

/// The fields of a record known to be UTF-8.
#[derive(Clone, Copy, Debug)]
pub struct TextFields<'r> {
    source: &'r str,
    spans: &'r [(usize, usize)],
    /// Whether no field needs trimming ([`Record`]'s `blank_free`).
    blank_free: bool,
}

impl<'r> TextFields<'r> {
    /// Field `index`, unquoted and trimmed, or `None` past the last field.
    // Inlined: called for every field of every row, where the call cost as
    // much as the work (callgrind).
    #[inline(always)]
    pub fn get(&self, index: usize) -> Option<&'r str> {
        let &(start, end) = self.spans.get(index)?;
        if self.blank_free {
            return self.source.get(start..end);
        }
        let (start, end) = trimmed_range(self.source.as_bytes(), start, end);
        // Field bounds fall on commas, quotes and ASCII whitespace, so they
        // are character boundaries; `get` keeps that a checked fact.
        self.source.get(start..end)
    }
}

/// The whitespace the contract strips from every field.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c')
}

/// `start..end` of `bytes` without surrounding whitespace (clamped to
/// `bytes`).
#[inline]
fn trimmed_range(bytes: &[u8], start: usize, end: usize) -> (usize, usize) {
    let (mut start, mut end) = (start.min(bytes.len()), end.min(bytes.len()));
    while start < end && is_space(bytes[start]) {
        start += 1;
    }
    while end > start && is_space(bytes[end - 1]) {
        end -= 1;
    }
    (start, end)
}

/// Trims the whitespace the contract strips from every field. Every
/// format trims with this one function (not `trim_ascii`, which keeps a
/// vertical tab), so a field converted from one format to another reads
/// back the same.
pub fn trim(field: &[u8]) -> &[u8] {
    let (start, end) = trimmed_range(field, 0, field.len());
    &field[start..end]
}

/// [`trim`] for text: the whitespace is ASCII, so the cut falls on
/// character boundaries.
pub fn trim_str(field: &str) -> &str {
    let (start, end) = trimmed_range(field.as_bytes(), 0, field.len());
    &field[start..end]
}

/// Reads [`Record`]s from a byte stream: skips a leading UTF-8 BOM and empty
/// lines, accepts `\n` and `\r\n`, and lets quoted fields span lines.
pub struct RecordReader<R> {
    input: R,
    next_line: u64,
    at_start: bool,
    bytes_read: u64,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

impl<R: BufRead> RecordReader<R> {
    /// A reader at the start of a file.
    pub fn new(input: R) -> Self {
        RecordReader {
            input,
            next_line: 1,
            at_start: true,
            bytes_read: 0,
        }
    }

    /// A reader positioned on the record that starts at byte `offset` on
    /// line `line`, as reported by [`Record::offset`] and [`Record::line`].
    pub fn resume(input: R, offset: u64, line: u64) -> Self {
        RecordReader {
            input,
            next_line: line,
            at_start: offset == 0,
            bytes_read: offset,
        }
    }

    /// Bytes consumed so far, for progress reports.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The line the next record would start on, at the earliest.
    pub fn next_line(&self) -> u64 {
        self.next_line
    }

    /// Reads the next non-empty record into `record`; `Ok(false)` at the end
    /// of the input.
    pub fn read(&mut self, record: &mut Record) -> io::Result<bool> {
        record.raw.clear();
        // Whether the record holds a quote, and its quote state up to the
        // bytes scanned: each line is looked at once, as it is added. (Both
        // were found again over the whole record for each line added, so a
        // stray quote, after which the rest of the file is one record,
        // took time growing with the square of the lines after it: 174 s
        // for 80k claim lines.)
        let mut quoted = false;
        let mut quotes = QuoteState::default();
        let mut scanned = 0;
        loop {
            let line_start = record.raw.len();
            let mut read = read_line(&mut self.input, &mut record.raw)?;
            self.bytes_read += read as u64;
            if self.at_start {
                self.at_start = false;
                if record.raw.starts_with(BOM) {
                    // The record starts after the BOM, so its offset (the
                    // line's start less the BOM) points at its raw text.
                    record.raw.drain(..BOM.len());
                    read -= BOM.len();
                }
            }
            if read == 0 {
                if record.raw.is_empty() {
                    return Ok(false);
                }
                // End of input inside a quoted field.
                record.complete = false;
                strip_line_end(&mut record.raw);
                record.quoted = true;
                record.split_fields();
                return Ok(true);
            }
            if line_start == 0 {
                record.line = self.next_line;
                record.offset = self.bytes_read - read as u64;
            }
            self.next_line += 1;
            if line_start == 0 && is_line_end_only(&record.raw) {
                record.raw.clear();
                continue;
            }
            quoted = quoted || memchr::memchr(b'"', &record.raw[line_start..]).is_some();
            if quoted {
                quotes.scan(&record.raw[scanned..]);
                scanned = record.raw.len();
            }
            if !quoted || !quotes.in_quotes {
                strip_line_end(&mut record.raw);
                record.complete = true;
                record.quoted = quoted;
                record.split_fields();
                return Ok(true);
            }
        }
    }
}

/// Appends the next line of `input` to `out`, its `\n` included, as
/// [`BufRead::read_until`] does; the bytes read, 0 at the end.
///
/// `read_until` finds the line end with the standard library's portable
/// `memchr`, the `memchr` crate's vector search is faster: this was 3% of
/// a one-thread run's instructions (callgrind, 200k lines).
fn read_line(input: &mut impl BufRead, out: &mut Vec<u8>) -> io::Result<usize> {
    let mut read = 0;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        let (used, done) = match memchr::memchr(b'\n', available) {
            Some(end) => (end + 1, true),
            None => (available.len(), available.is_empty()),
        };
        out.extend_from_slice(&available[..used]);
        input.consume(used);
        read += used;
        if done {
            return Ok(read);
        }
    }
}

fn is_line_end_only(raw: &[u8]) -> bool {
    raw == b"\n" || raw == b"\r\n" || raw.is_empty()
}

/// Removes a trailing `\n` or `\r\n`.
pub fn strip_line_end(raw: &mut Vec<u8>) {
    if raw.last() == Some(&b'\n') {
        raw.pop();
        if raw.last() == Some(&b'\r') {
            raw.pop();
        }
    }
}

/// The physical line starting at each of `offsets`, without its line end:
/// the raw text of rejected rows of formats without quoting (a row is one
/// line), found again by seeking.
pub fn lines_at(
    input: &mut (impl BufRead + io::Seek),
    offsets: impl Iterator<Item = u64>,
) -> io::Result<Vec<Box<[u8]>>> {
    let mut out = Vec::new();
    let mut raw = Vec::new();
    for offset in offsets {
        input.seek(io::SeekFrom::Start(offset))?;
        raw.clear();
        input.read_until(b'\n', &mut raw)?;
        strip_line_end(&mut raw);
        out.push(raw.as_slice().into());
    }
    Ok(out)
}

/// The lines of a run of whole lines (a [`Chunk`] of a format without
/// quoting), without their line ends or a BOM at the start of the file,
/// each with its 1-based line number and byte offset in the file. Empty
/// lines are skipped, and with [`Lines::skipping_blank`] lines of blanks
/// too.
pub(crate) struct Lines<'a> {
    bytes: &'a [u8],
    line: u64,
    offset: u64,
    skip_blank: bool,
}

impl<'a> Lines<'a> {
    /// The non-empty lines of `chunk` (RIF).
    pub(crate) fn of(chunk: &'a Chunk) -> Self {
        Lines {
            bytes: &chunk.bytes,
            line: chunk.first_line,
            offset: chunk.offset,
            skip_blank: false,
        }
    }

    /// The lines of `chunk` that hold more than blanks (CCLF).
    pub(crate) fn skipping_blank(chunk: &'a Chunk) -> Self {
        Lines {
            skip_blank: true,
            ..Lines::of(chunk)
        }
    }

    /// The line number and byte offset of the next line.
    pub(crate) fn next_position(&self) -> (u64, u64) {
        (self.line, self.offset)
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (u64, u64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.bytes.is_empty() {
            let length = memchr::memchr(b'\n', self.bytes).map_or(self.bytes.len(), |i| i + 1);
            let (whole, rest) = self.bytes.split_at(length);
            let (line, offset) = (self.line, self.offset);
            self.bytes = rest;
            self.line += 1;
            self.offset += length as u64;
            let mut text = match whole.strip_suffix(b"\n") {
                Some(text) => text.strip_suffix(b"\r").unwrap_or(text),
                None => whole,
            };
            let mut offset = offset;
            if offset == 0
                && let Some(after) = text.strip_prefix(BOM)
            {
                // The line starts after the BOM, where its raw text does.
                (text, offset) = (after, BOM.len() as u64);
            }
            let skip = if self.skip_blank {
                text.trim_ascii().is_empty()
            } else {
                text.is_empty()
            };
            if !skip {
                return Some((line, offset, text));
            }
        }
        None
    }
}

/// Where a scan of a record's bytes under the lenient quote rules stands
/// (the quote states of [`Record::split_fields`]): inside a quoted field or
/// not, so the record continues on the next line or ends with this one,
/// and at a field's first byte or not. A record's lines are scanned one
/// after the other with the state carried over: every line but the last
/// ends with its `\n`, so the look past a quote for a second one never
/// needs the next line.
#[derive(Clone, Copy, Debug)]
struct QuoteState {
    in_quotes: bool,
    at_field_start: bool,
}

impl Default for QuoteState {
    /// At the start of a record.
    fn default() -> Self {
        QuoteState {
            in_quotes: false,
            at_field_start: true,
        }
    }
}

impl QuoteState {
    /// Moves the state over `bytes`, which follow those scanned before.
    fn scan(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            let byte = bytes[i];
            if self.in_quotes {
                if byte == b'"' {
                    if bytes.get(i + 1) == Some(&b'"') {
                        i += 1;
                    } else {
                        self.in_quotes = false;
                    }
                }
            } else if byte == b',' {
                self.at_field_start = true;
                i += 1;
                continue;
            } else if byte == b'"' && self.at_field_start {
                self.in_quotes = true;
            }
            self.at_field_start = false;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        let mut out = Vec::new();
        push_field(&mut out, b"", b"plain");
        out.push(b'|');
        push_field(&mut out, b"", b"P6,1,\"12,50\"");
        out.push(b'|');
        push_field(&mut out, b"'", b"a\nb");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain|\"P6,1,\"\"12,50\"\"\"|\"'a\nb\""
        );
    }

    fn read_all(input: &str) -> Vec<(u64, String, Vec<String>, bool)> {
        let mut reader = RecordReader::new(input.as_bytes());
        let mut record = Record::default();
        let mut out = Vec::new();
        while reader.read(&mut record).unwrap() {
            let fields = record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            out.push((
                record.line(),
                String::from_utf8_lossy(record.raw()).into_owned(),
                fields,
                record.is_complete(),
            ));
        }
        out
    }

    #[test]
    fn counts_lines_across_blank_lines_and_quoted_breaks() {
        let rows = read_all("\u{feff}a,b\r\n1,2\n\n\r\n\"x\ny\",3\n4, 5 \n");
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 2, 5, 7]);
        assert_eq!(rows[0].2, ["a", "b"]);
        assert_eq!(rows[2].1, "\"x\ny\",3");
        assert_eq!(rows[2].2, ["x\ny", "3"]);
        assert_eq!(rows[3].2, ["4", "5"]);
    }

    proptest::proptest! {
        /// The word-at-a-time scan finds exactly the bytes a plain loop
        /// finds, at every length and alignment, and no byte that differs
        /// from the one sought only in its high bit (`0xac` for `,`) or,
        /// after it, in its low bit (`-` for `,`: the borrow the classic
        /// zero-byte test lets through).
        #[test]
        fn each_position_finds_what_a_loop_finds(
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![b',', b'-', b'|', b'}', 0xac, 0xfc, 0x00, 0x01, 0xfe, 0xff]),
                0..40,
            ),
            skip in 0usize..8,
            byte in proptest::sample::select(vec![b',', b'|', 0x00, 0xff]),
        ) {
            let bytes = &bytes[skip.min(bytes.len())..];
            let mut found = Vec::new();
            let low = each_position(bytes, byte, |i| found.push(i));
            let expected: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == byte).collect();
            proptest::prop_assert_eq!(found, expected);
            proptest::prop_assert_eq!(low, bytes.iter().any(|&b| b < b'!'));
        }

        /// A record's fields read alike whether or not the split saw
        /// blanks: the shortcut that skips trimming never keeps a blank.
        /// The bytes around `!` and the high bit are the ones a
        /// word-at-a-time "less than" test could get wrong.
        #[test]
        fn fields_without_blanks_need_no_trimming(
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![b',', b' ', b'\t', 0x0b, b'\r', b'!', b'"', 0x20, 0x21, 0xa0, 0xa1, b'a']),
                0..40,
            ),
        ) {
            let raw: Vec<u8> = bytes.into_iter().filter(|&b| b != b'"').collect();
            let (mut spans, mut unquoted) = (Vec::new(), Vec::new());
            let blanks = split_fields(Dialect::Csv, &raw, false, &mut spans, &mut unquoted);
            for &(start, end) in &spans {
                let field = &raw[start..end];
                if !blanks {
                    proptest::prop_assert_eq!(trim(field), field);
                }
            }
            proptest::prop_assert_eq!(blanks, raw.iter().any(|&b| b < b'!'));
        }
    }

    proptest::proptest! {
        /// Lines cut across the reader's buffer, of any length, with or
        /// without a last line end, read as `read_until` reads them.
        #[test]
        fn read_line_reads_what_read_until_reads(
            text in "[a\n\r,]{0,80}",
            capacity in 1usize..16,
        ) {
            let mut ours = io::BufReader::with_capacity(capacity, text.as_bytes());
            let mut std = io::BufReader::with_capacity(capacity, text.as_bytes());
            loop {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                let read = read_line(&mut ours, &mut a).unwrap();
                proptest::prop_assert_eq!(read, std.read_until(b'\n', &mut b).unwrap());
                proptest::prop_assert_eq!(&a, &b);
                if read == 0 {
                    break;
                }
            }
        }
    }

    /// A record's quote state found over all its bytes at once: what the
    /// reader did for every line it added, before it kept its state.
    fn quote_open_whole(raw: &[u8]) -> bool {
        let mut state = QuoteState::default();
        state.scan(raw);
        state.in_quotes
    }

    /// The records of `input` as the reader cut them when it scanned the
    /// whole record again for each line: raw text and completeness.
    fn records_scanning_whole(input: &[u8]) -> Vec<(Vec<u8>, bool)> {
        let mut records = Vec::new();
        let mut raw: Vec<u8> = Vec::new();
        for line in input.split_inclusive(|&b| b == b'\n') {
            if raw.is_empty() && is_line_end_only(line) {
                continue;
            }
            raw.extend_from_slice(line);
            if !quote_open_whole(&raw) {
                strip_line_end(&mut raw);
                records.push((std::mem::take(&mut raw), true));
            }
        }
        if !raw.is_empty() {
            strip_line_end(&mut raw);
            records.push((raw, false));
        }
        records
    }

    proptest::proptest! {
        /// The quote state carried from line to line is the state of the
        /// lines scanned as one (regression: the reader scanned the whole
        /// record again for each line, so a stray quote took time growing
        /// with the square of the lines after it).
        #[test]
        fn quote_state_line_by_line_is_the_whole_records(
            bytes in proptest::collection::vec(
                proptest::sample::select(vec![b'"', b',', b'a', b'\n', b'\r']),
                0..60,
            ),
        ) {
            let mut by_line = QuoteState::default();
            for line in bytes.split_inclusive(|&b| b == b'\n') {
                by_line.scan(line);
            }
            let mut whole = QuoteState::default();
            whole.scan(&bytes);
            proptest::prop_assert_eq!(
                (by_line.in_quotes, by_line.at_field_start),
                (whole.in_quotes, whole.at_field_start)
            );
            let mut reader = RecordReader::new(&bytes[..]);
            let mut record = Record::default();
            let mut read = Vec::new();
            while reader.read(&mut record).unwrap() {
                read.push((record.raw().to_vec(), record.is_complete()));
            }
            proptest::prop_assert_eq!(read, records_scanning_whole(&bytes));
        }
    }

    #[test]
    fn reads_quotes_leniently() {
        let rows = read_all("\"abc\"x,ab\"c,\"a\"\"b\",\"1,2\"\n");
        assert_eq!(rows[0].2, ["abcx", "ab\"c", "a\"b", "1,2"]);
    }

    #[test]
    fn keeps_raw_text_without_line_end() {
        let rows = read_all("h\r\nP6,\"12,50\" \r\nlast");
        assert_eq!(rows[1].1, "P6,\"12,50\" ");
        assert_eq!(rows[1].2, ["P6", "12,50"]);
        assert_eq!(rows[2].1, "last");
        assert!(rows[2].3);
    }

    #[test]
    fn an_unterminated_quote_is_an_incomplete_record() {
        let rows = read_all("h\n1,\"open\n2,3\n");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].0, 2);
        assert!(!rows[1].3);
        assert_eq!(rows[1].1, "1,\"open\n2,3");
    }

    #[test]
    fn text_fields_match_byte_fields() {
        for input in ["a, b ,\"c, d\" ,é\n", " x ,y,,é \n"] {
            let mut reader = RecordReader::new(input.as_bytes());
            let mut record = Record::default();
            assert!(reader.read(&mut record).unwrap());
            let text = record.text().expect("UTF-8");
            for i in 0..record.len() {
                assert_eq!(
                    text.get(i).map(str::as_bytes),
                    record.get(i),
                    "{input:?} field {i}"
                );
            }
            assert_eq!(text.get(record.len()), None);
        }
        let mut reader = RecordReader::new(&b"a,\xff\n"[..]);
        let mut record = Record::default();
        assert!(reader.read(&mut record).unwrap());
        assert!(record.text().is_none());
    }

    #[test]
    fn chunks_hold_whole_records_with_their_lines_and_offsets() {
        let text = "h,x\r\n1,\"a\nb\"\n\n2,\"c,\"\"d\"\"\"\n3,ab\"c\n4,e\n\"open";
        for target in 1..text.len() + 2 {
            let mut chunks = ChunkReader::new(text.as_bytes(), target);
            let mut whole = Vec::new();
            let mut rows = Vec::new();
            while let Some(chunk) = chunks.next_chunk().unwrap() {
                assert_eq!(chunk.offset as usize, whole.len(), "target {target}");
                whole.extend_from_slice(&chunk.bytes);
                let mut reader =
                    RecordReader::resume(&chunk.bytes[..], chunk.offset, chunk.first_line);
                let mut record = Record::default();
                while reader.read(&mut record).unwrap() {
                    rows.push((record.line(), record.offset(), record.raw().to_vec()));
                }
            }
            assert_eq!(whole, text.as_bytes());
            let mut reader = RecordReader::new(text.as_bytes());
            let mut record = Record::default();
            let mut expected = Vec::new();
            while reader.read(&mut record).unwrap() {
                expected.push((record.line(), record.offset(), record.raw().to_vec()));
            }
            assert_eq!(rows, expected, "target {target}");
        }
    }

    /// A parsed chunk's buffer is read into again, and what it held
    /// before never shows in a later chunk.
    #[test]
    fn a_dropped_chunks_buffer_is_read_into_again() {
        let text: String = (0..400)
            .map(|n| format!("{n},x{}\n", "y".repeat(n % 7)))
            .collect();
        let mut chunks = ChunkReader::new(text.as_bytes(), 64);
        let first = chunks.next_chunk().unwrap().unwrap();
        let address = first.bytes.as_ptr();
        let mut whole = first.bytes.clone();
        drop(first);
        // The second chunk was read before the first came back; the third
        // goes into the first's buffer.
        let second = chunks.next_chunk().unwrap().unwrap();
        let third = chunks.next_chunk().unwrap().unwrap();
        assert_eq!(third.bytes.as_ptr(), address);
        whole.extend_from_slice(&second.bytes);
        whole.extend_from_slice(&third.bytes);
        drop((second, third));
        while let Some(chunk) = chunks.next_chunk().unwrap() {
            assert_eq!(chunk.offset as usize, whole.len());
            whole.extend_from_slice(&chunk.bytes);
        }
        assert_eq!(whole, text.as_bytes());
    }

    #[test]
    fn one_tokenizer_for_every_dialect() {
        let split = |dialect: Dialect, raw: &str| {
            let (mut spans, mut unquoted) = (Vec::new(), Vec::new());
            let raw = raw.as_bytes();
            let special = dialect.needs_unescaping(raw);
            split_fields(dialect, raw, special, &mut spans, &mut unquoted);
            let text = if special { &unquoted[..] } else { raw };
            spans
                .iter()
                .map(|&(a, b)| String::from_utf8_lossy(&text[a..b]).into_owned())
                .collect::<Vec<_>>()
        };
        let cases: [(Dialect, &str, &[&str]); 9] = [
            (Dialect::Csv, "a,b,", &["a", "b", ""]),
            (
                Dialect::Csv,
                r#""a,1"x,b"c,"""""#,
                &["a,1x", r#"b"c"#, r#"""#],
            ),
            (Dialect::Csv, "a|b", &["a|b"]),
            (Dialect::Pipe, r"a|b\|c", &["a", r"b\", "c"]),
            (Dialect::Pipe, r#""a|b""#, &[r#""a"#, r#"b""#]),
            (Dialect::EscapedPipe, r"a|b\|c|", &["a", "b|c", ""]),
            (Dialect::EscapedPipe, r"a\b|c", &[r"a\b", "c"]),
            (Dialect::EscapedPipe, r#""a|b""#, &[r#""a"#, r#"b""#]),
            (Dialect::EscapedPipe, "", &[""]),
        ];
        for (dialect, raw, fields) in cases {
            assert_eq!(split(dialect, raw), fields, "{dialect:?} {raw:?}");
        }
    }

    #[test]
    fn trailing_empty_field_is_a_field() {
        let rows = read_all("a,b,\n");
        assert_eq!(rows[0].2, ["a", "b", ""]);
    }
}

/// A run of whole records of one file: the unit of parallel parsing.
#[derive(Debug, Default)]
pub struct Chunk {
    /// The records' bytes, cut after a line end outside quotes (or at the
    /// end of the file).
    pub bytes: Vec<u8>,
    /// Byte offset of the chunk in the file.
    pub offset: u64,
    /// The 1-based line the chunk starts on.
    pub first_line: u64,
    /// Where its buffer goes once it is parsed and dropped: back to the
    /// reader that cut it.
    recycle: Option<ChunkBuffers>,
}

impl Chunk {
    /// A chunk of `bytes`, which start at byte `offset` and on line
    /// `first_line` of their file.
    pub fn new(bytes: Vec<u8>, offset: u64, first_line: u64) -> Chunk {
        Chunk {
            bytes,
            offset,
            first_line,
            recycle: None,
        }
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        if let Some(buffers) = self.recycle.take() {
            buffers.give(std::mem::take(&mut self.bytes));
        }
    }
}

/// The buffers of parsed chunks, handed back for the next chunks to be
/// read into. A chunk read into fresh memory cost the kernel a page fault
/// per 4 KiB and `read_to_end` a zeroing pass first: 4% of a one-thread
/// run, all of it on the thread that reads (perf: `exc_page_fault` under
/// `memset` in `next_chunk`). A recycled buffer is mapped and initialized
/// already.
#[derive(Clone, Debug, Default)]
struct ChunkBuffers(Arc<Mutex<Vec<Vec<u8>>>>);

impl ChunkBuffers {
    /// Buffers kept at most. Only chunks in flight come back (two batches
    /// and the one being read, see `driver::run_batches`), fewer than
    /// this; the bound is for a caller that holds many chunks at once.
    const KEPT: usize = 64;

    fn take(&self) -> Option<Vec<u8>> {
        // A buffer list is sound whatever a panicking holder left.
        self.0.lock().unwrap_or_else(PoisonError::into_inner).pop()
    }

    fn give(&self, mut buffer: Vec<u8>) {
        // All of it initialized, so reads into it need no zeroing: only
        // the bytes past the chunk's end are written here.
        buffer.resize(buffer.capacity(), 0);
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < Self::KEPT {
            kept.push(buffer);
        }
    }
}

/// Cuts a byte stream into [`Chunk`]s of about `target` bytes that each
/// hold whole records, so that chunks can be parsed independently and in
/// parallel with exact line numbers and offsets. A quoted line break never
/// ends a chunk.
pub struct ChunkReader<R> {
    input: R,
    /// Bytes read and not yet cut into a chunk: `buffer[..filled]`. The
    /// rest is room, initialized (zeroed once, or a recycled chunk's), so
    /// reads go straight into it.
    buffer: Vec<u8>,
    filled: usize,
    buffers: ChunkBuffers,
    offset: u64,
    line: u64,
    target: usize,
    eof: bool,
    quoting: bool,
}

impl<R: Read> ChunkReader<R> {
    /// A reader of chunks for a format without quoting (every line is a
    /// record), so any line end is a record boundary.
    pub fn unquoted(input: R, target: usize) -> Self {
        ChunkReader {
            quoting: false,
            ..ChunkReader::new(input, target)
        }
    }

    /// A reader of chunks of about `target` bytes from the start of a file.
    pub fn new(input: R, target: usize) -> Self {
        ChunkReader {
            input,
            buffer: Vec::new(),
            filled: 0,
            buffers: ChunkBuffers::default(),
            offset: 0,
            line: 1,
            target: target.max(1),
            eof: false,
            quoting: true,
        }
    }

    /// Reads until `want` bytes are held or the input ends.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        if self.buffer.len() < want {
            // Room for the whole chunk up front: growing as it reads
            // would copy the chunk several times over.
            self.buffer.resize(want, 0);
        }
        while self.filled < want {
            match self.input.read(&mut self.buffer[self.filled..want]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(read) => self.filled += read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The next chunk, or `None` at the end of the input.
    pub fn next_chunk(&mut self) -> io::Result<Option<Chunk>> {
        let mut want = self.target;
        loop {
            if !self.eof && self.filled < want {
                self.fill(want)?;
            }
            let pending = &self.buffer[..self.filled];
            let boundary = if self.eof {
                Some(pending.len())
            } else if self.quoting {
                last_record_end(pending, self.offset == 0)
            } else {
                memchr::memrchr(b'\n', pending).map(|i| i + 1)
            };
            match boundary {
                // Not at the end, so `want` bytes were read: at least one.
                Some(0) | None if !self.eof => want = self.filled * 2,
                Some(0) | None => return Ok(None),
                Some(end) => {
                    // The bytes after the chunk start the next buffer.
                    let rest = self.filled - end;
                    let mut next = self.buffers.take().unwrap_or_default();
                    if next.len() < rest {
                        next.resize(rest, 0);
                    }
                    next[..rest].copy_from_slice(&self.buffer[end..self.filled]);
                    let mut bytes = std::mem::replace(&mut self.buffer, next);
                    bytes.truncate(end);
                    self.filled = rest;
                    let mut chunk = Chunk::new(bytes, self.offset, self.line);
                    chunk.recycle = Some(self.buffers.clone());
                    self.offset += chunk.bytes.len() as u64;
                    self.line += memchr::memchr_iter(b'\n', &chunk.bytes).count() as u64;
                    return Ok(Some(chunk));
                }
            }
        }
    }
}

/// The end (just past its line end) of the last complete record in `bytes`,
/// which start at a record boundary; `None` when no record is complete.
/// At the start of the file a BOM is skipped as the readers skip it, so a
/// quote right after it opens a field there too: else a line end inside
/// that field would end the first chunk, and the header would depend on
/// the chunk size (found by fuzzing).
fn last_record_end(bytes: &[u8], at_file_start: bool) -> Option<usize> {
    if memchr::memchr(b'"', bytes).is_none() {
        return memchr::memrchr(b'\n', bytes).map(|i| i + 1);
    }
    // Quotes present: follow the quote states of `Record::split_fields`.
    let mut last = None;
    let mut in_quotes = false;
    let mut at_field_start = true;
    let mut i = if at_file_start && bytes.starts_with(BOM) {
        BOM.len()
    } else {
        0
    };
    while i < bytes.len() {
        let byte = bytes[i];
        if in_quotes {
            if byte == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    in_quotes = false;
                }
            }
            at_field_start = false;
        } else {
            match byte {
                b'\n' => {
                    last = Some(i + 1);
                    at_field_start = true;
                }
                b',' => at_field_start = true,
                b'"' if at_field_start => {
                    in_quotes = true;
                    at_field_start = false;
                }
                _ => at_field_start = false,
            }
        }
        i += 1;
    }
    last
}

/// Why a header cannot be used: the caller names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderProblem {
    /// A header name is not UTF-8.
    Encoding,
    /// A wanted column is named twice.
    Duplicate(&'static str),
}

/// Finds each of `names` in a header record (names trimmed, matched
/// exactly): the position of each, `None` where absent. Columns not in
/// `names` are ignored, as the contract asks.
pub fn find_columns(
    header: &Record,
    names: &[&'static str],
) -> Result<Vec<Option<usize>>, HeaderProblem> {
    let mut index = vec![None; names.len()];
    for (position, name) in header.iter().enumerate() {
        let name = std::str::from_utf8(name).map_err(|_| HeaderProblem::Encoding)?;
        if let Some(wanted) = names.iter().position(|n| *n == name) {
            if index[wanted].is_some() {
                return Err(HeaderProblem::Duplicate(names[wanted]));
            }
            index[wanted] = Some(position);
        }
    }
    Ok(index)
}
