//! Writing a compressed file on every core: the text is cut into blocks,
//! each compressed on its own (a gzip member, a zstd frame) in parallel,
//! and the results written in order. Concatenated members and frames are
//! one valid file (`gzip -d`, `zstd -d` and the engine's readers read them
//! whole), so the file is what a one-thread encoder would write but for a
//! little ratio lost at each block's start; and since blocks are cut at
//! fixed sizes, the same text gives the same bytes on any machine.

use std::io::{self, Write};

use crate::input::compressed::Compression;

/// Text per block: large enough that starting afresh costs little ratio.
const BLOCK_BYTES: usize = 4 << 20;

/// A writer that compresses what it is given, blocks in parallel on the
/// current rayon pool, or passes it through when no compression is asked
/// for. Call [`Encoder::finish`] to write the last block.
pub struct Encoder<W: Write> {
    out: W,
    compression: Option<Compression>,
    /// The block being filled.
    block: Vec<u8>,
    /// Full blocks waiting for a batch.
    full: Vec<Vec<u8>>,
    /// Text per block ([`BLOCK_BYTES`]; less in tests).
    block_bytes: usize,
    /// Blocks compressed at once: bounds the text held to
    /// `batch × block_bytes`.
    batch: usize,
}

impl<W: Write> Encoder<W> {
    /// A writer into `out`, compressed with `compression` (`None`: as is).
    pub fn new(out: W, compression: Option<Compression>) -> Encoder<W> {
        Encoder {
            out,
            compression,
            block: Vec::new(),
            full: Vec::new(),
            block_bytes: BLOCK_BYTES,
            batch: 2 * rayon::current_num_threads(),
        }
    }

    /// Compresses and writes what is left, and hands back the output.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.block.is_empty() {
            let last = std::mem::take(&mut self.block);
            self.full.push(last);
        }
        self.write_full()?;
        Ok(self.out)
    }

    /// Compresses the full blocks in parallel and writes them in order.
    fn write_full(&mut self) -> io::Result<()> {
        use rayon::prelude::*;
        let Some(compression) = self.compression else {
            return Ok(());
        };
        let compressed: Vec<io::Result<Vec<u8>>> = self
            .full
            .par_iter()
            .map(|block| compression.encode(block))
            .collect();
        self.full.clear();
        for block in compressed {
            self.out.write_all(&block?)?;
        }
        Ok(())
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.compression.is_none() {
            return self.out.write(buf);
        }
        if self.block.capacity() == 0 {
            self.block.reserve_exact(self.block_bytes);
        }
        let n = buf.len().min(self.block_bytes - self.block.len());
        self.block.extend_from_slice(&buf[..n]);
        if self.block.len() == self.block_bytes {
            let full = std::mem::take(&mut self.block);
            self.full.push(full);
            if self.full.len() >= self.batch {
                self.write_full()?;
            }
        }
        Ok(n)
    }

    /// Flushes what is compressed; a block is compressed only once full,
    /// or at [`Encoder::finish`], so that blocks are cut where the text
    /// says and not where writes happened to flush.
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn text(lines: usize) -> Vec<u8> {
        (0..lines)
            .flat_map(|i| format!("C{i},1,B{},PB,2026-01-02\n", i % 97).into_bytes())
            .collect()
    }

    fn decompressed(bytes: Vec<u8>) -> Vec<u8> {
        let name = std::path::Path::new("x");
        let (mut text, _) =
            crate::input::compressed::decoded(Box::new(io::Cursor::new(bytes)), name).unwrap();
        let mut all = Vec::new();
        text.read_to_end(&mut all).unwrap();
        all
    }

    /// Blocks of 64 KiB, so that a small text spans batches.
    const TEST_BLOCK: usize = 64 << 10;

    #[test]
    fn blocks_compressed_apart_are_the_text_whole_whatever_the_threads() {
        // Over two batches of blocks on two threads, and a partial block.
        let text = text(40_000);
        assert!(text.len() > 5 * TEST_BLOCK, "{}", text.len());
        for compression in [Compression::Gzip, Compression::Zstd] {
            let mut written = Vec::new();
            for threads in [1, 2] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let bytes = pool.install(|| {
                    let mut encoder = Encoder::new(Vec::new(), Some(compression));
                    encoder.block_bytes = TEST_BLOCK;
                    // Writes of odd sizes: blocks are cut at fixed sizes anyway.
                    for piece in text.chunks(9_991) {
                        encoder.write_all(piece).unwrap();
                    }
                    encoder.finish().unwrap()
                });
                assert!(bytes.len() < text.len() / 3, "{compression:?} compresses");
                written.push(bytes);
            }
            assert!(written[0] == written[1], "{compression:?}: the same bytes");
            let back = decompressed(written.swap_remove(0));
            assert!(back == text, "{compression:?}: {} bytes back", back.len());
        }
        let mut plain = Encoder::new(Vec::new(), None);
        plain.write_all(b"a,b\n").unwrap();
        assert_eq!(plain.finish().unwrap(), b"a,b\n");
    }
}
