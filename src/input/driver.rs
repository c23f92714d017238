//! One driver for every claims format: the file is cut into chunks of
//! whole rows, the first row found is the header, and the chunks after it
//! are checked on one thread or in parallel on the current rayon pool.
//!
//! A format says how its header resolves and how a chunk of whole rows
//! becomes outcomes ([`FormatReader`]); the driver owns the rest: where
//! the header is (after any blank lines, however many chunks they fill),
//! the chunks' line numbers and byte offsets, the batches parsed in
//! parallel, and handing the results over in file order. Reading on one
//! thread goes through the same chunks, so a file gives the same outcomes
//! whichever way it is read.

use std::io::{self, Read};
use std::path::Path;

use crate::input::claim_rows::RowChecks;
use crate::input::claims::Error;
use crate::input::records::{Chunk, ChunkReader, Record, RecordReader};
use crate::model::Date;
use crate::model::outcome::RowView;
use crate::runtime::tunables::Tunables;

/// Bytes per chunk when a file is read on one thread.
pub(crate) const SEQUENTIAL_CHUNK_BYTES: usize = 1 << 20;

/// A claims format as the driver reads it: how its rows are cut and how
/// its header resolves.
pub(crate) trait FormatReader: Sync {
    /// The resolved header, shared by every chunk of a file.
    type Header: Sync;

    /// Whether a quoted field may hold a line break, so that chunks are cut
    /// only at a line end outside quotes.
    fn quoting(&self) -> bool;

    /// The header, when `chunk` (the start of the file) holds its first
    /// row: resolved, with the bytes of `chunk` it took and the line after
    /// it. `None` when `chunk` holds no row yet (only blank lines).
    fn header(
        &self,
        chunk: &Chunk,
        path: &Path,
    ) -> Result<Option<(Self::Header, usize, u64)>, Error>;
}

/// A format whose rows are checked chunk by chunk, each chunk on its own
/// (with [`crate::input::claim_rows::RowChecks`]): no rule spans chunks, so
/// [`read`] and [`read_chunked`] serve it whole. (RIF, whose claim amount
/// is carried by the first row of a version in the file, settles between
/// chunks with [`start`] and [`run_batches`] itself.)
pub(crate) trait ParseChunk: FormatReader {
    /// How the format writes a date.
    const PARSE_DATE: fn(&[u8]) -> Option<Date> = crate::model::parse_date;

    /// Checks the rows of one chunk of whole rows, handing their outcomes
    /// to the sink in file order.
    fn parse<S: FnMut(RowView<'_>)>(
        &self,
        header: &Self::Header,
        rows: ChunkRows<'_, S>,
    ) -> io::Result<()>;
}

/// One chunk of whole rows to check: the rows, the checks of the file
/// (fresh for the chunk), and where the outcomes go.
///
/// The sink is a type parameter, not a `dyn` closure: through a dynamic
/// call each outcome (a borrowed line of some 170 bytes) was copied into
/// memory to be passed, and again into the fold (perf: 2.4% of a
/// one-thread run in `memcpy` under the sink and the fold).
pub(crate) struct ChunkRows<'c, S> {
    pub(crate) chunk: &'c Chunk,
    pub(crate) checks: RowChecks,
    pub(crate) sink: S,
}

/// A format of comma CSV records (the canonical CSV, DE-SynPUF): its
/// header is its first record, so only how that resolves is its own.
pub(crate) trait CsvFormat: Sync {
    /// The resolved header.
    type Header: Sync;

    /// Resolves the header record of the file at `path`.
    fn resolve(record: &Record, path: &Path) -> Result<Self::Header, Error>;
}

impl<F: CsvFormat> FormatReader for F {
    type Header = F::Header;

    fn quoting(&self) -> bool {
        true
    }

    fn header(&self, chunk: &Chunk, path: &Path) -> Result<Option<(F::Header, usize, u64)>, Error> {
        record_header(chunk, path, |record| F::resolve(record, path))
    }
}

/// The error of a failed read of `path`.
pub(crate) fn io_error(path: &Path, source: io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// A file being read: its header and its chunks, the first of them the
/// rows just after the header.
pub(crate) struct Started<R, H> {
    pub(crate) header: H,
    pub(crate) rest: Chunk,
    pub(crate) chunks: ChunkReader<R>,
}

/// Cuts `input` into chunks of about `chunk_bytes` and resolves the
/// header from the first rows; chunks of blank lines before it are joined
/// until it is complete.
pub(crate) fn start<F: FormatReader, R: Read>(
    format: &F,
    input: R,
    path: &Path,
    chunk_bytes: usize,
) -> Result<Started<R, F::Header>, Error> {
    let mut chunks = if format.quoting() {
        ChunkReader::new(input, chunk_bytes)
    } else {
        ChunkReader::unquoted(input, chunk_bytes)
    };
    let no_header = || Error::NoHeader {
        path: path.to_owned(),
    };
    let mut first = chunks
        .next_chunk()
        .map_err(|e| io_error(path, e))?
        .ok_or_else(no_header)?;
    loop {
        if let Some((header, consumed, next_line)) = format.header(&first, path)? {
            let rest = Chunk::new(
                first.bytes.get(consumed..).unwrap_or_default().to_vec(),
                first.offset + consumed as u64,
                next_line,
            );
            return Ok(Started {
                header,
                rest,
                chunks,
            });
        }
        let next = chunks
            .next_chunk()
            .map_err(|e| io_error(path, e))?
            .ok_or_else(no_header)?;
        first.bytes.extend_from_slice(&next.bytes);
    }
}

/// How one input of a run is read: where its rows stand in the run, the
/// cutoff their checks apply, and how it is cut.
#[derive(Clone, Copy, Debug)]
pub struct Reading {
    /// The input's index in the run, recorded in each row's
    /// [`crate::model::Source`].
    pub file: u32,
    /// The run-out cutoff: versions processed after it are not yet received.
    pub as_of: Option<Date>,
    /// How the input is cut into chunks.
    pub chunking: Chunking,
}

/// How a file is cut for parallel parsing.
#[derive(Clone, Copy, Debug)]
pub struct Chunking {
    /// Bytes per chunk (whole records; a chunk grows to hold a longer one).
    pub chunk_bytes: usize,
    /// Chunks parsed in parallel before their results are merged; the
    /// next batch is read meanwhile, so the bytes in flight are
    /// `2 × chunk_bytes × batch`.
    pub batch: usize,
}

impl Chunking {
    /// One chunk at a time, for reading on the calling thread's pace (row
    /// by row into a sink): what is in flight stays two chunks, the one
    /// parsed and the next.
    pub fn sequential() -> Chunking {
        Chunking {
            chunk_bytes: SEQUENTIAL_CHUNK_BYTES,
            batch: 1,
        }
    }
}

impl Chunking {
    /// The chunking `tunables` give `threads` worker threads.
    pub fn of(tunables: &Tunables, threads: usize) -> Chunking {
        let (batch, chunk_bytes) = tunables.chunk_batch(threads);
        Chunking { chunk_bytes, batch }
    }
}

impl Default for Chunking {
    /// [`Chunking::of`] the default tunables, for the current rayon pool.
    fn default() -> Self {
        Chunking::of(&Tunables::DEFAULT, rayon::current_num_threads())
    }
}

/// The pieces of an input in batches of `batch`: each piece made into `P`
/// by `parse` in parallel, then `settle`d in file order (the place for a
/// rule that spans pieces), then made into `T` by `finish` in parallel, and
/// handed to `merge` in file order with the piece's byte count. A piece is
/// a chunk of whole rows of a text file ([`chunks_of`]) or a row group of
/// a Parquet file: whatever can be parsed on its own. Each batch is a
/// checkpoint: a run asked to stop stops there
/// ([`crate::runtime::stop`]).
///
/// The calling thread reads the next batch and merges the previous one
/// while the batch between them is parsed: on two threads, doing both
/// between parses left the other thread idle a third of the time (perf,
/// samples per thread). So two batches' pieces are in flight, not one.
/// Errors come in file order all the same: a merge's before the parse of
/// the batch after it, a parse's before the read of the batch after it.
// Three stages and their input: fewer arguments would hide the order.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_batches<U: Piece, P: Send, T: Send, E: From<Error>>(
    mut pieces: impl Iterator<Item = Result<U, Error>>,
    batch_size: usize,
    parse: impl Fn(&U) -> Result<P, Error> + Sync,
    mut settle: impl FnMut(&mut P) -> Result<(), Error>,
    finish: impl Fn(P) -> T + Sync,
    mut merge: impl FnMut(T, u64) -> Result<(), E>,
) -> Result<(), E> {
    use rayon::prelude::*;
    let batch_size = batch_size.max(1);
    let mut read_batch = || -> Result<Vec<U>, Error> {
        let mut batch = Vec::with_capacity(batch_size);
        while batch.len() < batch_size {
            match pieces.next().transpose()? {
                Some(piece) => batch.push(piece),
                None => break,
            }
        }
        Ok(batch)
    };
    let mut batch = read_batch()?;
    // The previous batch, finished: each piece's result and size.
    let mut finished: Vec<(T, u64)> = Vec::new();
    // A read that failed: reported once the batches before it are merged.
    let mut unread: Option<Error> = None;
    loop {
        crate::runtime::stop::check().map_err(Error::from)?;
        let mut parsed: Vec<Result<P, Error>> = Vec::new();
        let mut merged: Result<(), E> = Ok(());
        let mut next: Result<Vec<U>, Error> = Ok(Vec::new());
        rayon::in_place_scope(|scope| {
            let (batch, parsed) = (&batch, &mut parsed);
            scope.spawn(|_| *parsed = batch.par_iter().map(&parse).collect());
            merged = finished
                .drain(..)
                .try_for_each(|(result, bytes)| merge(result, bytes));
            if merged.is_ok() && !batch.is_empty() {
                next = read_batch();
            }
        });
        merged?;
        if batch.is_empty() {
            return match unread {
                Some(error) => Err(error.into()),
                None => Ok(()),
            };
        }
        let mut settled = Vec::with_capacity(parsed.len());
        for result in parsed {
            let mut parsed = result?;
            settle(&mut parsed)?;
            settled.push(parsed);
        }
        finished = settled
            .into_par_iter()
            .map(&finish)
            .zip(batch.par_iter().map(Piece::bytes))
            .collect();
        batch = next.unwrap_or_else(|error| {
            unread = Some(error);
            Vec::new()
        });
    }
}

/// A part of an input that [`run_batches`] parses on its own.
pub(crate) trait Piece: Sync {
    /// Its size in the input, for progress.
    fn bytes(&self) -> u64;
}

impl Piece for Chunk {
    fn bytes(&self) -> u64 {
        self.bytes.len() as u64
    }
}

/// The chunks of a started file: `rest`, then what `chunks` cuts, each
/// read error naming `path`.
pub(crate) fn chunks_of<R: Read>(
    path: &Path,
    rest: Chunk,
    mut chunks: ChunkReader<R>,
) -> impl Iterator<Item = Result<Chunk, Error>> {
    let mut rest = Some(rest);
    std::iter::from_fn(move || match rest.take() {
        Some(first) => Some(Ok(first)),
        None => chunks
            .next_chunk()
            .map_err(|e| io_error(path, e))
            .transpose(),
    })
}

/// The header of a CSV file whose first record is at the start of `chunk`
/// (after blank lines), resolved by `resolve`.
pub(crate) fn record_header<H>(
    chunk: &Chunk,
    path: &Path,
    resolve: impl FnOnce(&Record) -> Result<H, Error>,
) -> Result<Option<(H, usize, u64)>, Error> {
    let mut reader = RecordReader::resume(&chunk.bytes[..], chunk.offset, chunk.first_line);
    let mut record = Record::default();
    if !reader.read(&mut record).map_err(|e| io_error(path, e))? {
        return Ok(None);
    }
    let consumed = (reader.bytes_read() - chunk.offset) as usize;
    Ok(Some((resolve(&record)?, consumed, reader.next_line())))
}

/// Each CSV record of `chunk` in turn, to `check`.
pub(crate) fn each_record(chunk: &Chunk, mut check: impl FnMut(&Record)) -> io::Result<()> {
    let mut reader = RecordReader::resume(&chunk.bytes[..], chunk.offset, chunk.first_line);
    let mut record = Record::default();
    while reader.read(&mut record)? {
        check(&record);
    }
    Ok(())
}

/// Reads `input` (named `path` in errors) in chunks parsed in parallel on
/// the current rayon pool. Each chunk's rows are folded into a fresh
/// `init()` accumulator, in file order within the chunk; `merge` receives
/// the accumulators in file order, with the chunk's byte count. Every row
/// reaches exactly one fold, whatever the chunking.
pub(crate) fn read_chunked<F: ParseChunk, T: Send, E: From<Error>>(
    format: &F,
    input: impl Read,
    path: &Path,
    reading: Reading,
    init: impl Fn() -> T + Sync,
    fold: impl Fn(&mut T, RowView<'_>) + Sync,
    merge: impl FnMut(T, u64) -> Result<(), E>,
) -> Result<(), E> {
    let Started {
        header,
        rest,
        chunks,
    } = start(format, input, path, reading.chunking.chunk_bytes)?;
    let parse = |chunk: &Chunk| {
        let mut acc = init();
        let rows = ChunkRows {
            chunk,
            checks: RowChecks::new(reading.file, reading.as_of, F::PARSE_DATE),
            sink: |o: RowView<'_>| fold(&mut acc, o),
        };
        format.parse(&header, rows)?;
        Ok(acc)
    };
    run_batches(
        chunks_of(path, rest, chunks),
        reading.chunking.batch,
        |chunk| parse(chunk).map_err(|e| io_error(path, e)),
        |_| Ok(()),
        |acc| acc,
        merge,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A piece of `n` bytes.
    struct Numbered(u64);

    impl Piece for Numbered {
        fn bytes(&self) -> u64 {
            self.0
        }
    }

    fn failure(what: &str) -> Error {
        io_error(Path::new(what), io::Error::other(what))
    }

    /// Runs pieces 1..=count in batches of `batch`, failing to read piece
    /// `unreadable`, to parse `unparsable` and to merge `unmergeable`:
    /// the merged pieces, and the error.
    fn run(
        count: u64,
        batch: usize,
        [unreadable, unparsable, unmergeable]: [u64; 3],
    ) -> (Vec<u64>, Option<String>) {
        let pieces = (1..=count).map(|n| match n {
            _ if n == unreadable => Err(failure("read")),
            n => Ok(Numbered(n)),
        });
        let mut merged = Vec::new();
        let result = run_batches(
            pieces,
            batch,
            |piece| match piece.0 {
                n if n == unparsable => Err(failure("parse")),
                n => Ok(n * 10),
            },
            |_| Ok(()),
            |parsed| parsed + 1,
            |finished, bytes| {
                assert_eq!(
                    finished,
                    bytes * 10 + 1,
                    "a result merged with its own piece"
                );
                match bytes {
                    n if n == unmergeable => Err(failure("merge")),
                    n => {
                        merged.push(n);
                        Ok(())
                    }
                }
            },
        );
        let error = result.err().map(|e: Error| e.to_string());
        (merged, error)
    }

    #[test]
    fn every_piece_is_merged_in_order_whatever_the_batch() {
        for batch in [1, 2, 3, 7, 20] {
            let (merged, error) = run(10, batch, [0; 3]);
            assert_eq!(merged, (1..=10).collect::<Vec<_>>(), "batch {batch}");
            assert_eq!(error, None);
        }
        assert_eq!(run(0, 2, [0; 3]), (vec![], None));
    }

    #[test]
    fn errors_come_in_file_order_though_batches_overlap() {
        let error = |run: (Vec<u64>, Option<String>)| run.1.unwrap_or_default();
        // Batches of two: piece 3 is parsed while pieces 1 and 2 merge,
        // and piece 5 read. The merge of 2 comes first.
        assert!(error(run(10, 2, [5, 3, 2])).contains("merge"));
        // Piece 3's parse comes before the read of piece 5.
        assert!(error(run(10, 2, [5, 3, 0])).contains("parse"));
        // Nothing merged after a failed merge.
        let (merged, _) = run(10, 2, [0, 0, 4]);
        assert_eq!(merged, [1, 2, 3]);
        // A read that fails stops the run after what came before it,
        // and after any error that came before it.
        let (merged, read) = run(10, 2, [6, 0, 0]);
        assert_eq!(merged, [1, 2, 3, 4]);
        assert!(read.unwrap_or_default().contains("read"));
        assert!(error(run(10, 2, [6, 0, 4])).contains("merge"));
        assert!(error(run(10, 2, [6, 3, 0])).contains("parse"));
    }
}
