//! Rows routed by a hash of the beneficiary into partitions, so each
//! beneficiary's rows land in exactly one partition and partitions can be
//! built in parallel, or held on disk and built one at a time.

use std::hash::{Hash, Hasher};

use crate::engine::encoding::{EncodedRows, RowDecoder};
use crate::model::LineRef;
use crate::model::outcome::{Accounting, Reject, RowOutcome, RowView, VersionKey};

/// A partition's rows, decoded to be built, their texts borrowed from the
/// encoded bytes (see [`RowDecoder`]).
#[derive(Debug, Default, PartialEq)]
pub struct BeneficiaryRows<'a> {
    /// Rows that passed the row checks.
    pub lines: Vec<LineRef<'a>>,
    /// Versions that had a row rejected by a row check.
    pub tainted: Vec<VersionKey>,
}

impl<'a> BeneficiaryRows<'a> {
    /// Decodes `segments` after the rows already here, in order.
    pub fn decode(&mut self, segments: &'a [EncodedRows]) -> Result<(), String> {
        self.lines
            .reserve(segments.iter().map(EncodedRows::lines).sum());
        self.tainted
            .reserve(segments.iter().map(EncodedRows::keys).sum());
        let mut decoder = RowDecoder::new();
        for segment in segments {
            decoder.decode(segment.bytes(), &mut self.lines, &mut self.tainted)?;
        }
        Ok(())
    }
}

/// The partition of a beneficiary among `partitions`. The hash has no
/// random keys, so the routing is the same on every run and machine.
pub fn partition_of(beneficiary_id: &str, partitions: usize) -> usize {
    let mut hasher = rustc_hash::FxHasher::default();
    beneficiary_id.hash(&mut hasher);
    (hasher.finish() % partitions as u64) as usize
}

/// What one chunk of a claims file yields: its rows by partition, encoded,
/// its rejected rows and its row accounting.
#[derive(Debug)]
pub struct ChunkRows {
    /// Rows per partition: its lines, and the versions that had a row
    /// rejected by a row check.
    pub partitions: Vec<EncodedRows>,
    /// The row of the first line routed (the lowest: a chunk's rows come
    /// in order), for `--strict`.
    pub first_line_row: Option<u64>,
    /// Rows rejected by a row check.
    pub rejects: Vec<Reject>,
    /// Read, rejected and after-cutoff rows.
    pub accounting: Accounting,
    /// Rows read.
    pub rows: u64,
    last: Option<(String, usize)>,
    /// Bytes a partition is expected to receive, with room for the spread
    /// of beneficiaries over partitions: reserved at its first row, so a
    /// partition seldom grows (a copy of every row so far); the chunk's
    /// rows are copied into the partitions' blocks and freed when it is
    /// absorbed.
    expected: usize,
}

impl ChunkRows {
    /// An empty chunk result over `partitions` partitions, for about
    /// `expected_bytes` of encoded rows in all.
    pub fn new(partitions: usize, expected_bytes: usize) -> ChunkRows {
        ChunkRows {
            partitions: (0..partitions).map(|_| EncodedRows::default()).collect(),
            first_line_row: None,
            rejects: Vec::new(),
            accounting: Accounting::default(),
            rows: 0,
            last: None,
            expected: expected_bytes / partitions.max(1) * 3 / 2,
        }
    }

    /// The partition of a beneficiary, remembering the last one: a file's
    /// rows of one beneficiary usually come together.
    fn slot(&mut self, beneficiary_id: &str) -> usize {
        match &mut self.last {
            Some((last, slot))
                if crate::model::same_bytes(last.as_bytes(), beneficiary_id.as_bytes()) =>
            {
                *slot
            }
            last => {
                let slot = partition_of(beneficiary_id, self.partitions.len());
                let (id, at) = last.get_or_insert_with(|| (String::new(), slot));
                id.clear();
                id.push_str(beneficiary_id);
                *at = slot;
                slot
            }
        }
    }

    /// Accounts for one row of file `file` and routes it.
    pub fn add(&mut self, file: u32, outcome: RowView<'_>) {
        if let Some(routed) = self.account(file, outcome) {
            self.route(routed);
        }
    }

    /// Accounts for one row of file `file` (read, rejected, after the
    /// cutoff; a rejected row kept for `rejects.csv`) and gives back what
    /// is to be routed by beneficiary: its line, or the version a
    /// rejected row taints.
    pub fn account<'a>(&mut self, file: u32, outcome: RowView<'a>) -> Option<Routed<'a>> {
        self.rows += 1;
        let accounting = &mut self.accounting;
        match outcome {
            RowOutcome::Line(line) => {
                accounting.read.add(line.allowed);
                self.first_line_row.get_or_insert(line.source.row);
                Some(Routed::Line(line))
            }
            RowOutcome::Rejected(row) => {
                accounting.read.add(row.amount);
                accounting.count_reject(row.reason, row.amount);
                self.rejects.push(Reject {
                    file,
                    row: row.source.row,
                    reason: row.reason,
                    field: row.field,
                    record: row.raw,
                });
                row.version.map(Routed::Key)
            }
            RowOutcome::AfterCutoff { amount } => {
                accounting.read.add(amount);
                accounting.after_cutoff.add(amount);
                None
            }
        }
    }

    /// Routes what [`ChunkRows::account`] gave (or a caller kept of it)
    /// after the rows routed so far.
    pub fn route(&mut self, routed: Routed<'_>) {
        match routed {
            Routed::Line(line) => self.segment(line.beneficiary_id).push_line(&line),
            Routed::Key(key) => self.route_key(&key),
        }
    }

    /// Routes the version of a rejected row.
    pub fn route_key(&mut self, key: &VersionKey) {
        self.segment(&key.beneficiary_id).push_key(key);
    }

    /// The segment of the partition of `beneficiary_id`, given room for
    /// the chunk's share at its first row.
    fn segment(&mut self, beneficiary_id: &str) -> &mut EncodedRows {
        let slot = self.slot(beneficiary_id);
        let rows = &mut self.partitions[slot];
        if rows.capacity() == 0 {
            *rows = EncodedRows::with_capacity(self.expected);
        }
        rows
    }
}

/// What a row gives to be routed by beneficiary.
#[derive(Debug)]
pub enum Routed<'a> {
    /// A line that passed the row checks.
    Line(LineRef<'a>),
    /// The version of a row a check rejected.
    Key(VersionKey),
}

/// Partitions held in memory, encoded, with the memory they use.
///
/// Each partition copies its chunks' segments end to end into blocks of
/// at least [`crate::runtime::tunables::Tunables::held_block_bytes`]: a chunk gives each of hundreds
/// of partitions a few dozen lines, and a segment kept as its own
/// allocation would cost its allocator's rounding, or, shrunk in place,
/// all the room reserved for it (mimalloc keeps a block shrunk by less
/// than half whole: 35 MiB more at 4M lines and 192 partitions,
/// measured). Copying them is a memcpy of bytes just written.
#[derive(Debug)]
pub struct Partitions {
    /// Rows per partition, in blocks.
    pub parts: Vec<Vec<EncodedRows>>,
    /// Bytes held, room included.
    pub bytes: u64,
    block_bytes: usize,
}

impl Partitions {
    /// `count` empty partitions, filled in blocks of `block_bytes`.
    pub fn new(count: usize, block_bytes: usize) -> Partitions {
        Partitions {
            parts: (0..count).map(|_| Vec::new()).collect(),
            bytes: 0,
            block_bytes,
        }
    }

    /// Copies a chunk's rows into the partitions.
    pub fn absorb(&mut self, chunk: &ChunkRows) {
        for (part, rows) in self.parts.iter_mut().zip(&chunk.partitions) {
            if rows.is_empty() {
                continue;
            }
            let len = rows.bytes().len();
            let room = part.last().map_or(0, |l| l.capacity() - l.bytes().len());
            if room < len {
                let block = len.max(self.block_bytes);
                part.push(EncodedRows::with_capacity(block));
                self.bytes += block as u64;
            }
            // A block with room for the rows is last: found or pushed.
            if let Some(block) = part.last_mut() {
                block.append(rows);
            }
        }
    }

    /// Takes every partition's rows out, leaving them empty.
    pub fn drain(&mut self) -> Vec<Vec<EncodedRows>> {
        self.bytes = 0;
        self.parts.iter_mut().map(std::mem::take).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::encoding::tests::{encoded, key, line, varied_lines};
    use crate::model::ClaimLine;

    /// A chunk whose partition `p` holds `segments[p]`.
    fn chunk(segments: Vec<EncodedRows>) -> ChunkRows {
        let mut chunk = ChunkRows::new(segments.len(), 0);
        chunk.partitions = segments;
        chunk
    }

    #[test]
    fn chunks_are_packed_into_blocks_and_decode_in_order() {
        let lines = varied_lines();
        let mut partitions = Partitions::new(2, 256);
        let mut expected = BeneficiaryRows::default();
        let mut expected_lines = Vec::new();
        for n in 0..40u64 {
            // Small segments for partition 0, a large one now and then
            // (the second of `varied_lines` holds 100 KB of text).
            let small = [line(n)];
            let ours: &[ClaimLine] = if n % 10 == 9 { &lines[1..2] } else { &small };
            let keys = if n % 7 == 0 { vec![key(n)] } else { vec![] };
            partitions.absorb(&chunk(vec![encoded(ours, &keys), EncodedRows::default()]));
            expected_lines.extend_from_slice(ours);
            expected.tainted.extend(keys);
        }
        expected.lines = expected_lines.iter().map(ClaimLine::view).collect();
        assert!(partitions.parts[1].is_empty());
        let blocks = &partitions.parts[0];
        // Fewer blocks than chunks: small segments share one.
        assert!(blocks.len() < 40, "{} blocks", blocks.len());
        let capacity: usize = blocks.iter().map(EncodedRows::capacity).sum();
        assert_eq!(partitions.bytes, capacity as u64);
        for block in blocks {
            assert!(block.capacity() >= 256 && block.bytes().len() <= block.capacity());
        }
        let mut decoded = BeneficiaryRows::default();
        decoded.decode(blocks).unwrap();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn a_chunk_routes_lines_and_the_versions_of_rejects_by_beneficiary() {
        let mut chunk = ChunkRows::new(3, 1000);
        let first = line(1);
        let mut second = line(2);
        second.source.row = 1;
        chunk.add(0, RowOutcome::Line(first.view()));
        chunk.add(0, RowOutcome::Line(second.view()));
        assert_eq!(chunk.first_line_row, Some(first.source.row));
        assert_eq!(chunk.rows, 2);
        let mut all = Vec::new();
        for (index, rows) in chunk.partitions.iter().enumerate() {
            let mut one = BeneficiaryRows::default();
            one.decode(std::slice::from_ref(rows)).unwrap();
            for l in &one.lines {
                assert_eq!(partition_of(l.beneficiary_id, 3), index);
            }
            all.extend(one.lines.iter().map(LineRef::to_line));
        }
        all.sort_by_key(|l| l.line_number);
        assert_eq!(all, [first, second]);
    }
}
