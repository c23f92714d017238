//! Rows routed by a hash of the beneficiary into partitions, so each
//! beneficiary's rows land in exactly one partition and partitions can be
//! built in parallel, or held on disk and built one at a time.

use std::hash::{Hash, Hasher};

use crate::engine::encoding::{EncodedRows, RowDecoder};
use crate::model::ClaimLine;
use crate::model::outcome::{Accounting, Reject, RowOutcome, VersionKey};

/// A partition's rows, decoded to be built.
#[derive(Debug, Default, PartialEq)]
pub struct BeneficiaryRows {
    /// Rows that passed the row checks.
    pub lines: Vec<ClaimLine>,
    /// Versions that had a row rejected by a row check.
    pub tainted: Vec<VersionKey>,
}

impl BeneficiaryRows {
    /// Decodes `segments` after the rows already here, in order.
    pub fn decode(&mut self, segments: &[EncodedRows]) -> Result<(), String> {
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
    last: Option<(crate::model::Text, usize)>,
    /// Bytes a partition is expected to receive, with room for the spread
    /// of beneficiaries over partitions: reserved at its first row, so a
    /// partition seldom grows (a copy of every row so far), and the room
    /// not used is given back when the chunk is absorbed.
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
    fn slot(&mut self, beneficiary_id: &crate::model::Text) -> usize {
        match &self.last {
            Some((last, slot)) if last == beneficiary_id => *slot,
            _ => {
                let slot = partition_of(beneficiary_id, self.partitions.len());
                self.last = Some((beneficiary_id.clone(), slot));
                slot
            }
        }
    }

    /// Accounts for one row of file `file` and routes it.
    pub fn add(&mut self, file: u32, outcome: RowOutcome) {
        self.rows += 1;
        let accounting = &mut self.accounting;
        match outcome {
            RowOutcome::Line(line) => {
                accounting.read.add(line.allowed);
                self.first_line_row.get_or_insert(line.source.row);
                let slot = self.slot(&line.beneficiary_id);
                let rows = &mut self.partitions[slot];
                if rows.capacity() == 0 {
                    *rows = EncodedRows::with_capacity(self.expected);
                }
                rows.push_line(&line);
            }
            RowOutcome::Rejected(row) => {
                accounting.read.add(row.amount);
                accounting.count_reject(row.reason, row.amount);
                if let Some(version) = row.version {
                    let slot = self.slot(&version.beneficiary_id);
                    self.partitions[slot].push_key(&version);
                }
                self.rejects.push(Reject {
                    file,
                    row: row.source.row,
                    reason: row.reason,
                    record: row.raw,
                });
            }
            RowOutcome::AfterCutoff { amount } => {
                accounting.read.add(amount);
                accounting.after_cutoff.add(amount);
            }
        }
    }
}

/// Partitions held in memory, encoded, with the memory they use. Each
/// partition keeps its chunks' rows as they came (segments) instead of
/// copying them into one buffer.
#[derive(Debug)]
pub struct Partitions {
    /// Rows per partition, one segment per chunk that had any.
    pub parts: Vec<Vec<EncodedRows>>,
    /// Bytes held, room included.
    pub bytes: u64,
}

impl Partitions {
    /// `count` empty partitions.
    pub fn new(count: usize) -> Partitions {
        Partitions {
            parts: (0..count).map(|_| Vec::new()).collect(),
            bytes: 0,
        }
    }

    /// Moves a chunk's rows into the partitions.
    pub fn absorb(&mut self, chunk: &mut ChunkRows) {
        for (part, rows) in self.parts.iter_mut().zip(&mut chunk.partitions) {
            if rows.is_empty() {
                continue;
            }
            rows.shrink_to_fit();
            self.bytes += rows.capacity() as u64;
            part.push(std::mem::take(rows));
        }
    }

    /// Takes every partition's rows out, leaving them empty.
    pub fn drain(&mut self) -> Vec<Vec<EncodedRows>> {
        self.bytes = 0;
        self.parts.iter_mut().map(std::mem::take).collect()
    }
}
